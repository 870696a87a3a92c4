"""Aliased inputs: the columns of the design that are linear combinations of the intercept and the
columns before them, found once on the training rows and left out of the model, as R's ``lm`` and
``glm`` leave them out ("not defined because of singularities").

The design is ``[1, x₁, …, x_F]`` in the inputs' order. Householder's QR factorisation runs over
its columns in that order (R's ``dqrdc2``, limited pivoting): a column whose part orthogonal to the
intercept and to the columns kept before it is at most ``tolerance`` times its own centred norm
(its part orthogonal to the intercept) is aliased, and set aside; the factorisation goes on with
the next column. The test is the same in any affine coordinates of the columns (standardised,
divided by their maxima, raw), so the scaled design the model sees gives the raw columns' answer.

- ``tolerance``: :data:`TOLERANCE` (``1e-7``, R's ``lm``) for float64 data; :data:`FLOAT32_TOLERANCE`
  (``1e-5``) for float32 data, whose own rounding leaves an exact relation between columns a
  residual near ``1e-7`` of a column.
- The relation of an aliased column is written in the columns' units (``SalePriceMM = PriceMM -
  DiscMM``), as ``alias()`` in R gives it, when it has at most :data:`RELATION_TERMS` terms.

The factorisation needs only the ``R`` factor of the design (``(F + 1)²`` numbers), folded over
blocks of rows and, under DDP, over the processes' shards (:meth:`~lit_basics.reference.Objective.least_squares_r`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from lit_basics.data.scaling import FeatureScaling
    from lit_basics.data.shards import RowShards

__all__ = [
    "FLOAT32_TOLERANCE",
    "RELATION_TERMS",
    "TOLERANCE",
    "Aliasing",
    "aliasing_of_rows",
    "check_inputs_left",
    "design_r",
    "find_aliasing",
    "fold_r",
    "tolerance_for",
]

#: R's ``lm`` tolerance: a column is aliased when its residual is at most this part of its centred norm.
TOLERANCE = 1e-7
#: The tolerance on float32 data (float32 rounds each value to 6e-8 of itself).
FLOAT32_TOLERANCE = 1e-5
#: An aliased column's relation is written out when it has at most this many terms.
RELATION_TERMS = 4
#: A term of a relation whose share of the column is below this is rounding, not a term.
_NEGLIGIBLE = 1e-6
#: Up to this many candidate terms, the fewest that explain an aliased column are searched for.
_SEARCH_TERMS = 64


def tolerance_for(dtype: torch.dtype) -> float:
    """The aliasing tolerance of data held in ``dtype``."""
    return TOLERANCE if dtype == torch.float64 else FLOAT32_TOLERANCE


@dataclass(frozen=True)
class Aliasing:
    """Which of the inputs are aliased, and how each is made of the others.

    Attributes:
        inputs: the number of inputs (the design's columns but the intercept).
        aliased: the aliased inputs' indices, ascending.
        relations: per aliased input, its relation in the columns' units as text, or ``None`` when
            it has more than :data:`RELATION_TERMS` terms.

    Example:
        >>> a = Aliasing(3, (2,), ("x2 = x0 - x1",))
        >>> a.kept, a.drop(torch.arange(6.0).reshape(2, 3)).tolist()
        ((0, 1), [[0.0, 1.0], [3.0, 4.0]])
    """

    inputs: int
    aliased: tuple[int, ...] = ()
    relations: tuple[str | None, ...] = field(default=())

    @property
    def kept(self) -> tuple[int, ...]:
        """The inputs the model sees, ascending."""
        dropped = set(self.aliased)
        return tuple(i for i in range(self.inputs) if i not in dropped)

    def drop(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(N, inputs)`` without the aliased columns (``x`` itself when there are none)."""
        if not self.aliased:
            return x
        return x.index_select(1, torch.tensor(self.kept, device=x.device)).contiguous()

    def summary(self, names: Sequence[str]) -> str:
        """One sentence naming the aliased inputs and their relations."""
        described = [
            text if text is not None else f"{names[i]} (a combination of more than {RELATION_TERMS} terms)"
            for i, text in zip(self.aliased, self.relations, strict=True)
        ]
        count = len(self.aliased)
        return (
            f"{count} input(s) not defined because of singularities, each a linear combination of the intercept "
            f"and the inputs before it: left out of the model, as R's lm and glm leave them out: "
            + "; ".join(described)
        )

    def state_dict(self) -> dict[str, Any]:
        return {"inputs": self.inputs, "aliased": list(self.aliased), "relations": list(self.relations)}

    @classmethod
    def from_state(cls, state: dict[str, Any] | None, inputs: int) -> Aliasing:
        """From :meth:`state_dict`; ``None`` (a checkpoint from before aliasing): nothing aliased."""
        if not state:
            return cls(inputs)
        return cls(int(state["inputs"]), tuple(int(i) for i in state["aliased"]), tuple(state["relations"]))


def check_inputs_left(aliasing: Aliasing, path: Any = None) -> None:
    """Refuse data none of whose inputs is left (every one constant on the training rows, or a
    combination of the intercept and those before it: one training row, say).

    Raises:
        DataFileError: naming ``path`` (a table), or ArgumentError naming ``x`` (arrays).
    """
    if aliasing.kept:
        return
    from lit_basics.data.reader import DataFileError
    from lit_basics.errors import ArgumentError

    why = (
        "the features hold no information on the training rows: every input is constant there (or a linear "
        "combination of the intercept and the inputs before it)"
    )
    if path is not None:
        raise DataFileError(f"{path}: {why}")
    raise ArgumentError("x", why)


def fold_r(r: torch.Tensor | None, block: torch.Tensor) -> torch.Tensor:
    """``R`` of the rows of ``r`` and ``block`` stacked (float64): one more block of rows folded in
    (a QR of at most ``columns + block rows`` rows)."""
    block = block.to(torch.float64)
    return torch.linalg.qr(block if r is None else torch.cat([r, block]), mode="r").R


def aliasing_of_rows(
    x: torch.Tensor, shards: RowShards | None, *, names: Sequence[str], scaling: FeatureScaling, path: Any = None
) -> Aliasing:
    """The aliased inputs of the rows ``x`` (every shard's, with ``shards``: a collective), the
    relations in the columns' units (``scaling`` undone), refusing data with no input left.

    Raises:
        DataFileError: naming ``path`` (a table), or ArgumentError naming ``x``: no input left.
    """
    aliasing = find_aliasing(
        design_r(x, shards),
        tolerance=tolerance_for(x.dtype),
        names=names,
        offset=None if scaling.identity else scaling.offset,
        divisor=None if scaling.identity else scaling.divisor,
    )
    check_inputs_left(aliasing, path)
    return aliasing


def design_r(x: torch.Tensor, shards: RowShards | None = None) -> torch.Tensor:
    """``R`` (``(F + 1)²``, float64, on the CPU) of the design ``[1, x]`` (intercept first) of the
    rows ``x`` ``(N, F)``: over blocks of rows, and with ``shards`` over every process's rows."""
    from lit_basics.reference import Objective  # the blocked, sharded QR of a design

    objective = Objective("squared_error", x, torch.zeros(x.shape[0], 1, device=x.device), shards=shards)
    k = objective.k
    r = objective.design_r()  # R of [x, 1]: the intercept last
    return r[:, [k, *range(k)]]  # the same design with the intercept first (no longer triangular)


def find_aliasing(
    r: torch.Tensor,
    *,
    tolerance: float,
    names: Sequence[str] | None = None,
    offset: torch.Tensor | None = None,
    divisor: torch.Tensor | None = None,
) -> Aliasing:
    """The aliased inputs of the design whose ``R`` factor is ``r`` (:func:`design_r`: columns
    ``[1, x₁, …, x_F]``; any matrix with the design's ``DᵀD`` will do).

    Args:
        r: ``(M, F + 1)`` float64.
        tolerance: a column is aliased when its residual is at most this part of its centred norm.
        names: the inputs' names, for the relations (default ``x0, x1, …``).
        offset: the inputs are ``(column - offset) / divisor`` (``(F,)``): the relations are
            written in the columns' units.
        divisor: see ``offset``.

    Example:
        >>> x = torch.tensor([[1.0, 2.0, 3.0], [2.0, 1.0, 3.0], [0.0, 5.0, 5.0], [3.0, 3.0, 6.0]])
        >>> a = find_aliasing(design_r(x), tolerance=1e-7, names=["a", "b", "c"])
        >>> a.aliased, a.relations
        ((2,), ('c = a + b',))
    """
    features = r.shape[1] - 1
    names = list(names) if names is not None else [f"x{i}" for i in range(features)]
    o = np.zeros(features) if offset is None else offset.to("cpu", torch.float64).reshape(-1).numpy()
    d = np.ones(features) if divisor is None else divisor.to("cpu", torch.float64).reshape(-1).numpy()
    # The raw columns: [1, x_raw] = [1, x] M with x_raw = x d + o (the relations read in the user's units).
    m = np.eye(features + 1)
    m[0, 1:] = o
    m[1:, 1:] = np.diag(d)
    a = r.to("cpu", torch.float64).numpy() @ m
    norms = np.linalg.norm(a, axis=0)
    scale = np.where(norms > 0, norms, 1.0)
    a = a / scale  # equilibrated: every column of norm 1 (the test is per column, so unchanged)
    columns = a.copy()  # the design's columns (as R factors: the same inner products), for the relations
    aliased: list[int] = []
    relations: list[str | None] = []
    kept = [0]
    _reflect(a, 0, 0)  # the intercept
    centred = np.linalg.norm(a[1:], axis=0)  # each column's part orthogonal to the intercept
    row = 1
    for j in range(1, features + 1):
        residual = float(np.linalg.norm(a[row:, j])) if row < a.shape[0] else 0.0
        # A constant column is the intercept's multiple (equilibrated: its whole norm is 1).
        if centred[j] <= tolerance or residual <= tolerance * centred[j]:
            aliased.append(j - 1)
            bound = tolerance * max(float(centred[j]), tolerance)
            relations.append(_relation(columns, j, kept, scale, names, bound))
            continue
        _reflect(a, row, j)
        kept.append(j)
        row += 1
    return Aliasing(features, tuple(aliased), tuple(relations))


def _reflect(a: np.ndarray, row: int, column: int) -> None:
    """Apply to ``a[row:, column:]`` the Householder reflection that zeroes ``a[row + 1:, column]``."""
    v = a[row:, column].copy()
    alpha = -math.copysign(float(np.linalg.norm(v)), float(v[0]) if v[0] != 0 else 1.0)
    v[0] -= alpha
    norm = float(np.linalg.norm(v))
    if norm == 0.0:
        return
    v /= norm
    a[row:, column:] -= 2.0 * np.outer(v, v @ a[row:, column:])


def _relation(
    columns: np.ndarray, column: int, kept: list[int], scale: np.ndarray, names: list[str], bound: float
) -> str | None:
    """``column`` as the fewest of the ``kept`` columns before it that leave a residual within
    ``bound`` (the aliasing test's), in the columns' units (text); ``None`` when it takes more than
    :data:`RELATION_TERMS` terms.

    All the kept columns give a relation whose coefficients carry the data's rounding amplified by
    those columns' own collinearity (float32 Longley: ``- 0.000229 GNPDEFL`` beside ``GNP - UNEMP``);
    the term of least weight is dropped while what is left still explains the column, and the
    relation is solved again on the terms that are left (R's ``alias()`` gives the same for exact
    data)."""
    terms = list(kept)
    target = columns[:, column]

    def solve(subset: list[int]) -> tuple[np.ndarray, float]:
        coefficients = np.linalg.lstsq(columns[:, subset], target, rcond=None)[0]
        return coefficients, float(np.linalg.norm(target - columns[:, subset] @ coefficients))

    coefficients, _ = solve(terms)
    if len(terms) > _SEARCH_TERMS:  # too many to search: only an exact sparse relation is shown
        terms = [k for k, c in zip(terms, coefficients, strict=True) if abs(c) > _NEGLIGIBLE]
        coefficients, residual = solve(terms) if terms else (np.zeros(0), float(np.linalg.norm(target)))
        if residual > bound or len(terms) > RELATION_TERMS:
            return None
    while terms:
        weakest = int(np.argmin(np.abs(coefficients)))  # equilibrated: |coefficient| is the term's weight
        fewer = terms[:weakest] + terms[weakest + 1 :]
        trial, residual = solve(fewer) if fewer else (np.zeros(0), float(np.linalg.norm(target)))
        if residual > bound:
            break
        terms, coefficients = fewer, trial
    if len(terms) > RELATION_TERMS:
        return None
    name = names[column - 1]
    if not terms:
        return f"{name} = 0"
    text = ""
    for position, (coefficient, k) in enumerate(zip(coefficients * scale[column] / scale[terms], terms, strict=True)):
        number = f"{abs(coefficient):.4g}"  # 4 digits, as R's summary: float32 data's rounding stays out
        piece = number if k == 0 else names[k - 1] if number == "1" else f"{number} {names[k - 1]}"
        sign = "-" if coefficient < 0 else "+"
        text += (f"-{piece}" if sign == "-" else piece) if position == 0 else f" {sign} {piece}"
    return f"{name} = {text}"
