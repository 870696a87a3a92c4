"""Feature scaling learned from the training rows: ``(x - offset) / divisor`` per column.

- ``"none"``: the features as they are;
- ``"max"``: each feature divided by its maximum over the training rows (the notes' logistic
  regression divides ``data.txt``'s scores by their column maxima);
- ``"standardize"``: mean 0 and standard deviation 1 over the training rows (``ddof = 0``, as
  scikit-learn's ``StandardScaler``; a constant column is only centred, as there).

The statistics are float64 and the scaled features are computed in float64 and rounded once,
so the notes' ``data / max`` then ``float32`` is reproduced bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from lit_basics.errors import ArgumentError

if TYPE_CHECKING:
    from lit_basics.data.shards import RowShards

__all__ = ["SCALES", "ColumnMoments", "FeatureScaling", "Scale"]

Scale = Literal["none", "max", "standardize"]
SCALES: tuple[str, ...] = ("none", "max", "standardize")


@dataclass(frozen=True)
class FeatureScaling:
    """A per-column affine map ``(x - offset) / divisor`` (float64 statistics of shape ``(F,)``).

    Example:
        >>> x = torch.tensor([[1.0, 10.0], [3.0, 30.0]], dtype=torch.float64)
        >>> s = FeatureScaling.fit("standardize", x)
        >>> s.offset.tolist(), s.divisor.tolist(), s.apply(x).tolist()
        ([2.0, 20.0], [1.0, 10.0], [[-1.0, -1.0], [1.0, 1.0]])
        >>> FeatureScaling.fit("max", x).apply(x).tolist()
        [[0.3333333432674408, 0.3333333432674408], [1.0, 1.0]]
    """

    kind: str
    offset: torch.Tensor
    divisor: torch.Tensor

    @classmethod
    def fit(cls, kind: str, x: torch.Tensor, names: list[str] | None = None) -> FeatureScaling:
        """The statistics of ``kind`` over the training rows ``x`` ``(N, F)``.

        Raises:
            ArgumentError: naming ``scale``: ``"max"`` with a feature whose maximum is not positive.
        """
        x = x.detach().to("cpu")
        return cls.fit_columns(kind, (x[:, j].to(torch.float64).numpy() for j in range(x.shape[1])), names)

    @classmethod
    def fit_columns(
        cls, kind: str, columns: Iterable[np.ndarray | None], names: list[str] | None = None
    ) -> FeatureScaling:
        """The statistics of ``kind`` column by column (each a float64 array of the training rows'
        values; ``None``: a column left as it is, such as a one-hot column), so that a table's
        statistics never need a float64 copy of all its columns at once.

        Raises:
            ArgumentError: naming ``scale``: ``"max"`` with a feature whose maximum is not positive.
        """
        if kind not in SCALES:
            raise ArgumentError("scale", f"must be one of {', '.join(map(repr, SCALES))}; got {kind!r}")
        offsets, divisors = [], []
        for column, values in enumerate(columns):
            offset, divisor = 0.0, 1.0
            if values is not None and kind == "max":
                divisor = float(values.max())
                if not divisor > 0:
                    name = f" ({names[column]!r})" if names else ""
                    raise ArgumentError(
                        "scale",
                        f"'max' divides each feature by its maximum over the training rows, and feature {column + 1}"
                        f"{name} has maximum {divisor:g}: use 'standardize'",
                    )
            elif values is not None and kind == "standardize":
                offset = float(values.mean())
                std = float(np.sqrt(np.mean((values - offset) ** 2)))  # ddof = 0, as StandardScaler
                # A constant column is only centred (StandardScaler's scale_ is 1 there).
                divisor = std if std > 10 * np.finfo(np.float64).eps * abs(offset) else 1.0
            offsets.append(offset)
            divisors.append(divisor)
        return cls(kind, torch.tensor(offsets, dtype=torch.float64), torch.tensor(divisors, dtype=torch.float64))

    @classmethod
    def from_moments(
        cls, kind: str, moments: ColumnMoments, numeric: list[bool], names: list[str] | None = None
    ) -> FeatureScaling:
        """The statistics of ``kind`` from the numeric inputs' :class:`ColumnMoments` (in input
        order; ``numeric`` marks which inputs are numeric, the others are left as they are): what
        :meth:`fit_columns` computes, accumulated batch by batch or over several processes' shards.

        Raises:
            ArgumentError: naming ``scale``: as :meth:`fit_columns`.
        """
        if kind not in ("max", "standardize"):
            return cls.fit_columns(kind, [None] * len(numeric), names)
        positions = np.cumsum(numeric) - 1
        if kind == "max":
            stand_in = [np.array([moments.top[positions[j]]]) if flag else None for j, flag in enumerate(numeric)]
            return cls.fit_columns(kind, stand_in, names)
        offsets, divisors = [], []
        for j, flag in enumerate(numeric):
            offset, divisor = 0.0, 1.0
            if flag:
                offset = float(moments.mean[positions[j]])
                std = float(np.sqrt(moments.m2[positions[j]] / moments.count))
                # As fit_columns: a constant column is only centred.
                divisor = std if std > 10 * np.finfo(np.float64).eps * abs(offset) else 1.0
            offsets.append(offset)
            divisors.append(divisor)
        return cls(kind, torch.tensor(offsets, dtype=torch.float64), torch.tensor(divisors, dtype=torch.float64))

    def apply_column(self, column: int, values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Column ``column``'s float64 values scaled: float64, or with ``out`` written into it (its
        own dtype, float32: the float64 result rounded once, no array in between)."""
        if self.identity:
            if out is None:
                return values
            out[...] = values
            return out
        divisor = float(self.divisor[column])
        centred = values if self.kind == "max" else values - float(self.offset[column])  # the notes only divide
        if out is None:
            return centred / divisor
        return np.divide(centred, divisor, out=out, casting="same_kind")

    @property
    def identity(self) -> bool:
        return self.kind == "none"

    def apply(self, x: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """``(x - offset) / divisor`` in float64, rounded once to ``dtype``; ``x`` itself (no copy)
        when there is nothing to do."""
        if self.identity:
            return x if x.dtype == dtype else x.to(dtype)
        offset, divisor = self.offset.to(x.device), self.divisor.to(x.device)
        scaled = x.to(torch.float64)
        if self.kind != "max":  # the notes divide, nothing else: keep their one rounding
            scaled = scaled - offset
        return (scaled / divisor).to(dtype)

    def state_dict(self) -> dict[str, Any]:
        """Plain values (a checkpoint holds nothing else)."""
        return {"kind": self.kind, "offset": self.offset.tolist(), "divisor": self.divisor.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> FeatureScaling:
        return cls(
            str(state["kind"]),
            torch.tensor(state["offset"], dtype=torch.float64),
            torch.tensor(state["divisor"], dtype=torch.float64),
        )


@dataclass
class ColumnMoments:
    """Each column's count, mean, sum of squared deviations from the mean (``m2``) and maximum,
    accumulated a batch of rows at a time and merged across shards with Chan, Golub and LeVeque's
    pairwise update (no ``E[x²] - E[x]²`` cancellation): the statistics of every row without
    holding them.

    Example:
        >>> m = ColumnMoments.empty(1)
        >>> m.update(np.array([[1.0], [2.0]])); m.update(np.array([[6.0]]))
        >>> m.count, m.mean.tolist(), m.m2.tolist(), m.top.tolist()
        (3.0, [3.0], [14.0], [6.0])
    """

    count: float
    mean: np.ndarray
    m2: np.ndarray
    top: np.ndarray

    @classmethod
    def empty(cls, width: int) -> ColumnMoments:
        return cls(0.0, np.zeros(width), np.zeros(width), np.full(width, -np.inf))

    def update(self, values: np.ndarray) -> None:
        """Add the rows ``values`` ``(rows, width)`` (float64)."""
        if values.shape[0] == 0:
            return
        mean = values.mean(axis=0)
        self.merge(ColumnMoments(float(values.shape[0]), mean, ((values - mean) ** 2).sum(axis=0), values.max(axis=0)))

    def update_columns(self, columns: Sequence[np.ndarray]) -> None:
        """Add the rows whose columns are ``columns`` (``width`` float64 arrays of one length): a
        column at a time, in cache (no ``(rows, width)`` array is built)."""
        if not columns or len(columns[0]) == 0:
            return
        mean = np.array([column.mean() for column in columns])
        deviation = np.empty(len(columns[0]))  # one buffer for every column's deviations
        m2 = np.array(
            [np.dot(d, d) for d in (np.subtract(c, m, out=deviation) for c, m in zip(columns, mean, strict=True))]
        )
        top = np.array([column.max() for column in columns])
        self.merge(ColumnMoments(float(len(columns[0])), mean, m2, top))

    def merge(self, other: ColumnMoments) -> None:
        """Add ``other``'s rows."""
        if other.count == 0:
            return
        total = self.count + other.count
        delta = other.mean - self.mean
        self.mean = self.mean + delta * (other.count / total)
        self.m2 = self.m2 + other.m2 + delta**2 * (self.count * other.count / total)
        self.top = np.maximum(self.top, other.top)
        self.count = total

    def across(self, shards: RowShards) -> ColumnMoments:
        """Every process's moments merged in rank order (the same on every process; a collective)."""
        width = self.mean.size
        mine = torch.from_numpy(np.concatenate([[self.count], self.mean, self.m2, self.top]))
        merged = ColumnMoments.empty(width)
        for part in shards.gather(mine).numpy():
            merged.merge(ColumnMoments(float(part[0]), part[1 : 1 + width], part[1 + width : 1 + 2 * width],
                                       part[1 + 2 * width :]))  # fmt: skip
        return merged
