"""Why gradient descent needs the updates it needs: curvature, the largest stable learning rate,
and the number of updates to come within a tolerance of the optimum.

Near its optimum ``θ*`` the training objective is, to second order, ``f(θ) = f* + ½ (θ - θ*)ᵀ H (θ - θ*)``
with ``H`` its Hessian there. Gradient descent ``θ ← θ - lr · ∇f(θ)`` then multiplies the error
along each eigenvector of ``H`` (eigenvalue ``λᵢ``) by ``1 - lr · λᵢ`` per update, so

    gap after t updates = Σᵢ ½ λᵢ cᵢ² (1 - lr λᵢ)^(2t),        c = Vᵀ (θ₀ - θ*)

It converges only if every ``|1 - lr λᵢ| < 1``, i.e. ``lr < 2 / λmax`` (:attr:`Diagnosis.max_stable_lr`),
and then as fast as its slowest direction: with ``lr`` near the bound, ``1 - lr λmin ≈ 1 - 2/κ`` where
``κ = λmax / λmin`` is the condition number — a badly conditioned problem needs ~κ updates per
factor e. For the squared-error families the objective *is* this quadratic (with ``l1 = 0``) and the
count is exact; for logistic and softmax regression it is an estimate from the curvature at the
optimum (the README gives its measured error).
"""

from __future__ import annotations

import dataclasses
import math
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from lit_basics.reference import Optimum, optimum

if TYPE_CHECKING:
    import lightning.pytorch as pl

    from lit_basics.models.base import GradientDescentModule

__all__ = [
    "MAX_PARAMETERS",
    "SCALING_ADVICE_KAPPA",
    "Diagnosis",
    "ScalingAdvice",
    "diagnose",
    "diagnose_fit",
    "scaling_advice",
]

#: The condition number from which a fit on features that are not standardised says what
#: standardising them would make it (when that is at least ten times smaller).
SCALING_ADVICE_KAPPA = 1e3

#: Largest number of parameters whose Hessian is computed (its size is the square of that).
MAX_PARAMETERS = 2048


@dataclass(frozen=True)
class Diagnosis:
    """The curvature of a training objective at its optimum, and what it means for gradient descent.

    Attributes:
        lr: the model's learning rate.
        optimum: the exact optimum (:func:`lit_basics.reference.optimum`).
        eigenvalues: of the Hessian of the training objective at the optimum with respect to
            ``(w, b)``, ascending, float64 (the ``l1`` term, flat where it is differentiable, adds none).
        components: ``½ λᵢ cᵢ²``, each eigendirection's share of the gap at the starting parameters.
        exact: the objective is the quadratic above (squared error, ``l1 = 0``): counts are exact.
    """

    lr: float
    optimum: Optimum
    eigenvalues: torch.Tensor
    components: torch.Tensor
    exact: bool

    @property
    def curved(self) -> torch.Tensor:
        """The eigenvalues with curvature: directions where the loss is flat (softmax's common
        shift of every class's bias) are ones gradient descent never moves along."""
        largest = float(self.eigenvalues[-1])
        return self.eigenvalues[self.eigenvalues > 1e-12 * max(largest, 0.0)]

    @property
    def condition_number(self) -> float:
        """``λmax / λmin`` over the curved directions."""
        curved = self.curved
        return float(curved[-1] / curved[0]) if curved.numel() else math.inf

    @property
    def max_stable_lr(self) -> float:
        """``2 / λmax``: gradient descent with a larger ``lr`` diverges from almost every start."""
        return 2.0 / float(self.eigenvalues[-1])

    def gap(self, updates: int) -> float:
        """The predicted loss gap after ``updates`` updates from the starting parameters."""
        rates = (1.0 - self.lr * self.eigenvalues).abs()
        largest = float(self.eigenvalues[-1])
        curved = self.eigenvalues > 1e-12 * max(largest, 0.0)
        return float((self.components * rates.pow(2 * updates))[curved].sum())

    def updates_to_gap(self, tol: float) -> int | None:
        """The number of full-batch updates at :attr:`lr` after which the loss gap is ``<= tol``
        (``0`` if it already is; ``None`` if gradient descent does not get there: ``lr`` at or
        above the stability bound)."""
        if not tol > 0:
            raise ValueError(f"tol must be > 0, got {tol}")
        if self.gap(0) <= tol:
            return 0
        rates = (1.0 - self.lr * self.eigenvalues).abs()
        # Flat directions (softmax's common shift of the biases: λ ≈ 0 in rounding) hold no gap.
        largest = float(self.eigenvalues[-1])
        moving = (self.components > 0) & (self.eigenvalues > 1e-12 * max(largest, 0.0))
        if bool((rates[moving] >= 1.0).any()):
            return None
        # Every term falls geometrically: t_hi makes each one <= tol / m, so their sum is <= tol.
        terms = int(moving.sum())
        bounds = [
            math.ceil(math.log(tol / (terms * float(a))) / (2 * math.log(float(r)))) if float(r) > 0 else 1
            for a, r in zip(self.components[moving], rates[moving], strict=True)
            if float(a) > tol / terms
        ]
        low, high = 0, max([1, *bounds])  # gap(low) > tol >= gap(high)
        while high - low > 1:
            middle = (low + high) // 2
            if self.gap(middle) <= tol:
                high = middle
            else:
                low = middle
        return high

    def summary(self, tol: float = 1e-3) -> str:
        """One line: the learning rate against the stability bound, κ, and the predicted updates."""
        updates = self.updates_to_gap(tol)
        if updates is None:
            prediction = f"it does not converge: lr is not below 2/λmax = {self.max_stable_lr:.4g}"
        else:
            how = (
                "exactly, this objective is quadratic" if self.exact else "estimated from the curvature at the optimum"
            )
            prediction = f"{updates} update(s) to a loss gap <= {tol:g} ({how})"
        return (
            f"Gradient descent: lr={self.lr:g}, stable below 2/λmax = {self.max_stable_lr:.4g}, "
            f"condition number κ = {self.condition_number:.4g}; {prediction}"
        )


def diagnose(model: GradientDescentModule, x: torch.Tensor, y: torch.Tensor) -> Diagnosis:
    """The curvature of ``model``'s training objective on ``(x, y)`` at its optimum, and the
    starting point of gradient descent from ``model``'s current parameters.

    Raises:
        ValueError: no finite optimum, or more than :data:`MAX_PARAMETERS` parameters.

    Example:
        >>> import torch
        >>> from lit_basics.data import LinearDataModule
        >>> from lit_basics.models import LinearRegression
        >>> _ = torch.manual_seed(2017)
        >>> d = diagnose(LinearRegression(), LinearDataModule().x, LinearDataModule().y)
        >>> round(d.max_stable_lr, 4), round(d.condition_number), d.updates_to_gap(1e-3)
        (0.0231, 336, 954)
    """
    objective = model.reference_objective(x, y)
    if objective.size > MAX_PARAMETERS:
        raise ValueError(f"{objective.size} parameters: the Hessian is computed for at most {MAX_PARAMETERS}")
    best = optimum(objective)
    theta_star = objective.join(best.w, best.b)
    eigenvalues, vectors = torch.linalg.eigh(objective.hessian(theta_star))
    start = objective.join(model.w, model.b)
    c = vectors.T @ (start - theta_star)
    components = 0.5 * eigenvalues.clamp_min(0.0) * c.pow(2)
    return Diagnosis(
        lr=float(model.lr),
        optimum=best,
        eigenvalues=eigenvalues,
        components=components,
        exact=objective.data_loss == "squared_error" and objective.l1 == 0,
    )


# --- one diagnosis per fit ----------------------------------------------------------------------

_FITS: weakref.WeakKeyDictionary[Any, list[tuple[Any, Any, torch.Tensor, Diagnosis | None, str | None]]] = (
    weakref.WeakKeyDictionary()
)


def diagnose_fit(
    trainer: pl.Trainer, model: GradientDescentModule, datamodule: Any
) -> tuple[Diagnosis | None, str | None]:
    """:func:`diagnose` on ``datamodule``'s training rows, computed once per fit and shared by
    the CLI and the callbacks that need the optimum: ``(diagnosis, None)``, or ``(None, reason)``
    when there is none (mini-batches, no finite optimum, too many parameters).

    A fit is this trainer, model, data and starting parameters: the same call later in the fit
    returns the same diagnosis, a fit from other parameters gets its own.
    """
    if not getattr(datamodule, "full_batch", False):
        return None, "training is not full-batch gradient descent"
    start = torch.cat([model.w.detach().reshape(-1), model.b.detach().reshape(-1)]).cpu()
    entries = _FITS.setdefault(trainer, [])
    for model_ref, data_ref, entry_start, diagnosis, reason in entries:
        if model_ref() is model and data_ref() is datamodule and torch.equal(entry_start, start):
            return diagnosis, reason
    try:
        x, y = datamodule.training_rows()
        result: tuple[Diagnosis | None, str | None] = (diagnose(model, x, y), None)
    except ValueError as exc:
        result = (None, str(exc))
    entries.append((weakref.ref(model), weakref.ref(datamodule), start, *result))
    return result


# --- what scaling the features would do --------------------------------------------------------


@dataclass(frozen=True)
class ScalingAdvice:
    """The problem as configured beside the same problem on standardised features.

    Attributes:
        scale: the data module's ``scale`` now.
        before: the diagnosis as configured (``None``: no finite optimum), at the model's ``lr``.
        after: the diagnosis on standardised features, from the same starting parameters, at
            ``lr = 1/λmax`` of that problem (half its stability bound).
    """

    scale: str
    before: Diagnosis | None
    after: Diagnosis

    def summary(self, tol: float = 1e-3) -> str:
        """One line: κ, the stability bound and the updates to ``tol`` before and after, and the flag."""
        after = self.after
        updates_after = after.updates_to_gap(tol)
        if self.before is None:
            now = "no finite optimum now"
        else:
            updates = self.before.updates_to_gap(tol)
            count = "never (lr is not below 2/λmax)" if updates is None else f"{updates} update(s)"
            now = (
                f"κ = {self.before.condition_number:.3g}, 2/λmax = {self.before.max_stable_lr:.3g}: "
                f"{count} to a loss gap <= {tol:g} at lr={self.before.lr:g}"
            )
        return (
            f"Scaling: the features are not standardized (scale={self.scale}): {now}. Standardized "
            f"(--data.init_args.scale=standardize): κ = {after.condition_number:.3g}, "
            f"2/λmax = {after.max_stable_lr:.3g}: "
            f"{updates_after} update(s) at lr = 1/λmax = {after.lr:.3g}"
        )


_ADVICE: weakref.WeakKeyDictionary[Any, tuple[Any, ScalingAdvice | None]] = weakref.WeakKeyDictionary()


def scaling_advice(trainer: pl.Trainer, model: GradientDescentModule, datamodule: Any) -> ScalingAdvice | None:
    """What standardising the features would do, where the data module can scale, the features
    are not standardised, the fit is full-batch, κ >= :data:`SCALING_ADVICE_KAPPA` (or there is
    no finite optimum) and standardising makes κ at least ten times smaller; else ``None``.
    Computed once per fit and shared by the CLI and the callbacks."""
    from lit_basics.data import InMemoryDataModule
    from lit_basics.data.scaling import FeatureScaling

    if not isinstance(datamodule, InMemoryDataModule) or datamodule.scale == "standardize" or not datamodule.full_batch:
        return None
    cached = _ADVICE.get(trainer)
    if cached is not None and cached[0]() is datamodule:
        return cached[1]
    advice = None
    before, _ = diagnose_fit(trainer, model, datamodule)
    if before is None or before.condition_number >= SCALING_ADVICE_KAPPA:
        raw = datamodule.raw_training_features()
        standardized = FeatureScaling.fit("standardize", raw).apply(raw, datamodule.x.dtype)
        _, y = datamodule.training_rows()
        try:
            after = diagnose(model, standardized.to(model.device), y.to(model.device))
        except ValueError:
            after = None
        if after is not None and (before is None or after.condition_number * 10 <= before.condition_number):
            advice = ScalingAdvice(
                datamodule.scale, before, dataclasses.replace(after, lr=1.0 / float(after.eigenvalues[-1]))
            )
    _ADVICE[trainer] = (weakref.ref(datamodule), advice)
    return advice
