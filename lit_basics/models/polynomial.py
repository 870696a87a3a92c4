"""Polynomial regression on the notes' cubic (多项式回归)."""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn
from typing_extensions import override

from lit_basics.errors import ArgumentError
from lit_basics.models.base import DEFAULT_UPDATES_PER_STEP, GradientDescentModule, Optimization
from lit_basics.models.linear import mean_squared_error
from lit_basics.validation import check_positive_int

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
        l2: weight of ``½‖w‖²``; ``b`` is not penalised.
        l1: weight of ``‖w‖₁``; ``b`` is not penalised.
        updates_per_step: full-batch updates per Lightning step of the manual twin.
        momentum: heavy-ball momentum β in [0, 1), torch's formulation (``v = β·v + g``,
            ``p -= lr·v``); 0 (default) is the notes' plain gradient descent; ``"auto"`` (with
            ``lr="auto"``): the best ``(lr, β)`` for this problem and start.
        nesterov: Nesterov's momentum (``p -= lr·(g + β·v)``); needs ``momentum > 0``.

    Example:
        >>> model = PolynomialRegression(degree=3)
        >>> model.features(torch.tensor([[2.0], [-1.0]])).tolist()
        [[2.0, 4.0, 8.0], [-1.0, 1.0, -1.0]]
    """

    def __init__(
        self,
        degree: int = 3,
        in_features: int = 1,
        lr: float | Literal["auto"] = 1e-3,
        optimization: Optimization = "automatic",
        optimizer: str = "SGD",
        optimizer_kwargs: dict[str, Any] | None = None,
        l2: float = 0.0,
        l1: float = 0.0,
        updates_per_step: int = DEFAULT_UPDATES_PER_STEP,
        momentum: float | Literal["auto"] = 0.0,
        nesterov: bool = False,
    ) -> None:
        check_positive_int("degree", degree)
        if in_features != 1:
            raise ArgumentError(
                "in_features",
                f"must be 1 for PolynomialRegression (it builds x, x^2, ... from one raw x), got {in_features!r}",
            )
        super().__init__(
            lr=lr,
            optimization=optimization,
            optimizer=optimizer,
            optimizer_kwargs=optimizer_kwargs,
            l2=l2,
            l1=l1,
            updates_per_step=updates_per_step,
            momentum=momentum,
            nesterov=nesterov,
        )
        self.save_hyperparameters()
        self.degree = degree
        # Exponents 1..degree; a buffer so it follows the model to its device; not saved.
        self.powers: torch.Tensor
        self.register_buffer("powers", torch.arange(1, degree + 1, dtype=torch.float64), persistent=False)
        # The notes: w = Variable(torch.randn(3, 1), requires_grad=True); b = Variable(torch.zeros(1), ...)
        self.w = nn.Parameter(torch.randn(degree, 1))
        self.b = nn.Parameter(torch.zeros(1))

    @override
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 1) -> (N, degree)``: ``[x, x^2, ..., x^degree]`` in the parameters' dtype.

        The powers are taken in float64 and then rounded once to float32, as the notes do
        (``np.stack([x_sample ** i ...])`` then ``.float()``): with the float64 ``x`` of
        :class:`~lit_basics.data.PolynomialDataModule` the features are the notes' bit for bit, and
        for float32 inputs they are correctly rounded rather than carrying the error of repeated
        float32 products. ``pow`` with an integral exponent is exact in sign for negative ``x``.
        """
        return x.to(torch.float64).pow(self.powers).to(self.w.dtype)

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``features(x) @ w + b``: ``(N, 1) -> (N, 1)`` (the notes: ``torch.mm(x, w) + b``)."""
        return self.features(x) @ self.w + self.b

    @override
    def loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return mean_squared_error(output, y)
