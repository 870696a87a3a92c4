"""What the model says: every coefficient with its standard error, in the units of the user's columns.

The table R's ``broom::tidy`` makes of ``lm``/``glm`` and statsmodels' ``summary()`` prints: for every
term the estimate, its standard error, the statistic, the two-sided p-value and a confidence
interval. Columns as broom names them: ``term, estimate, std_error, statistic, p_value, conf_low,
conf_high``, and ``class`` first for softmax regression.

- **Least squares** (linear, polynomial) as ``lm``/``OLS``: ``σ̂² = RSS / (n - p)``, covariance
  ``σ̂² (DᵀD)⁻¹``, t statistics with ``n - p`` degrees of freedom, t intervals.
- **Logistic** as ``glm(family=binomial)``/``Logit``: covariance the inverse Hessian of the summed
  negative log-likelihood, z statistics, normal p-values, Wald intervals.
- **Softmax** as ``MNLogit``/``nnet::multinom``: the first class is the reference; each other class
  has a row per term with its coefficients minus the reference class's (the softmax is unchanged
  by adding one vector to every class, so only these differences are identified).
- **With a penalty** (``l1``/``l2``): estimates only, the other columns empty, as statsmodels'
  ``fit_regularized`` (the penalised estimate has no such sampling distribution).

Everything is computed at the model's parameters, in float64, in the model's own coordinates
(scaled features, the Legendre basis: well conditioned), then mapped exactly to the user's units:
a feature scaled as ``(x - offset) / divisor`` has coefficient ``w / divisor`` and the intercept
takes ``- Σ w · offset / divisor``; a polynomial is converted to powers of the raw ``x`` in
rational arithmetic. Standard errors follow through the same linear map (``A C Aᵀ``).
"""

from __future__ import annotations

import csv
import math
import warnings
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from lit_basics.errors import LitBasicsWarning
from lit_basics.reference import NoOptimumError, Objective, optimum

if TYPE_CHECKING:
    from lit_basics.data.shards import RowShards

__all__ = ["COLUMNS", "CoefficientTable", "NotConvergedWarning", "coefficient_table", "data_coefficient_table"]

#: The table's columns, as broom names them (softmax adds ``class`` first).
COLUMNS = ("term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high")
#: A run whose loss is above its exact optimum by more than this (relative) has not converged.
CONVERGED_GAP = 1e-6


class NotConvergedWarning(LitBasicsWarning):
    """The standard errors are those of parameters that are not yet the optimum."""


@dataclass(frozen=True)
class CoefficientTable:
    """The coefficients of a fit: one row per (class and) term.

    Attributes:
        columns: the column names (:data:`COLUMNS`, with ``class`` first for softmax).
        rows: one tuple per row, in ``columns`` order; numbers are floats (``nan``: empty).
        statistic: ``"t"`` (least squares), ``"z"`` (logistic, softmax) or ``None`` (penalised).
        df: the residual degrees of freedom ``n - p`` of a least-squares fit, else ``None``.
        converged: whether the parameters are the exact optimum (loss gap <= 1e-6 relative).
        note: why standard errors are absent or not yet meaningful (``None``: they are).
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    statistic: str | None
    df: int | None
    converged: bool
    note: str | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> list[Any]:
        """One column's values, top to bottom."""
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def as_dicts(self) -> list[dict[str, Any]]:
        """The rows as dictionaries (``pandas.DataFrame(table.as_dicts())`` makes a data frame)."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def write_csv(self, path: str | Path) -> Path:
        """Write the table as CSV (numbers to 17 significant digits, empty where there is none)."""
        path = Path(path)
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(self.columns)
            for row in self.rows:
                writer.writerow([_cell(v) for v in row])
        return path

    def to_text(self, max_rows: int | None = 20) -> str:
        """A fixed-width table of the first ``max_rows`` rows (6 significant digits), as printed at
        the end of a fit."""
        shown = self.rows if max_rows is None else self.rows[:max_rows]
        cells = [list(self.columns)] + [[_short(v) for v in row] for row in shown]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.columns))]
        text = [
            "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
            for r in cells
        ]
        return "\n".join(line.rstrip() for line in text)

    def to_markdown(self) -> str:
        """The table in Markdown (TensorBoard's text dashboard renders it)."""
        lines = ["| " + " | ".join(self.columns) + " |", "|" + "---|" * len(self.columns)]
        lines += ["| " + " | ".join(_short(v) for v in row) + " |" for row in self.rows]
        if self.note:
            lines.append(f"\n{self.note}")
        return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def coefficient_table(
    model: Any,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    names: list[str] | None = None,
    offset: torch.Tensor | None = None,
    divisor: torch.Tensor | None = None,
    classes: tuple[str, ...] | None = None,
    confidence: float = 0.95,
    best: float | None = None,
    warn: bool = True,
    shards: RowShards | None = None,
) -> CoefficientTable:
    """The coefficient table of ``model`` at its parameters, on the training rows ``(x, y)``.

    Args:
        model: a :class:`~lit_basics.models.base.GradientDescentModule`.
        x: ``(N, in_features)`` the training inputs as the model sees them (scaled).
        y: ``(N, 1)`` the training targets.
        names: the input columns' names (default ``x0, x1, ...``; a polynomial's terms are always
            ``x, x^2, ...``).
        offset: the scaling ``(x - offset) / divisor`` the inputs carry, ``(in_features,)``
            (default none): undone, so estimates are in the columns' units.
        divisor: see ``offset``.
        classes: the class names (default ``0, 1, ...``).
        confidence: of the intervals, in (0, 1).
        best: the exact optimum's loss, if known (else computed: the convergence check).
        warn: warn (:class:`NotConvergedWarning`) when the standard errors are not meaningful;
            ``False``: only say so in the table's ``note`` (the fit's callback, whose CLI prints it).
        shards: ``(x, y)`` is this process's shard of the rows (a collective: every process calls it).

    Returns:
        The table (see the module's description).

    Warns:
        NotConvergedWarning: the parameters are not the optimum (loss gap above 1e-6 relative), or
            the information matrix is singular: the table has estimates, and says so in ``note``.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    from scipy import special  # t and normal distributions; imported when a table is made

    objective: Objective = model.reference_objective(x, y, shards)
    theta = objective.join(model.w, model.b)
    n, k, c = objective.n, objective.k, objective.c
    penalised = bool(objective.l1 or objective.l2)
    kind = objective.data_loss

    # --- the map to the user's units: θ_user = A θ per class, θ = [w; b] -------------------------
    # A polynomial (PolynomialRegression): its terms are powers of the raw x, whatever its basis.
    polynomial = getattr(model, "degree", None) is not None and getattr(model, "basis", None) is not None
    exact = None
    if polynomial:
        matrix, exact = _polynomial_matrix(model, offset, divisor)
    else:
        matrix = _user_units(k, offset, divisor)

    # --- convergence ---------------------------------------------------------------------------------
    note = None
    value = objective.value(theta)
    if best is None:
        try:
            best = optimum(objective).loss
        except NoOptimumError as exc:
            note = f"standard errors are not meaningful: {exc}"
    converged = best is not None and value - best <= CONVERGED_GAP * max(abs(best), 1e-12)
    if best is not None and not converged:
        note = (
            f"the run has not converged (loss gap {value - best:.3g}, above {CONVERGED_GAP:g} relative to the "
            "optimum): the estimates are where training stopped, and their standard errors are not yet meaningful"
        )

    # --- parameters and their covariance, in the model's coordinates --------------------------------
    full = theta.reshape(k + 1, c)
    if kind == "softmax":
        reference = full[:, :1]
        params = (full - reference)[:, 1:]  # (K + 1, C - 1): each class against the first
        kept = torch.tensor([j % c != 0 for j in range(objective.size)])
    else:
        params = full
        kept = torch.ones(objective.size, dtype=torch.bool)
    columns = params.shape[1]
    estimates = _to_user(params, matrix, exact)

    covariance = None
    if not penalised:
        inverse = _inverse_information(objective, theta, kept)
        if inverse is None:
            note = "standard errors are not meaningful: the information matrix is singular (collinear features?)"
        else:
            # The covariance's entries in the table's order: the intercept's row first.
            order = torch.tensor([r * columns + j for r in [k, *range(k)] for j in range(columns)])
            inverse = inverse[order][:, order]
            if kind == "squared_error":
                residual_df = n - (k + 1)
                sigma2 = objective.data_value(theta) * n / residual_df if residual_df > 0 else math.nan
                inverse = inverse * sigma2
            transform = torch.kron(matrix, torch.eye(columns, dtype=torch.float64))
            covariance = transform @ inverse @ transform.T

    # --- the rows -------------------------------------------------------------------------------------
    terms = _terms(k, names, polynomial)
    df = n - (k + 1) if kind == "squared_error" and not penalised else None
    statistic_name = None if penalised else ("t" if kind == "squared_error" else "z")
    flat_estimates = estimates.reshape(-1)
    std_errors = (
        torch.full_like(flat_estimates, math.nan) if covariance is None else covariance.diagonal().clamp_min(0).sqrt()
    )
    rows = []
    tail = (1 + confidence) / 2
    if df is not None:
        critical = float(special.stdtrit(df, tail)) if df > 0 else math.nan
    else:
        critical = float(special.ndtri(tail))
    class_names = list(classes) if classes is not None else [str(j) for j in range(max(c, 2))]
    for j in range(columns):
        for i, term in enumerate(terms):
            index = i * columns + j
            estimate = float(flat_estimates[index])
            se = float(std_errors[index])
            if math.isnan(se) or penalised:
                statistic = p_value = low = high = math.nan
                se = math.nan
            else:
                statistic = estimate / se if se > 0 else math.nan
                if df is not None:
                    p_value = float(2 * special.stdtr(df, -abs(statistic))) if df > 0 else math.nan
                else:
                    p_value = float(2 * special.ndtr(-abs(statistic)))
                low, high = estimate - critical * se, estimate + critical * se
            row: tuple[Any, ...] = (term, estimate, se, statistic, p_value, low, high)
            if kind == "softmax":
                row = (class_names[j + 1], *row)
            rows.append(row)
    if penalised:
        note = (
            f"estimates only: the fit is penalised (l2={objective.l2:g}, l1={objective.l1:g}), and a penalised "
            "estimate has no standard error of this kind (as statsmodels' fit_regularized)"
        )
    elif note is not None and warn:
        warnings.warn(note, NotConvergedWarning, stacklevel=2)
    header = ("class", *COLUMNS) if kind == "softmax" else COLUMNS
    return CoefficientTable(header, tuple(rows), statistic_name, df, bool(converged), note)


def data_coefficient_table(
    model: Any, datamodule: Any, *, confidence: float = 0.95, best: float | None = None, warn: bool = True
) -> CoefficientTable:
    """:func:`coefficient_table` on an :class:`~lit_basics.data.InMemoryDataModule`'s training
    rows, with its column names (one-hot columns ``column=level``), scaling and class names."""
    x, y = datamodule.training_rows()
    shards = getattr(datamodule, "row_shards", None)
    scaling = datamodule.scaling
    names = datamodule.encoding.input_names if datamodule.feature_names is not None else None
    return coefficient_table(
        model,
        x,
        y,
        names=names,
        offset=None if scaling.identity else scaling.offset,
        divisor=None if scaling.identity else scaling.divisor,
        classes=datamodule.classes,
        confidence=confidence,
        best=best,
        warn=warn,
        shards=shards,
    )


def _inverse_information(objective: Objective, theta: torch.Tensor, kept: torch.Tensor) -> torch.Tensor | None:
    """The inverse of the information matrix at ``theta`` over the entries ``kept`` (``θ`` order),
    or ``None`` when it is singular to float64.

    Least squares: ``(DᵀD)⁻¹`` from the QR factor ``R`` of the column-scaled design (the design's
    conditioning, not its square: unscaled Longley's ``DᵀD`` has κ ≈ 10¹⁵ and its inverse keeps
    few digits). Logistic and softmax: the Hessian of the summed negative log-likelihood,
    equilibrated by its diagonal before it is inverted.
    """
    unit = torch.finfo(torch.float64).eps
    if objective.data_loss == "squared_error":
        l2 = objective.l2
        scale = objective.column_norms()
        p = objective.k + 1
        r = objective.least_squares_r(scale)[:p, :p] if l2 == 0 else None
        assert r is not None
        singular = torch.linalg.svdvals(r)
        if not float(singular[-1]) > 1e3 * p * unit * float(singular[0]):
            return None
        r_inverse = torch.linalg.solve_triangular(r, torch.eye(p, dtype=torch.float64), upper=True)
        return (r_inverse @ r_inverse.T) / torch.outer(scale, scale)
    information = objective.data_hessian(theta)[kept][:, kept] * objective.n
    diagonal = information.diagonal()
    if not bool((diagonal > 0).all()):
        return None
    root = diagonal.sqrt()
    equilibrated = information / torch.outer(root, root)
    eigenvalues = torch.linalg.eigvalsh(equilibrated)
    if not float(eigenvalues[0]) > 1e3 * len(eigenvalues) * unit * float(eigenvalues[-1]):
        return None
    return torch.linalg.inv(equilibrated) / torch.outer(root, root)


def _terms(k: int, names: list[str] | None, polynomial: bool) -> list[str]:
    if polynomial:
        return ["(intercept)", "x", *[f"x^{p}" for p in range(2, k + 1)]]
    names = names if names is not None else [f"x{i}" for i in range(k)]
    return ["(intercept)", *names]


def _user_units(k: int, offset: torch.Tensor | None, divisor: torch.Tensor | None) -> torch.Tensor:
    """``A`` (``(K + 1, K + 1)``, float64) with ``[intercept, w_1..w_K]`` in the columns' units
    ``= A · [b, w_1..w_K]`` for inputs scaled as ``(x - offset) / divisor``."""
    o = torch.zeros(k, dtype=torch.float64) if offset is None else offset.to("cpu", torch.float64).reshape(-1)
    d = torch.ones(k, dtype=torch.float64) if divisor is None else divisor.to("cpu", torch.float64).reshape(-1)
    matrix = torch.zeros(k + 1, k + 1, dtype=torch.float64)
    matrix[0, 0] = 1.0
    matrix[0, 1:] = -o / d
    matrix[1:, 1:] = torch.diag(1.0 / d)
    return matrix


def _reorder(params: torch.Tensor) -> torch.Tensor:
    """``[w; b]`` rows -> ``[b; w]`` rows (the intercept first, as the table lists it)."""
    return torch.cat([params[-1:], params[:-1]])


def _to_user(params: torch.Tensor, matrix: torch.Tensor, exact: list[list[Fraction]] | None) -> torch.Tensor:
    """Estimates ``(K + 1, C')`` in the user's units, intercept first. A polynomial's are the exact
    conversion (``exact``, rational), each correctly rounded."""
    ordered = _reorder(params)
    if exact is None:
        return matrix @ ordered
    values = [[Fraction(float(v)) for v in row] for row in ordered.tolist()]
    size = len(values)
    return torch.tensor(
        [
            [
                float(sum((exact[i][m] * values[m][j] for m in range(size)), Fraction(0)))
                for j in range(ordered.shape[1])
            ]
            for i in range(size)
        ],
        dtype=torch.float64,
    )


def _polynomial_matrix(
    model: Any, offset: torch.Tensor | None, divisor: torch.Tensor | None
) -> tuple[torch.Tensor, list[list[Fraction]]]:
    """``T`` with powers-of-raw-``x`` coefficients ``= T · [b, w_1..w_d]``: the model's basis
    (powers, or Legendre of ``t = (x_s - c) / h``) composed with the data's own scaling
    ``x_s = (x - o) / d``, exact in rational arithmetic (and rounded to float64)."""
    from lit_basics.models.legendre import change_to_powers

    degree = int(model.degree)
    o = Fraction(0) if offset is None else Fraction(float(offset.reshape(-1)[0]))
    d = Fraction(1) if divisor is None else Fraction(float(divisor.reshape(-1)[0]))
    learned = model.input_map if getattr(model, "basis", "power") == "legendre" else None
    center, half = (Fraction(0), Fraction(1)) if learned is None else (Fraction(learned[0]), Fraction(learned[1]))
    # t = (x_s - c) / h = (x - (o + c d)) / (h d)
    table = change_to_powers(degree, o + center * d, half * d, legendre=learned is not None)
    rounded = torch.tensor([[float(v) for v in row] for row in table], dtype=torch.float64)
    return rounded, table
