"""The best answers gradient descent is walking towards, computed directly in float64.

- Least squares (linear and polynomial regression): ``torch.linalg.lstsq`` on ``[features, 1]``.
- Logistic regression: the unregularised maximum-likelihood fit by Newton's method (IRLS).

Used to log how far a fit still is from the optimum (``train/loss_gap``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["Optimum", "least_squares_optimum", "logistic_optimum", "mean_bce_with_logits", "mean_squared_error"]


@dataclass(frozen=True)
class Optimum:
    """Optimal weights ``w`` (shape ``(K, 1)``), bias ``b`` (shape ``(1,)``) and the loss there."""

    w: torch.Tensor
    b: torch.Tensor
    loss: float


def _design(features: torch.Tensor) -> torch.Tensor:
    features = features.to(torch.float64)
    return torch.cat([features, torch.ones(features.shape[0], 1, dtype=torch.float64, device=features.device)], dim=1)


def mean_squared_error(features: torch.Tensor, y: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> float:
    """``mean((features @ w + b - y)^2)`` in float64."""
    residual = features.double() @ w.double() + b.double() - y.double()
    return float(residual.pow(2).mean())


def mean_bce_with_logits(features: torch.Tensor, y: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> float:
    """Mean binary cross-entropy of the logits ``features @ w + b`` against 0/1 ``y``, in float64."""
    logits = features.double() @ w.double() + b.double()
    return float(torch.nn.functional.binary_cross_entropy_with_logits(logits, y.double()))


def least_squares_optimum(features: torch.Tensor, y: torch.Tensor) -> Optimum:
    """Minimise ``mean((features @ w + b - y)^2)`` exactly (``torch.linalg.lstsq``, float64).

    Args:
        features: ``(N, K)``.
        y: ``(N, 1)``.

    Example:
        >>> x = torch.tensor([[0.0], [1.0], [2.0]])
        >>> opt = least_squares_optimum(x, 2 * x + 1)
        >>> [round(v, 6) for v in opt.w.flatten().tolist()], round(opt.b.item(), 6), round(opt.loss, 12)
        ([2.0], 1.0, 0.0)
    """
    design = _design(features)
    # The gelsd driver (SVD) is the one that copes with ill-conditioned designs such as
    # [x, x^2, x^3]; it is CPU-only, so the solve runs on the CPU.
    solution = torch.linalg.lstsq(design.cpu(), y.double().cpu(), driver="gelsd").solution.to(design.device)
    w, b = solution[:-1], solution[-1]
    return Optimum(w, b, mean_squared_error(features, y, w, b))


def logistic_optimum(features: torch.Tensor, y: torch.Tensor, *, max_iter: int = 100, tol: float = 1e-12) -> Optimum:
    """Minimise the mean binary cross-entropy of ``sigmoid(features @ w + b)`` by Newton's method.

    IRLS: ``θ ← θ + (Xᵀ S X)⁻¹ Xᵀ (y - p)`` with ``S = diag(p (1 - p))``, in float64, from zero,
    halving the step when the loss would rise. Converges quadratically when the classes overlap;
    on separable data the optimum is at infinity and this raises.

    Args:
        features: ``(N, K)``.
        y: ``(N, 1)`` of 0/1.
        max_iter: Newton steps allowed.
        tol: stop when the step's largest component is below this.

    Raises:
        ValueError: no finite optimum (separable data) or no convergence in ``max_iter`` steps.
    """
    design = _design(features)
    target = y.double()
    theta = torch.zeros(design.shape[1], 1, dtype=torch.float64, device=design.device)

    def loss_at(t: torch.Tensor) -> float:
        return float(torch.nn.functional.binary_cross_entropy_with_logits(design @ t, target))

    loss = loss_at(theta)
    for _ in range(max_iter):
        p = torch.sigmoid(design @ theta)
        gradient = design.T @ (target - p)
        hessian = design.T @ (design * (p * (1 - p)))
        try:
            step = torch.linalg.solve(hessian, gradient)
        except RuntimeError:
            raise ValueError("logistic optimum: singular Hessian (the classes are separable?)") from None
        scale = 1.0
        while True:
            candidate = theta + scale * step
            candidate_loss = loss_at(candidate)
            if candidate_loss <= loss or scale < 1e-10:
                break
            scale /= 2
        theta, loss = candidate, candidate_loss
        if float((scale * step).abs().max()) < tol:
            return Optimum(theta[:-1], theta[-1], loss)
    raise ValueError(f"logistic optimum: no convergence in {max_iter} Newton steps (separable data?)")
