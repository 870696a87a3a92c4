"""What the model says about the whole fit: one row of statistics, as R's ``summary()`` prints them
under the coefficients and broom's ``glance()`` names them (snake case).

- **Least squares** (linear, polynomial), as ``lm``/``OLS``: ``r_squared`` and ``adj_r_squared``
  (with the intercept: the total sum of squares is centred), ``sigma`` (the residual standard
  error, ``√(RSS / (n - p))``), the F test that every coefficient but the intercept is zero
  (``statistic``, ``p_value``, its numerator ``df = p - 1``), ``log_lik`` (Gaussian, σ̂² = RSS/n),
  ``aic`` and ``bic`` as statsmodels counts them (``2p`` and ``p log n``: R's ``AIC(lm)`` also
  counts σ, 2 more), ``deviance`` (the residual sum of squares), ``df_residual = n - p``, ``nobs``.
  With robust standard errors the F test is the Wald test with that covariance, as statsmodels
  computes ``fvalue`` then.
- **Logistic and softmax**, as ``glm``/``Logit``/``MNLogit``: ``null_deviance`` and ``df_null``
  (the intercept-only model), ``log_lik``, ``aic``, ``bic``, ``deviance = -2 log_lik``,
  ``df_residual``, ``nobs``, McFadden's ``pseudo_r_squared = 1 - log_lik / log_lik(null)`` and the
  likelihood-ratio test against the null model (``statistic``, ``p_value``, ``df``). Softmax counts
  its parameters as ``MNLogit`` does: ``(K + 1)(C - 1)``.
- **With a penalty** (``l1``, ``l2``): the values that keep their meaning (``nobs``, ``deviance``,
  ``log_lik`` of the penalised fit), the rest empty, as the coefficient table keeps its estimates only.

``p`` counts the coefficients of the model (the intercept too; aliased inputs are not in the model).
Every sum is over the training rows, at the model's parameters, in float64 (over every process's
shard under DDP).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from lit_basics.reference import Objective

__all__ = ["CLASSIFIER_COLUMNS", "LEAST_SQUARES_COLUMNS", "Glance", "glance_of"]

LEAST_SQUARES_COLUMNS = (
    "r_squared",
    "adj_r_squared",
    "sigma",
    "statistic",
    "p_value",
    "df",
    "log_lik",
    "aic",
    "bic",
    "deviance",
    "df_residual",
    "nobs",
)
CLASSIFIER_COLUMNS = (
    "null_deviance",
    "df_null",
    "log_lik",
    "aic",
    "bic",
    "deviance",
    "df_residual",
    "nobs",
    "pseudo_r_squared",
    "statistic",
    "p_value",
    "df",
)
#: The values a penalised fit keeps.
_PENALISED_KEEP = ("log_lik", "deviance", "nobs")


@dataclass(frozen=True)
class Glance:
    """The fit's statistics: one row.

    Attributes:
        columns: :data:`LEAST_SQUARES_COLUMNS` or :data:`CLASSIFIER_COLUMNS`.
        values: in ``columns`` order; ``nan`` where there is none.
        kind: ``"least_squares"``, ``"logistic"`` or ``"softmax"``.
        std_errors: the covariance the F test used (least squares: ``"classical"`` or ``"HC0"``...).
        penalised: the fit has a penalty: only ``log_lik``, ``deviance`` and ``nobs`` have values.
    """

    columns: tuple[str, ...]
    values: tuple[float, ...]
    kind: str
    std_errors: str = "classical"
    penalised: bool = False

    def __getitem__(self, name: str) -> float:
        return self.values[self.columns.index(name)]

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.columns, self.values, strict=True))

    def metrics(self) -> dict[str, float]:
        """The finite values as TensorBoard metrics, ``hp/<column>``."""
        return {f"hp/{name}": value for name, value in self.as_dict().items() if math.isfinite(value)}

    def write_csv(self, path: str | Path) -> Path:
        """One header line and one row (17 significant digits; empty where there is none)."""
        path = Path(path)
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(self.columns)
            writer.writerow(["" if math.isnan(v) else repr(_plain(v)) for v in self.values])
        return path

    def to_text(self) -> str:
        """The lines R's ``summary()`` prints under the coefficients (4 significant digits)."""
        v = self.as_dict()
        if self.penalised:
            what = "Residual sum of squares" if self.kind == "least_squares" else "Residual deviance"
            return f"{what}: {_g(v['deviance'])}; log-likelihood: {_g(v['log_lik'])}"
        if self.kind == "least_squares":
            wald = "" if self.std_errors == "classical" else f" (Wald, {self.std_errors} covariance)"
            return "\n".join(
                [
                    f"Residual standard error: {_g(v['sigma'])} on {_count(v['df_residual'])} degrees of freedom",
                    f"Multiple R-squared:  {_g(v['r_squared'])},\tAdjusted R-squared:  {_g(v['adj_r_squared'])}",
                    f"F-statistic{wald}: {_g(v['statistic'])} on {_count(v['df'])} and "
                    f"{_count(v['df_residual'])} DF,  p-value: {_p(v['p_value'])}",
                ]
            )
        return "\n".join(
            [
                f"    Null deviance: {_g(v['null_deviance'])}  on {_count(v['df_null'])}  degrees of freedom",
                f"Residual deviance: {_g(v['deviance'])}  on {_count(v['df_residual'])}  degrees of freedom",
                f"AIC: {_g(v['aic'])}; BIC: {_g(v['bic'])}; log-likelihood: {_g(v['log_lik'])}",
                f"McFadden's pseudo-R-squared: {_g(v['pseudo_r_squared'])}; likelihood-ratio test: "
                f"{_g(v['statistic'])} on {_count(v['df'])} DF,  p-value: {_p(v['p_value'])}",
            ]
        )


def _plain(value: float) -> float | int:
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _g(value: float) -> str:
    return "NaN" if math.isnan(value) else f"{value:.4g}"


def _count(value: float) -> str:
    return str(int(value)) if math.isfinite(value) else "-"


def _p(value: float) -> str:
    return "NA" if math.isnan(value) else "< 2.2e-16" if value < 2.2e-16 else f"{value:.4g}"


def glance_of(
    objective: Objective,
    theta: torch.Tensor,
    *,
    penalised: bool,
    covariance: torch.Tensor | None = None,
    std_errors: str = "classical",
) -> Glance:
    """The statistics of the fit ``θ`` of ``objective`` (the model's training objective).

    Args:
        objective: the training objective on the training rows (its data loss says the family).
        theta: the parameters, flat ``[w; b]``.
        penalised: the objective has ``l1`` or ``l2``: the values that lose their meaning are empty.
        covariance: robust least squares: the coefficients' covariance in ``θ``'s order (the F
            test is then its Wald test); else unused.
        std_errors: the kind of that covariance (``"classical"``: the usual F test).
    """
    from scipy import special

    kind = {"squared_error": "least_squares", "logistic": "logistic", "softmax": "softmax"}[objective.data_loss]
    n = float(objective.n)
    data_loss = objective.data_value(theta)  # the mean over the rows
    y = objective.y
    if kind == "least_squares":
        columns = LEAST_SQUARES_COLUMNS
        p = float(objective.k + 1)
        rss = data_loss * n
        mean = float(objective._sum(y.sum().reshape(1))) / n
        tss = float(objective._sum((y - mean).pow(2).sum().reshape(1)))
        df_residual = n - p
        log_lik = -n / 2 * (math.log(2 * math.pi) + math.log(rss / n) + 1) if rss > 0 else math.inf
        r_squared = 1 - rss / tss if tss > 0 else math.nan
        adjusted = 1 - (1 - r_squared) * (n - 1) / df_residual if df_residual > 0 else math.nan
        sigma = math.sqrt(rss / df_residual) if df_residual > 0 else math.nan
        df = p - 1
        statistic = p_value = math.nan
        if df > 0 and df_residual > 0:
            if std_errors == "classical" or covariance is None:
                statistic = ((tss - rss) / df) / (rss / df_residual) if rss > 0 else math.inf
            else:  # the Wald test of every slope with the robust covariance (statsmodels' fvalue)
                k = objective.k
                slopes = theta[:k].to(torch.float64)
                inside = torch.linalg.solve(covariance[:k, :k], slopes)
                statistic = float(slopes @ inside) / df
            p_value = float(special.fdtrc(df, df_residual, statistic))
        values = {
            "r_squared": r_squared,
            "adj_r_squared": adjusted,
            "sigma": sigma,
            "statistic": statistic,
            "p_value": p_value,
            "df": df,
            "log_lik": log_lik,
            "aic": -2 * log_lik + 2 * p,
            "bic": -2 * log_lik + math.log(n) * p,
            "deviance": rss,
            "df_residual": df_residual,
            "nobs": n,
        }
    else:
        columns = CLASSIFIER_COLUMNS
        classes = objective.c if kind == "softmax" else 2
        p = float((objective.k + 1) * (classes - 1))
        log_lik = -n * data_loss
        if kind == "logistic":
            share = float(objective._sum(y.sum().reshape(1))) / n
            null = n * _xlogy(share) + n * _xlogy(1 - share)
        else:
            assert objective.labels is not None
            counts = objective._sum(torch.bincount(objective.labels, minlength=classes).to(torch.float64))
            null = float(sum(float(c) * math.log(float(c) / n) for c in counts if float(c) > 0))
        df = p - (classes - 1)
        statistic = 2 * (log_lik - null)
        values = {
            "null_deviance": -2 * null,
            "df_null": n - (classes - 1),
            "log_lik": log_lik,
            "aic": -2 * log_lik + 2 * p,
            "bic": -2 * log_lik + math.log(n) * p,
            "deviance": -2 * log_lik,
            "df_residual": n - p,
            "nobs": n,
            "pseudo_r_squared": 1 - log_lik / null if null < 0 else math.nan,
            "statistic": statistic,
            "p_value": float(special.chdtrc(df, statistic)) if df > 0 else math.nan,
            "df": df,
        }
    if penalised:
        values = {name: value if name in _PENALISED_KEEP else math.nan for name, value in values.items()}
    return Glance(columns, tuple(float(values[c]) for c in columns), kind, std_errors, penalised)


def _xlogy(share: float) -> float:
    return share * math.log(share) if share > 0 else 0.0
