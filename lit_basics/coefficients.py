"""What the model says: every coefficient with its standard error, in the units of the user's columns.

The table R's ``broom::tidy`` makes of ``lm``/``glm`` and statsmodels' ``summary()`` prints: for every
term the estimate, its standard error, the statistic, the two-sided p-value and a confidence
interval. Columns as broom names them: ``term, estimate, std_error, statistic, p_value, conf_low,
conf_high``, ``class`` first for softmax regression; then ``optimum`` (the exact optimum's value of
the estimate, to which gradient descent is walking) and ``note`` (``aliased``: an input left out).

- **Least squares** (linear, polynomial) as ``lm``/``OLS``: ``σ̂² = RSS / (n - p)``, covariance
  ``σ̂² (DᵀD)⁻¹``, t statistics with ``n - p`` degrees of freedom, t intervals.
- **Logistic** as ``glm(family=binomial)``/``Logit``: covariance the inverse Hessian of the summed
  negative log-likelihood, z statistics, normal p-values, Wald intervals.
- **Softmax** as ``MNLogit``/``nnet::multinom``: the first class is the reference; each other class
  has a row per term with its coefficients minus the reference class's (the softmax is unchanged
  by adding one vector to every class, so only these differences are identified).
- **Robust standard errors** (the model's ``std_errors``): the sandwich ``B M B``, ``B`` the classical
  covariance without ``σ̂²`` and ``M = Σᵢ ωᵢ sᵢ sᵢᵀ`` over the rows' scores. Least squares as
  statsmodels' ``OLS(cov_type=...)`` and R's ``sandwich::vcovHC``: ``HC0`` (``ωᵢ = eᵢ²``), ``HC1``
  (``n / (n - p)`` times that), ``HC2`` (``/ (1 - hᵢ)``), ``HC3`` (``/ (1 - hᵢ)²``), ``hᵢ`` the
  leverage; logistic and softmax ``HC0``. The statistic is then ``z``: p-values and intervals
  from the normal distribution, as statsmodels computes them for robust covariances.
- **With a penalty** (``l1``/``l2``): estimates only, the other columns empty, as statsmodels'
  ``fit_regularized`` (the penalised estimate has no such sampling distribution).
- **Aliased inputs** (:mod:`lit_basics.data.aliasing`) keep their rows, with empty numbers and
  ``aliased`` in ``note``, where R prints ``NA``.

Every fit's estimates are compared with the exact optimum (:class:`Accuracy`): the correct
significant digits of the least accurate estimate and, with standard errors, the largest distance
in standard errors. Fewer than :data:`DIGITS_WANTED` correct digits (R's ``summary`` prints four)
is a warning: the standard errors and the fit's statistics are then not yet the optimum's.

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
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from lit_basics.errors import LitBasicsWarning
from lit_basics.fit_statistics import Glance, glance_of
from lit_basics.reference import NoOptimumError, Objective, Optimum, optimum

if TYPE_CHECKING:
    from lit_basics.data.aliasing import Aliasing
    from lit_basics.data.shards import RowShards

__all__ = [
    "COLUMNS",
    "DIGITS_WANTED",
    "EXTRA_COLUMNS",
    "STD_ERRORS",
    "Accuracy",
    "CoefficientTable",
    "FitAnswer",
    "NotConvergedWarning",
    "coefficient_table",
    "data_coefficient_table",
    "data_fit_answer",
    "fit_answer",
]

#: The table's columns, as broom names them (softmax adds ``class`` first; ``optimum`` and ``note`` follow).
COLUMNS = ("term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high")
#: The columns after :data:`COLUMNS`.
EXTRA_COLUMNS = ("optimum", "note")
#: The kinds of standard errors: classical (R's and statsmodels' default) and White's robust ones.
STD_ERRORS = ("classical", "HC0", "HC1", "HC2", "HC3")
#: Correct significant digits of every estimate below which a fit warns (R's summary prints four).
DIGITS_WANTED = 4.0
#: The most digits an estimate is said to have (float64 holds ~16).
MAX_DIGITS = 16.0


class NotConvergedWarning(LitBasicsWarning):
    """The estimates are not yet the optimum's to :data:`DIGITS_WANTED` digits, or there is no optimum."""


@dataclass(frozen=True)
class Accuracy:
    """How close the trained estimates are to the exact optimum, in the columns' units.

    Attributes:
        digits: correct significant digits of the least accurate estimate (``-log10`` of its
            relative error; at most :data:`MAX_DIGITS`).
        term: that estimate's term (``class: term`` for softmax).
        distance: the largest ``|estimate - optimum| / std_error`` (``None``: no standard errors).
    """

    digits: float
    term: str
    distance: float | None

    def line(self) -> str:
        """``Estimates: within 0.00055 standard errors of the exact optimum; least accurate: ...``."""
        within = "" if self.distance is None else f"within {self.distance:.2g} standard errors of the exact optimum; "
        return f"Estimates: {within}least accurate: {self.term}, {self.digits:.1f} correct digits"


@dataclass(frozen=True)
class CoefficientTable:
    """The coefficients of a fit: one row per (class and) term.

    Attributes:
        columns: the column names (:data:`COLUMNS`, with ``class`` first for softmax, then
            ``optimum`` and ``note``).
        rows: one tuple per row, in ``columns`` order; numbers are floats (``nan``: empty).
        statistic: ``"t"`` (classical least squares), ``"z"`` (logistic, softmax, robust) or
            ``None`` (penalised).
        df: the residual degrees of freedom ``n - p`` of a least-squares fit, else ``None``.
        converged: every estimate has :data:`DIGITS_WANTED` correct digits of the exact optimum.
        note: what the table is (a penalised fit's estimates only), or ``None``.
        accuracy: the estimates against the exact optimum (``None``: there is none).
        warning: what is wrong with the numbers (not yet the optimum, a singular information
            matrix, no optimum), one ``warning:`` line each; ``None``: nothing.
        std_errors: the kind of standard errors (:data:`STD_ERRORS`).
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    statistic: str | None
    df: int | None
    converged: bool
    note: str | None = None
    accuracy: Accuracy | None = None
    warning: str | None = None
    std_errors: str = "classical"

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

    def _shown(self) -> list[int]:
        """The columns printed: all but ``optimum`` (the accuracy line says how far it is), and
        ``note`` only where a row has one."""
        notes = self.column("note")
        return [i for i, name in enumerate(self.columns) if name != "optimum" and (name != "note" or any(notes))]

    def to_text(self, max_rows: int | None = 20) -> str:
        """A fixed-width table of the first ``max_rows`` rows (6 significant digits), as printed at
        the end of a fit."""
        shown = self.rows if max_rows is None else self.rows[:max_rows]
        keep = self._shown()
        cells = [[self.columns[i] for i in keep]] + [[_short(row[i]) for i in keep] for row in shown]
        widths = [max(len(r[i]) for r in cells) for i in range(len(keep))]
        text = [
            "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
            for r in cells
        ]
        return "\n".join(line.rstrip() for line in text)

    def to_markdown(self) -> str:
        """The table in Markdown (TensorBoard's text dashboard renders it)."""
        lines = ["| " + " | ".join(self.columns) + " |", "|" + "---|" * len(self.columns)]
        lines += ["| " + " | ".join(_short(v) for v in row) + " |" for row in self.rows]
        for text in (self.accuracy.line() if self.accuracy else None, self.note, self.warning):
            if text:
                lines.append(f"\n{text}")
        return "\n".join(lines)


@dataclass(frozen=True)
class FitAnswer:
    """A fit's coefficient table and its statistics (:class:`~lit_basics.fit_statistics.Glance`)."""

    table: CoefficientTable
    glance: Glance


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return "" if value is None else str(value)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return "" if value is None else str(value)


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
    best: Optimum | None = None,
    warn: bool = True,
    shards: RowShards | None = None,
    aliasing: Aliasing | None = None,
    advice: Sequence[str] = (),
) -> CoefficientTable:
    """The coefficient table of ``model`` at its parameters, on the training rows ``(x, y)``
    (:func:`fit_answer`'s table; the arguments are its)."""
    return fit_answer(
        model,
        x,
        y,
        names=names,
        offset=offset,
        divisor=divisor,
        classes=classes,
        confidence=confidence,
        best=best,
        warn=warn,
        shards=shards,
        aliasing=aliasing,
        advice=advice,
    ).table


def fit_answer(
    model: Any,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    names: list[str] | None = None,
    offset: torch.Tensor | None = None,
    divisor: torch.Tensor | None = None,
    classes: tuple[str, ...] | None = None,
    confidence: float = 0.95,
    best: Optimum | None = None,
    warn: bool = True,
    shards: RowShards | None = None,
    aliasing: Aliasing | None = None,
    advice: Sequence[str] = (),
) -> FitAnswer:
    """The coefficient table and the fit's statistics of ``model`` at its parameters, on the
    training rows ``(x, y)``.

    Args:
        model: a :class:`~lit_basics.models.base.GradientDescentModule` (its ``std_errors`` says
            which standard errors).
        x: ``(N, in_features)`` the training inputs as the model sees them (scaled).
        y: ``(N, 1)`` the training targets.
        names: the inputs' names: the model's (default ``x0, x1, ...``), or with ``aliasing`` every
            input's, the aliased ones too (a polynomial's terms are always ``x, x^2, ...``).
        offset: the scaling ``(x - offset) / divisor`` the model's inputs carry, ``(in_features,)``
            (default none): undone, so estimates are in the columns' units.
        divisor: see ``offset``.
        classes: the class names (default ``0, 1, ...``).
        confidence: of the intervals, in (0, 1).
        best: the exact optimum, if known (else computed): the accuracy's reference.
        warn: warn (:class:`NotConvergedWarning`) what :attr:`CoefficientTable.warning` says;
            ``False``: only say it there (the fit's callback, whose CLI prints it).
        shards: ``(x, y)`` is this process's shard of the rows (a collective: every process calls it).
        aliasing: the inputs left out of the model (their rows say ``aliased``).
        advice: what would help a fit short of the optimum (named in the warning).

    Returns:
        The table (see the module's description) and the statistics (:mod:`lit_basics.fit_statistics`).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    from scipy import special  # t and normal distributions; imported when a table is made

    std_errors = str(getattr(model, "std_errors", "classical"))
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

    # --- the exact optimum ---------------------------------------------------------------------------
    problem = None
    if best is None:
        try:
            best = optimum(objective)
        except NoOptimumError as exc:
            problem = f"standard errors are not meaningful: {exc}"

    # --- parameters and their covariance, in the model's coordinates --------------------------------
    kept = _identified(objective)
    estimates = _to_user(_identified_params(theta.reshape(k + 1, c), kind), matrix, exact)
    optimal = None
    if best is not None:
        optimal = _to_user(_identified_params(objective.join(best.w, best.b).reshape(k + 1, c), kind), matrix, exact)
    columns = estimates.shape[1]
    covariance = model_covariance = None
    if not penalised:
        model_covariance = _covariance(objective, theta, kept, std_errors)
        if kind == "squared_error" and n <= k + 1:
            problem = problem or (
                f"standard errors are not meaningful: {k + 1} coefficients fit {n} rows exactly "
                "(no residual degrees of freedom)"
            )
        if model_covariance is None:
            problem = problem or (
                "standard errors are not meaningful: the information matrix is singular (collinear inputs, or "
                "separated classes)"
            )
        else:
            # The covariance's entries in the table's order: the intercept's row first.
            order = torch.tensor([r * columns + j for r in [k, *range(k)] for j in range(columns)])
            transform = torch.kron(matrix, torch.eye(columns, dtype=torch.float64))
            covariance = transform @ model_covariance[order][:, order] @ transform.T

    # --- the rows -------------------------------------------------------------------------------------
    robust = std_errors != "classical"
    terms = _terms(k, names, polynomial, aliasing)
    df = n - (k + 1) if kind == "squared_error" and not penalised else None
    statistic_name = None if penalised else ("t" if kind == "squared_error" and not robust else "z")
    flat = estimates.reshape(-1)
    flat_optimum = None if optimal is None else optimal.reshape(-1)
    std = torch.full_like(flat, math.nan) if covariance is None else covariance.diagonal().clamp_min(0).sqrt()
    tail = (1 + confidence) / 2
    t_test = df is not None and not robust
    if t_test:
        assert df is not None
        critical = float(special.stdtrit(df, tail)) if df > 0 else math.nan
    else:
        critical = float(special.ndtri(tail))
    class_names = list(classes) if classes is not None else [str(j) for j in range(max(c, 2))]
    rows: list[tuple[Any, ...]] = []
    digits: list[tuple[float, str]] = []
    distances: list[float] = []
    for j in range(columns):
        index = 0
        for term, in_model in terms:
            if not in_model:
                row: tuple[Any, ...] = (term, *[math.nan] * 7, "aliased")
            else:
                at = index * columns + j
                index += 1
                estimate, se = float(flat[at]), float(std[at])
                best_value = math.nan if flat_optimum is None else float(flat_optimum[at])
                label = term if kind != "softmax" else f"{class_names[j + 1]}: {term}"
                if flat_optimum is not None:
                    scale = se if se > 0 else float(flat_optimum.abs().max())
                    digits.append((_correct_digits(estimate, best_value, scale), label))
                    if not math.isnan(se) and se > 0:
                        distances.append(abs(estimate - best_value) / se)
                statistic = p_value = low = high = math.nan
                if math.isnan(se) or penalised:
                    se = math.nan
                else:
                    statistic = estimate / se if se > 0 else math.nan
                    if t_test:
                        assert df is not None
                        p_value = float(2 * special.stdtr(df, -abs(statistic))) if df > 0 else math.nan
                    else:
                        p_value = float(2 * special.ndtr(-abs(statistic)))
                    low, high = estimate - critical * se, estimate + critical * se
                row = (term, estimate, se, statistic, p_value, low, high, best_value, "")
            if kind == "softmax":
                row = (class_names[j + 1], *row)
            rows.append(row)

    # --- how close to the optimum, and what the numbers mean -----------------------------------------
    accuracy = None
    if digits:
        least, label = min(digits)
        accuracy = Accuracy(least, label, max(distances) if distances and covariance is not None else None)
    note = None
    if penalised:
        note = (
            f"estimates only: the fit is penalised (l2={objective.l2:g}, l1={objective.l1:g}), and a penalised "
            "estimate has no standard error of this kind (as statsmodels' fit_regularized)"
        )
    # One line each: what the numbers cannot mean, and how far gradient descent is from the optimum.
    lines = [] if problem is None else [problem]
    if accuracy is not None and accuracy.digits < DIGITS_WANTED:
        lines.append(_short_of_the_optimum(accuracy, advice, penalised))
    warning = "\n".join(lines) or None
    if warning is not None and warn:
        warnings.warn(warning, NotConvergedWarning, stacklevel=2)
    header = ("class", *COLUMNS, *EXTRA_COLUMNS) if kind == "softmax" else (*COLUMNS, *EXTRA_COLUMNS)
    converged = accuracy is not None and accuracy.digits >= DIGITS_WANTED
    table = CoefficientTable(header, tuple(rows), statistic_name, df, converged, note, accuracy, warning, std_errors)
    glance = glance_of(objective, theta, penalised=penalised, covariance=model_covariance, std_errors=std_errors)
    return FitAnswer(table, glance)


def _correct_digits(estimate: float, best: float, scale: float) -> float:
    """``-log10`` of the error of ``estimate`` relative to ``best``, at most :data:`MAX_DIGITS`; an
    optimum of exactly 0 (an l1 penalty's) has no significant digits: its error is relative to
    ``scale`` (its standard error, else the largest coefficient's size)."""
    error = abs(estimate - best)
    reference = abs(best) if best != 0 else scale
    if error == 0 or reference == 0:
        return MAX_DIGITS
    return min(MAX_DIGITS, max(0.0, -math.log10(error / reference)))


def _short_of_the_optimum(accuracy: Accuracy, advice: Sequence[str], penalised: bool) -> str:
    """The warning of a fit whose least accurate estimate has fewer than :data:`DIGITS_WANTED` digits."""
    what = "the estimates" if penalised else "the standard errors and the fit's statistics"
    helps = ["more updates (--trainer.max_steps)", *advice]
    return (
        f"{accuracy.term} is right to {accuracy.digits:.1f} significant digits only (R's summary prints "
        f"{DIGITS_WANTED:.0f}): gradient descent has not reached the exact optimum (its value is in "
        f"coefficients.csv's optimum column), so {what} are not yet the optimum's; what would help: " + ", ".join(helps)
    )


def data_coefficient_table(
    model: Any, datamodule: Any, *, confidence: float = 0.95, best: Optimum | None = None, warn: bool = True
) -> CoefficientTable:
    """:func:`coefficient_table` on an :class:`~lit_basics.data.InMemoryDataModule`'s training
    rows, with its column names (one-hot columns ``column=level``), scaling, class names and
    aliased inputs."""
    return data_fit_answer(model, datamodule, confidence=confidence, best=best, warn=warn).table


#: The last answer per model: (data module, parameters, confidence, answer). The callbacks that
#: need it at the end of a fit (the coefficient table, the hparams) share one computation.
_ANSWERS: weakref.WeakKeyDictionary[Any, tuple[Any, torch.Tensor, float, FitAnswer]] = weakref.WeakKeyDictionary()


def data_fit_answer(
    model: Any, datamodule: Any, *, confidence: float = 0.95, best: Optimum | None = None, warn: bool = True
) -> FitAnswer:
    """:func:`fit_answer` on an :class:`~lit_basics.data.InMemoryDataModule`'s training rows (see
    :func:`data_coefficient_table`); the same model, parameters and data give the same answer once
    computed (the fit's callbacks share it)."""
    parameters = torch.cat([model.w.detach().reshape(-1), model.b.detach().reshape(-1)]).cpu().clone()
    cached = _ANSWERS.get(model)
    if (
        cached is not None
        and cached[0]() is datamodule
        and cached[2] == confidence
        and torch.equal(cached[1], parameters)
    ):
        answer = cached[3]
        if warn and answer.table.warning is not None:
            warnings.warn(answer.table.warning, NotConvergedWarning, stacklevel=2)
        return answer
    x, y = datamodule.training_rows()
    shards = getattr(datamodule, "row_shards", None)
    encoding = datamodule.encoding
    kept = torch.tensor(encoding.kept, dtype=torch.int64)
    scaling = encoding.scaling
    answer = fit_answer(
        model,
        x,
        y,
        names=encoding.input_names,
        offset=None if scaling.identity else scaling.offset[kept],
        divisor=None if scaling.identity else scaling.divisor[kept],
        classes=datamodule.classes,
        confidence=confidence,
        best=best,
        warn=warn,
        shards=shards,
        aliasing=encoding.aliasing,
        advice=_advice(model, datamodule),
    )
    _ANSWERS[model] = (weakref.ref(datamodule), parameters, confidence, answer)
    return answer


def _advice(model: Any, datamodule: Any) -> list[str]:
    """What else would bring a fit to its optimum sooner, given how it is set up."""
    advice = []
    if getattr(datamodule, "scale", None) in ("none", "max") and getattr(model, "basis", None) is None:
        advice.append("standardized features (--data.init_args.scale=standardize)")
    if getattr(model, "basis", None) == "power":
        advice.append("the Legendre basis (--model.init_args.basis=legendre)")
    if not getattr(model, "momentum", 0.0) and getattr(model, "optimizer_class", torch.optim.SGD) is torch.optim.SGD:
        advice.append("lr: auto with momentum: auto (--model.init_args.lr=auto --model.init_args.momentum=auto)")
    return advice


def _identified(objective: Objective) -> torch.Tensor:
    """The entries of ``θ`` the data identify: all of them, but softmax's reference class (its
    coefficients are fixed by the others: the softmax ignores a vector added to every class)."""
    if objective.data_loss == "softmax":
        return torch.tensor([j % objective.c != 0 for j in range(objective.size)])
    return torch.ones(objective.size, dtype=torch.bool)


def _identified_params(full: torch.Tensor, kind: str) -> torch.Tensor:
    """``(K + 1, C')``: the parameters as the table reports them (softmax: each class minus the first)."""
    if kind == "softmax":
        return (full - full[:, :1])[:, 1:]
    return full


def _covariance(objective: Objective, theta: torch.Tensor, kept: torch.Tensor, kind: str) -> torch.Tensor | None:
    """The covariance of the identified entries of ``θ`` (``θ`` order), classical or robust
    (:data:`STD_ERRORS`); ``None`` when the information matrix is singular to float64."""
    bread = _inverse_information(objective, theta, kept)
    if bread is None:
        return None
    n, p = objective.n, int(kept.sum())
    if kind == "classical":
        if objective.data_loss == "squared_error":
            residual_df = n - p
            sigma2 = objective.data_value(theta) * n / residual_df if residual_df > 0 else math.nan
            return bread * sigma2
        return bread
    if objective.data_loss == "squared_error":
        weight = _hc_weight(objective, kind, n, p)
        meat = objective.score_outer(theta, weight)
    else:
        meat = objective.score_outer(theta)[kept][:, kept]
    return bread @ meat @ bread


def _hc_weight(objective: Objective, kind: str, n: int, p: int) -> Any:
    """Least squares' ``ωᵢ / eᵢ²`` of ``kind``: 1 (HC0), ``n / (n - p)`` (HC1), ``1 / (1 - hᵢ)``
    (HC2), ``1 / (1 - hᵢ)²`` (HC3), ``hᵢ`` the leverage of row ``i`` (``‖R⁻ᵀ S dᵢ‖²``)."""
    if kind == "HC0":
        return None
    if kind == "HC1":
        factor = n / (n - p) if n > p else math.nan
        return lambda rows, block: torch.full((block.shape[0],), factor, dtype=torch.float64, device=block.device)
    scale = objective.column_norms()
    r = objective.least_squares_r(scale)[:p, :p]
    power = 1.0 if kind == "HC2" else 2.0

    def weight(rows: slice, block: torch.Tensor) -> torch.Tensor:
        scaled = (block / scale.to(block.device)).T
        solved = torch.linalg.solve_triangular(r.T.to(block.device), scaled, upper=False)
        leverage = solved.pow(2).sum(dim=0)
        return (1.0 - leverage).clamp_min(torch.finfo(torch.float64).eps).pow(-power)

    return weight


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


def _terms(k: int, names: list[str] | None, polynomial: bool, aliasing: Aliasing | None) -> list[tuple[str, bool]]:
    """Every row's term and whether it is in the model (an aliased input's is not), intercept first."""
    if polynomial:
        return [("(intercept)", True), ("x", True), *[(f"x^{p}", True) for p in range(2, k + 1)]]
    if aliasing is not None and aliasing.aliased:
        left_out = set(aliasing.aliased)
        assert names is not None
        assert len(names) == aliasing.inputs
        return [("(intercept)", True), *[(name, i not in left_out) for i, name in enumerate(names)]]
    names = names if names is not None else [f"x{i}" for i in range(k)]
    return [("(intercept)", True), *[(name, True) for name in names[:k]]]


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
