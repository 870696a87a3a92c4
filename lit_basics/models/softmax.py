"""Softmax regression: logistic regression for more than two classes (beyond the notes)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MulticlassAccuracy
from typing_extensions import override

from lit_basics.errors import ArgumentError
from lit_basics.models.base import (
    DEFAULT_UPDATES_PER_STEP,
    GradientDescentModule,
    MetricKind,
    Optimization,
    StdErrors,
)
from lit_basics.reference import DataLoss
from lit_basics.validation import check_positive_int

__all__ = ["SoftmaxRegression"]


class SoftmaxRegression(GradientDescentModule):
    """``logits = x @ w + b``, ``p = softmax(logits)``, mean cross-entropy against class labels.

    Shapes: ``x`` ``(N, in_features)``, ``w`` ``(in_features, num_classes)``, ``b``
    ``(num_classes,)``, logits ``(N, num_classes)``; targets ``y`` are labels ``0..C-1``, ``(N, 1)``.
    With two classes it is logistic regression with ``w₁ - w₀`` as the weights.

    Adding the same number to every class's logit changes no probability, so the loss is flat along
    adding one vector to every column of ``w`` and one number to every entry of ``b``: an
    ``l2`` penalty removes the first (and makes the optimum finite when a class is separable, as
    setosa is in iris); gradient descent never moves along the second.

    Args:
        in_features: number of input features (the CLI sets it from the data).
        num_classes: number of classes ``C`` >= 2 (the CLI sets it from the data).
        lr: learning rate.
        l2: weight of ``½‖w‖²``; ``b`` is not penalised.
        l1: weight of ``‖w‖₁``; ``b`` is not penalised.
        optimization: ``"automatic"`` or ``"manual"`` (zero the grads, backward, ``p -= lr * p.grad``).
        optimizer: a ``torch.optim`` optimizer name for the automatic twin.
        optimizer_kwargs: its further arguments.
        updates_per_step: full-batch updates per Lightning step of the manual twin.
        momentum: heavy-ball momentum β in [0, 1), torch's formulation (``v = β·v + g``,
            ``p -= lr·v``); 0 (default) is the notes' plain gradient descent; ``"auto"`` (with
            ``lr="auto"``): the best ``(lr, β)`` for this problem and start.
        nesterov: Nesterov's momentum (``p -= lr·(g + β·v)``); needs ``momentum > 0``.
        std_errors: the coefficient table's standard errors: ``"classical"`` (default, as
            ``MNLogit``) or the robust sandwich ``"HC0"`` (as ``MNLogit(cov_type="HC0")``).

    Example:
        >>> model = SoftmaxRegression(in_features=4, num_classes=3)
        >>> model.w.shape, model.b.tolist()
        (torch.Size([4, 3]), [0.0, 0.0, 0.0])
        >>> out = model.predict(torch.zeros(2, 4))
        >>> out["probability"], out["label"].flatten().tolist()
        (tensor([[0.3333, 0.3333, 0.3333],
                [0.3333, 0.3333, 0.3333]]), [0, 0])
    """

    data_loss: ClassVar[DataLoss] = "softmax"
    update_metric_kinds: ClassVar[dict[str, MetricKind]] = {"loss": "mean", "acc": "count"}
    #: statsmodels' MNLogit has the sandwich HC0 (no small-sample correction of a likelihood's).
    robust_std_errors: ClassVar[tuple[str, ...]] = ("HC0",)

    def __init__(
        self,
        in_features: int = 4,
        num_classes: int = 3,
        lr: float | Literal["auto"] = 0.1,
        l2: float = 0.0,
        l1: float = 0.0,
        optimization: Optimization = "automatic",
        optimizer: str = "SGD",
        optimizer_kwargs: dict[str, Any] | None = None,
        updates_per_step: int = DEFAULT_UPDATES_PER_STEP,
        momentum: float | Literal["auto"] = 0.0,
        nesterov: bool = False,
        std_errors: StdErrors = "classical",
    ) -> None:
        check_positive_int("in_features", in_features)
        if num_classes is None:
            raise ArgumentError(
                "num_classes",
                "must be an integer >= 2, got None: the data has no class labels "
                "(ArrayDataModule reads them with its num_classes argument)",
            )
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ArgumentError("num_classes", f"must be an integer >= 2, got {num_classes!r}")
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
        self.num_classes = num_classes
        self.w = nn.Parameter(torch.randn(in_features, num_classes))
        self.b = nn.Parameter(torch.zeros(num_classes))
        self.val_acc = MulticlassAccuracy(num_classes, average="micro")
        self.test_acc = MulticlassAccuracy(num_classes, average="micro")

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logits ``x @ w + b``: ``(N, in_features) -> (N, num_classes)``."""
        return x @ self.w + self.b

    @override
    def loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of the softmax of ``output`` against the labels ``y`` (``(N, 1)``)."""
        return F.cross_entropy(output, y.reshape(-1).long())

    @override
    def update_metrics(self, output: torch.Tensor, y: torch.Tensor, loss: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": loss.detach(), "acc": torch.eq(output.detach().argmax(dim=1), y.reshape(-1)).sum()}

    @override
    def update_eval_metrics(self, stage: str, output: torch.Tensor, y: torch.Tensor) -> None:
        getattr(self, f"{stage}_acc").update(output.argmax(dim=1), y.reshape(-1).long())

    @override
    def log_eval_metrics(self, stage: str) -> None:
        metric = getattr(self, f"{stage}_acc")
        self.log(f"{stage}/acc", metric.compute(), prog_bar=True)
        metric.reset()

    @override
    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"probability": softmax(logits) (N, C), "label": the most probable class (N, 1)}``."""
        logits = self(x)
        return {"probability": torch.softmax(logits, dim=1), "label": logits.argmax(dim=1, keepdim=True)}
