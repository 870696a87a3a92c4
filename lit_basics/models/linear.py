"""Linear regression, the notes' first model (线性模型和梯度下降)."""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn
from typing_extensions import override

from lit_basics.models.base import DEFAULT_UPDATES_PER_STEP, GradientDescentModule, Optimization, StdErrors
from lit_basics.validation import check_positive_int

__all__ = ["LinearRegression", "mean_squared_error"]


def mean_squared_error(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``mean((ŷ - y)^2)``, written as the notes write it (and against its argument ``y``: the
    notes' ``get_loss(y_, y)`` reads the global ``y_train`` instead, a bug not copied here)."""
    return torch.mean((y_hat - y) ** 2)


class LinearRegression(GradientDescentModule):
    """``ŷ = x @ w + b`` with mean squared error loss.

    Shapes: ``x`` ``(N, in_features)``, ``w`` ``(in_features, 1)``, ``b`` ``(1,)``, ``ŷ`` ``(N, 1)``.

    Args:
        in_features: number of input features (the CLI sets it from the data).
        lr: learning rate (the notes: 1e-2).
        optimization: ``"automatic"`` or ``"manual"`` (the notes' hand-written update).
        optimizer: a ``torch.optim`` optimizer name for the automatic twin.
        optimizer_kwargs: its further arguments.
        l2: weight of ``½‖w‖²`` (ridge regression); ``b`` is not penalised.
        l1: weight of ``‖w‖₁`` (the lasso); ``b`` is not penalised.
        updates_per_step: full-batch updates per Lightning step of the manual twin.
        momentum: heavy-ball momentum β in [0, 1), torch's formulation (``v = β·v + g``,
            ``p -= lr·v``); 0 (default) is the notes' plain gradient descent; ``"auto"`` (with
            ``lr="auto"``): the best ``(lr, β)`` for this problem and start.
        nesterov: Nesterov's momentum (``p -= lr·(g + β·v)``); needs ``momentum > 0``.
        std_errors: the coefficient table's standard errors: ``"classical"`` (default, as ``lm``)
            or White's heteroskedasticity-robust ``"HC0"``, ``"HC1"``, ``"HC2"``, ``"HC3"`` (as
            statsmodels' ``OLS(cov_type=...)`` and R's ``sandwich::vcovHC``).

    Example:
        >>> _ = torch.manual_seed(2017)
        >>> model = LinearRegression()
        >>> model.w.shape, model.b.tolist()
        (torch.Size([1, 1]), [0.0])
        >>> model(torch.ones(4, 1)).shape
        torch.Size([4, 1])
    """

    def __init__(
        self,
        in_features: int = 1,
        lr: float | Literal["auto"] = 1e-2,
        optimization: Optimization = "automatic",
        optimizer: str = "SGD",
        optimizer_kwargs: dict[str, Any] | None = None,
        l2: float = 0.0,
        l1: float = 0.0,
        updates_per_step: int = DEFAULT_UPDATES_PER_STEP,
        momentum: float | Literal["auto"] = 0.0,
        nesterov: bool = False,
        std_errors: StdErrors = "classical",
    ) -> None:
        check_positive_int("in_features", in_features)
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
            std_errors=std_errors,
        )
        self.save_hyperparameters()
        self.in_features = in_features
        # The notes: w = Variable(torch.randn(1), requires_grad=True); b = Variable(torch.zeros(1), ...)
        self.w = nn.Parameter(torch.randn(in_features, 1))
        self.b = nn.Parameter(torch.zeros(1))

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x @ w + b``: ``(N, in_features) -> (N, 1)``."""
        if self.in_features == 1:
            # The notes' own expression, x * w + b with w of shape (1,): a matrix product sums its
            # gradient over the N rows in another order, and the notes' numbers would move in the
            # last bits. Same value, same shapes.
            return x * self.w.view(1) + self.b
        return x @ self.w + self.b

    @override
    def loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return mean_squared_error(output, y)
