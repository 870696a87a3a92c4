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
optimum (docs/fast-gradient-descent.md gives its measured error).
"""

from __future__ import annotations

import dataclasses
import math
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch

from lit_basics.data.shards import RowShards, input_extremes, row_shards
from lit_basics.reference import AffineView, Objective, Optimum, optimum, standardizing_matrix

if TYPE_CHECKING:
    import lightning.pytorch as pl

    from lit_basics.models.base import GradientDescentModule

__all__ = [
    "MAX_PARAMETERS",
    "SCALING_ADVICE_KAPPA",
    "AutomaticStep",
    "Diagnosis",
    "ScalingAdvice",
    "automatic_step",
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
        momentum: β of heavy-ball momentum (torch's ``v = β·v + g``, ``θ -= lr·v``); 0: plain
            gradient descent.
        nesterov: Nesterov's momentum (``θ -= lr·(g + β·v)``).

    With momentum each eigendirection's error ``e`` and velocity ``v`` follow a 2×2 linear
    recurrence, ``(e, v) ← M (e, v)`` with ``M = [[1 - lr·λ, -lr·β], [λ, β]]`` (heavy ball; Nesterov:
    ``[[1 - lr·λ(1+β), -lr·β²], [λ, β]]``) from ``(c, 0)``: exact for a quadratic, as above. It
    converges when every ``M`` has spectral radius < 1: ``0 < lr·λ < 2(1+β)`` (heavy ball),
    ``0 < lr·λ < 2(1+β)/(1+2β)`` (Nesterov).
    """

    lr: float
    optimum: Optimum
    eigenvalues: torch.Tensor
    components: torch.Tensor
    exact: bool
    momentum: float = 0.0
    nesterov: bool = False

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
        """``2 / λmax`` (with momentum ``2(1+β)/λmax``, Nesterov ``2(1+β)/((1+2β)·λmax)``): with a
        larger ``lr`` gradient descent diverges from almost every start."""
        beta = self.momentum
        factor = (1 + beta) / (1 + 2 * beta) if self.nesterov else 1 + beta
        return 2.0 * factor / float(self.eigenvalues[-1])

    @property
    def bound_name(self) -> str:
        """How :attr:`max_stable_lr` is written: ``2/λmax``, ``2(1+β)/λmax``, ``2(1+β)/((1+2β)λmax)``."""
        if not self.momentum:
            return "2/λmax"
        return "2(1+β)/((1+2β)λmax)" if self.nesterov else "2(1+β)/λmax"

    def at(self, lr: float, momentum: float = 0.0, nesterov: bool = False) -> Diagnosis:
        """The same problem and start with other settings."""
        return dataclasses.replace(self, lr=float(lr), momentum=float(momentum), nesterov=bool(nesterov and momentum))

    @property
    def method(self) -> str:
        """``gradient descent``, ``heavy-ball momentum β=0.9``, ``Nesterov momentum β=0.9``."""
        if not self.momentum:
            return "Gradient descent"
        return f"{'Nesterov' if self.nesterov else 'Heavy-ball'} momentum β={self.momentum:.4g}"

    def _moving(self) -> torch.Tensor:
        largest = float(self.eigenvalues[-1])
        return (self.components > 0) & (self.eigenvalues > 1e-12 * max(largest, 0.0))

    def _matrices(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The momentum recurrences of the moving directions ``(n, 2, 2)`` and their gap shares ``(n,)``."""
        moving = self._moving()
        lam, beta, lr = self.eigenvalues[moving], self.momentum, self.lr
        m = torch.empty(int(moving.sum()), 2, 2, dtype=torch.float64)
        if self.nesterov:
            m[:, 0, 0], m[:, 0, 1] = 1 - lr * lam * (1 + beta), -lr * beta * beta
        else:
            m[:, 0, 0], m[:, 0, 1] = 1 - lr * lam, -lr * beta
        m[:, 1, 0], m[:, 1, 1] = lam, beta
        return m, self.components[moving]

    def spectral_radius(self) -> float:
        """The largest factor by which an update shrinks an eigendirection's error in the long run
        (``max |1 - lr·λ|`` without momentum); ``>= 1``: it does not converge."""
        if not self.momentum:
            rates = (1.0 - self.lr * self.eigenvalues[self._moving()]).abs()
            return float(rates.max()) if rates.numel() else 0.0
        m, _ = self._matrices()
        return float(torch.linalg.eigvals(m).abs().max()) if m.numel() else 0.0

    def gap(self, updates: int) -> float:
        """The predicted loss gap after ``updates`` updates from the starting parameters."""
        if self.momentum:
            m, shares = self._matrices()
            first = torch.linalg.matrix_power(m, int(updates))[:, 0, 0]  # e_t / e_0, from (e_0, v_0 = 0)
            return float((shares * first.pow(2)).sum())
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
        if self.momentum:
            return self._momentum_updates_to_gap(tol)
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

    #: Updates scanned one by one for the first crossing with momentum (beyond: the long-run rate).
    SCAN_LIMIT = 2_000_000

    def _momentum_updates_to_gap(self, tol: float) -> int | None:
        """The update from which on the gap stays ``<= tol``, with momentum. The gap oscillates
        (a first crossing could be a lucky pass through the valley): the recurrences run 512
        updates at a time (``M^k s`` for k < 512 in one batched product, then ``s ← M^512 s``),
        remembering the last update above ``tol``, until a bound on every later gap is below
        ``tol``: ``Σᵢ shareᵢ · Gᵢ² · |sᵢ|²`` with ``Gᵢ`` the largest norm of a power of ``Mᵢ``."""
        radius = self.spectral_radius()
        if radius >= 1.0:
            return None
        m, shares = self._matrices()
        total = float(shares.sum())
        if radius > 0 and math.log(tol / total) / (2 * math.log(radius)) > self.SCAN_LIMIT:
            # Too many to scan: the long-run rate's count (the envelope of the oscillation).
            return math.ceil(math.log(tol / total) / (2 * math.log(radius)))
        chunk = 512
        powers = [torch.eye(2, dtype=torch.float64).expand_as(m)]
        for _ in range(chunk - 1):
            powers.append(m @ powers[-1])
        stacked = torch.stack(powers)  # (chunk, n, 2, 2): M^k
        step = m @ powers[-1]  # M^chunk
        growth = torch.linalg.matrix_norm(stacked, ord=2).amax(dim=0)  # Gᵢ over k < chunk
        if bool((torch.linalg.matrix_norm(step, ord=2) >= 1).any()):
            growth = growth * 1e6  # M^512 not yet contracting: scan on, the bound decides later
        state = torch.zeros(m.shape[0], 2, 1, dtype=torch.float64)
        state[:, 0, 0] = 1.0
        last_above, done = -1, 0
        while done <= self.SCAN_LIMIT:
            errors = (stacked @ state)[:, :, 0, 0]  # (chunk, n): e_t / e_0 for t = done .. done + chunk - 1
            above = torch.nonzero((errors.pow(2) * shares).sum(dim=1) > tol)
            if above.numel():
                last_above = done + int(above[-1, 0])
            state = step @ state
            done += chunk
            if float((shares * growth.pow(2) * state.pow(2).sum(dim=(1, 2))).sum()) <= tol:
                return last_above + 1
        return None

    def best_step(self, tol: float = 1e-3, momentum: float = 0.0, nesterov: bool = False) -> tuple[float, int | None]:
        """The constant ``lr`` (with the given momentum, none by default) that reaches a gap
        ``<= tol`` in the fewest updates from this start, and that count: a geometric grid over
        ``(0, stability bound)``, refined twice around the best (exact counts for a quadratic:
        the grid only finds the step)."""
        bound = self.at(1.0, momentum, nesterov).max_stable_lr
        lo, hi = bound * 1e-4, bound * (1 - 1e-9)
        best: tuple[int, float] = (2**62, lo)
        for _ in range(3):
            for lr in torch.logspace(
                math.log10(lo), math.log10(hi), 160 if not momentum else 60, dtype=torch.float64
            ).tolist():
                count = self.at(lr, momentum, nesterov).updates_to_gap(tol)
                if count is not None and (count, -lr) < (best[0], -best[1]):
                    best = (count, lr)
            lo, hi = best[1] / 1.15, min(best[1] * 1.15, bound * (1 - 1e-9))
        return best[1], (best[0] if best[0] < 2**62 else None)

    def polyak(self) -> tuple[float, float]:
        """Polyak's heavy-ball settings for the curvature range: ``lr = 4/(√λmax + √λmin)²``,
        ``β = ((√κ - 1)/(√κ + 1))²``."""
        curved = self.curved
        top, low = math.sqrt(float(curved[-1])), math.sqrt(float(curved[0]))
        return 4.0 / (top + low) ** 2, ((top - low) / (top + low)) ** 2

    def nesterov_settings(self) -> tuple[float, float]:
        """Nesterov's settings for a strongly convex quadratic: ``lr = 1/λmax``, ``β = (√κ - 1)/(√κ + 1)``."""
        root = math.sqrt(self.condition_number)
        return 1.0 / float(self.curved[-1]), (root - 1) / (root + 1)

    def best_momentum(self, tol: float = 1e-3, nesterov: bool = False) -> tuple[float, float, int | None]:
        """The ``(lr, β)`` of heavy-ball (or Nesterov) momentum that reaches ``tol`` in the fewest
        updates from this start, with that count: a grid around the textbook settings (Polyak's,
        Nesterov's), which are among the candidates, so the result is never worse than them."""
        lr0, beta0 = self.nesterov_settings() if nesterov else self.polyak()
        candidates = [(lr0, beta0)]
        for lr_factor in torch.logspace(-1, math.log10(2.0), 13, dtype=torch.float64).tolist():
            for beta in torch.linspace(0.0, 0.99, 34, dtype=torch.float64).tolist():
                candidates.append((lr0 * lr_factor, beta))
        best: tuple[int, float, float] = (2**62, lr0, beta0)
        for lr, beta in candidates:
            count = self.at(lr, beta, nesterov).updates_to_gap(tol)
            if count is not None and count < best[0]:
                best = (count, lr, beta)
        # Refine: a finer grid around the best pair.
        _, lr1, beta1 = best
        for lr_factor in torch.linspace(0.85, 1.15, 13, dtype=torch.float64).tolist():
            for beta in torch.linspace(
                max(0.0, beta1 - 0.05), min(0.999, beta1 + 0.05), 21, dtype=torch.float64
            ).tolist():
                count = self.at(lr1 * lr_factor, beta, nesterov).updates_to_gap(tol)
                if count is not None and count < best[0]:
                    best = (count, lr1 * lr_factor, beta)
        return best[1], best[2], (best[0] if best[0] < 2**62 else None)

    def best_beta(self, lr: float, tol: float = 1e-3, nesterov: bool = False) -> tuple[float, int | None]:
        """The β that reaches ``tol`` in the fewest updates at step ``lr``, with that count."""
        best: tuple[int, float] = (2**62, 0.0)
        # Up to 0.95: far from the optimum a non-quadratic loss is not its local model.
        for beta in torch.linspace(0.0, 0.95, 96, dtype=torch.float64).tolist():
            count = self.at(lr, beta, nesterov).updates_to_gap(tol)
            if count is not None and count < best[0]:
                best = (count, beta)
        return best[1], (best[0] if best[0] < 2**62 else None)

    def summary(self, tol: float = 1e-3) -> str:
        """One line: the learning rate against the stability bound, κ, and the predicted updates."""
        updates = self.updates_to_gap(tol)
        bound = self.bound_name
        if updates is None:
            prediction = f"it does not converge: lr is not below {bound} = {self.max_stable_lr:.4g}"
        else:
            how = (
                "exactly, this objective is quadratic" if self.exact else "estimated from the curvature at the optimum"
            )
            prediction = f"{updates} update(s) to a loss gap <= {tol:g} ({how})"
        return (
            f"{self.method}: lr={self.lr:g}, stable below {bound} = {self.max_stable_lr:.4g}, "
            f"condition number κ = {self.condition_number:.4g}; {prediction}"
        )


def diagnose(
    model: GradientDescentModule, x: torch.Tensor, y: torch.Tensor, shards: RowShards | None = None
) -> Diagnosis:
    """The curvature of ``model``'s training objective on ``(x, y)`` at its optimum, and the
    starting point of gradient descent from ``model``'s current parameters (``shards``: ``(x, y)``
    is this process's shard of the rows, :class:`~lit_basics.data.shards.RowShards`).

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
    return diagnose_objective(model, model.reference_objective(x, y, shards))


def diagnose_objective(
    model: GradientDescentModule, objective: Objective, start: torch.Tensor | None = None
) -> Diagnosis:
    """:func:`diagnose` of ``objective`` (the model's on its data, or a reparametrisation of it),
    from ``model``'s current parameters and settings; ``start``: where the search for the optimum
    starts (:func:`~lit_basics.reference.optimum`).

    Raises:
        ValueError: no finite optimum, or more than :data:`MAX_PARAMETERS` parameters.
    """
    if objective.size > MAX_PARAMETERS:
        raise ValueError(f"{objective.size} parameters: the Hessian is computed for at most {MAX_PARAMETERS}")
    best = optimum(objective, start)
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
        momentum=float(getattr(model, "momentum", 0.0)),
        nesterov=bool(getattr(model, "nesterov", False)),
    )


# --- lr="auto" and momentum="auto" -------------------------------------------------------------


@dataclass(frozen=True)
class AutomaticStep:
    """What ``lr="auto"`` (and ``momentum="auto"``) resolve to on a model's training rows.

    Attributes:
        lr: the learning rate.
        momentum: the momentum β (the model's own unless it was ``"auto"``).
        why: one line saying what was chosen and why.
    """

    lr: float
    momentum: float
    why: str


def automatic_step(
    model: GradientDescentModule,
    x: torch.Tensor,
    y: torch.Tensor,
    tol: float = 1e-3,
    shards: RowShards | None = None,
) -> AutomaticStep:
    """The step ``lr="auto"`` (``momentum="auto"``) means for ``model`` from its current
    parameters (the start) on the training rows ``(x, y)`` (``shards``: this process's shard of them):

    - Squared error (a quadratic: counts are exact): the constant step (with momentum: the
      ``(lr, β)`` pair; with a given β: the step for it) that reaches a loss gap ``<= tol`` in the
      fewest updates from this start (:meth:`Diagnosis.best_step`, :meth:`Diagnosis.best_momentum`).
    - Logistic and softmax regression: ``lr = 1/L`` with ``L`` the global bound of the loss's
      curvature (:meth:`~lit_basics.reference.Objective.curvature_bound`): gradient descent
      with it decreases the loss from any start. ``momentum="auto"`` takes the β that the
      curvature at the optimum predicts reaches ``tol`` soonest at that step (an estimate).

    Raises:
        ArgumentError: naming ``lr``/``momentum`` when it cannot be computed (no finite optimum
            for ``momentum="auto"``, too many parameters).
    """
    from lit_basics.errors import ArgumentError

    objective = model.reference_objective(x, y, shards)
    try:
        diagnosis: Diagnosis | None = diagnose(model, x, y, shards)
    except ValueError as exc:
        if model.auto_momentum or objective.data_loss == "squared_error":
            raise ArgumentError(
                "momentum" if model.auto_momentum else "lr", f"'auto' cannot be computed: {exc}"
            ) from None
        diagnosis = None
    beta, nesterov, chose_beta = model.momentum, model.nesterov, model.auto_momentum
    if objective.data_loss == "squared_error":
        assert diagnosis is not None
        if chose_beta:
            lr, beta, count = diagnosis.best_momentum(tol, nesterov=nesterov)
            why = f"the (lr, β) that reach a loss gap <= {tol:g} in the fewest updates from this start: {count}"
        else:
            lr, count = diagnosis.best_step(tol, momentum=beta, nesterov=nesterov)
            why = f"the step that reaches a loss gap <= {tol:g} in the fewest updates from this start: {count}"
    else:
        lr = 1.0 / objective.curvature_bound()
        why = "1/L, L the curvature bound of the loss anywhere: the loss decreases from any start"
        if chose_beta and diagnosis is not None:
            beta, count = diagnosis.best_beta(lr, tol, nesterov=nesterov)
            why += f"; β: the fewest updates to a loss gap <= {tol:g} predicted at that step: {count} (an estimate)"
    settings = f"lr = {float(lr):.6g}" + (f", momentum β = {float(beta):.6g}" if chose_beta else "")
    return AutomaticStep(float(lr), float(beta), f"Automatic: {settings} ({why})")


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
        result: tuple[Diagnosis | None, str | None] = (diagnose(model, x, y, row_shards(datamodule)), None)
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
    #: What changes: ``"standardize"`` the features, or the polynomial's ``"legendre"`` basis.
    change: Literal["standardize", "legendre"] = "standardize"

    @property
    def metric_prefix(self) -> str:
        """How the logged hyperparameters name the changed problem: ``hp/<prefix>_condition_number``."""
        return "standardized" if self.change == "standardize" else "legendre"

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
        if self.change == "legendre":
            head, remedy = (
                "Basis: the polynomial is in powers of x (basis=power)",
                ("In the Legendre basis (--model.init_args.basis=legendre, same polynomial)"),
            )
        else:
            head = f"Scaling: the features are not standardized (scale={self.scale})"
            remedy = "Standardized (--data.init_args.scale=standardize)"
        return (
            f"{head}: {now}. {remedy}: κ = {after.condition_number:.3g}, "
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

    if not isinstance(datamodule, InMemoryDataModule) or not datamodule.full_batch:
        return None
    basis = getattr(model, "basis", None)  # a polynomial's: its advice is about the basis, not scaling
    polynomial = basis is not None
    if (polynomial and basis != "power") or (not polynomial and datamodule.scale == "standardize"):
        return None
    cached = _ADVICE.get(trainer)
    if cached is not None and cached[0]() is datamodule:
        return cached[1]
    advice = None
    before, _ = diagnose_fit(trainer, model, datamodule)
    # A polynomial: the same polynomial in the Legendre basis, from the same start, wherever it
    # cuts κ. Other models: standardised features, from κ >= SCALING_ADVICE_KAPPA on.
    change: Literal["standardize", "legendre"] = "legendre" if polynomial else "standardize"
    if polynomial or before is None or before.condition_number >= SCALING_ADVICE_KAPPA:
        try:
            after = _legendre_diagnosis(model, datamodule) if polynomial else _standardized_diagnosis(model, datamodule)
        except ValueError:
            after = None
        if after is not None and (before is None or after.condition_number * 10 <= before.condition_number):
            at_half = dataclasses.replace(after, lr=1.0 / float(after.eigenvalues[-1]))
            advice = ScalingAdvice(datamodule.scale, before, at_half, change)
    _ADVICE[trainer] = (weakref.ref(datamodule), advice)
    return advice


def _standardized_diagnosis(model: GradientDescentModule, datamodule: Any) -> Diagnosis:
    """The diagnosis of the same fit on standardised inputs (one-hot inputs left 0/1).

    Where the model's inputs are its features (linear, logistic, softmax), standardising is an
    affine map of the design: the problem is the same objective seen through
    :class:`~lit_basics.reference.AffineView`, with no second copy of the data. Otherwise (the
    polynomial's powers of standardised ``x``) the features are standardised and the problem built anew.
    """
    from lit_basics.models.base import GradientDescentModule

    x, y = datamodule.training_rows()
    shards = row_shards(datamodule)
    if type(model).features is not GradientDescentModule.features:
        standardized = datamodule.standardized_training_features()
        return diagnose(model, standardized.to(model.device), y.to(model.device), shards)
    objective = model.reference_objective(x, y, shards)
    mean, std = objective.column_moments()
    numeric = torch.tensor(datamodule.encoding.numeric_inputs, dtype=torch.bool)
    # A constant column is only centred, as StandardScaler does; one-hot inputs are left as they are.
    constant = std <= 10 * torch.finfo(torch.float64).eps * mean.abs()
    std = torch.where(numeric & ~constant, std, torch.ones_like(std))
    mean = torch.where(numeric, mean, torch.zeros_like(mean))
    matrix = standardizing_matrix(mean, std)
    view = AffineView(objective, matrix)
    start = None
    fit = diagnose_fit_cached(model, datamodule)
    if fit is not None:  # the optimum as configured, mapped: exact without a penalty, near with one
        start = torch.linalg.solve(view.transform, objective.join(fit.optimum.w, fit.optimum.b))
    return diagnose_objective(model, view, start)


def _legendre_diagnosis(model: Any, datamodule: Any) -> Diagnosis:
    """The diagnosis of the same fit with ``basis="legendre"``: the same polynomial as the start
    (its coefficients converted exactly), the same data and penalties (on the new coefficients)."""
    from lit_basics.models.legendre import power_to_legendre

    x, y = datamodule.training_rows()
    with torch.random.fork_rng(devices=[]):  # the twin's own draw of w leaves the fit's stream alone
        twin = type(model)(degree=model.degree, basis="legendre", lr=model.lr, l2=model.l2, l1=model.l1)
    twin = twin.to(device=model.device, dtype=model.w.dtype)
    shards = row_shards(datamodule)
    twin.learn_input_map(input_extremes(x, shards))
    start = power_to_legendre(model.power_coefficients(), *twin.input_map)
    with torch.no_grad():
        twin.b.copy_(start[:1])
        twin.w.copy_(start[1:].reshape(-1, 1))
    return diagnose(twin, x, y, shards)


def diagnose_fit_cached(model: GradientDescentModule, datamodule: Any) -> Diagnosis | None:
    """The diagnosis :func:`diagnose_fit` already made for this model and data, if any."""
    for entries in _FITS.values():
        for model_ref, data_ref, _, diagnosis, _ in entries:
            if model_ref() is model and data_ref() is datamodule and diagnosis is not None:
                return diagnosis
    return None
