"""Polynomial regression on the notes' cubic (多项式回归)."""

from __future__ import annotations

from typing import Any

import torch

from lit_basics.models.base import GradientDescentModule, Optimization, check_positive_int
from lit_basics.models.linear import mean_squared_error

__all__ = ["PolynomialRegression"]


class PolynomialRegression(GradientDescentModule):
    """``ŷ = Σ_{i=1..degree} w_i x^i + b`` with mean squared error loss.

    ``forward`` takes raw ``x`` of shape ``(N, 1)`` and builds ``[x, x^2, ..., x^degree]``
    (``(N, degree)``) itself, so prediction works on raw inputs. ``w`` is ``(degree, 1)``, ``b``
    ``(1,)``, ``ŷ`` ``(N, 1)``. The notes' exercise, fitting the cubic with a quadratic, is
    ``degree=2``.

    Args:
        degree: highest power of ``x``, >= 1 (the notes: 3).
        in_features: must be 1 (one raw ``x``); present so the CLI can check the data against it.
        lr: learning rate (the notes: 1e-3).
        optimization: ``"automatic"`` or ``"manual"``.
        optimizer: a ``torch.optim`` optimizer name for the automatic twin.
        optimizer_kwargs: its further arguments.

    Example:
        >>> model = PolynomialRegression(degree=3)
        >>> model.features(torch.tensor([[2.0], [-1.0]])).tolist()
        [[2.0, 4.0, 8.0], [-1.0, 1.0, -1.0]]
    """

    def __init__(
        self,
        degree: int = 3,
        in_features: int = 1,
        lr: float = 1e-3,
        optimization: Optimization = "automatic",
        optimizer: str = "SGD",
        optimizer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        check_positive_int("degree", degree)
        if in_features != 1:
            raise ValueError(
                f"in_features must be 1 for PolynomialRegression (it builds x, x^2, ... from one raw x), "
                f"got {in_features!r}"
            )
        super().__init__(
            num_weights=degree,
            lr=lr,
            optimization=optimization,
            optimizer=optimizer,
            optimizer_kwargs=optimizer_kwargs,
        )
        self.save_hyperparameters()
        self.degree = degree

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 1) -> (N, degree)``: ``[x, x^2, ..., x^degree]`` by repeated multiplication.

        A product, not ``pow`` with a float exponent, so negative ``x`` stays exact and finite.
        """
        return x.expand(-1, self.degree).cumprod(dim=1)

    def loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return mean_squared_error(output, y)
