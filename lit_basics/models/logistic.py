"""Logistic regression on the exam-score data (Logistic 回归)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import BinaryAccuracy
from typing_extensions import override

from lit_basics.models.base import (
    DEFAULT_UPDATES_PER_STEP,
    GradientDescentModule,
    MetricKind,
    Optimization,
    StdErrors,
)
from lit_basics.reference import DataLoss
from lit_basics.validation import check_choice, check_positive_int

__all__ = ["LogisticRegression", "notes_binary_loss", "predicted_labels"]


def notes_binary_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The notes' ``binary_loss``: sigmoid, then ``-mean(y log p + (1 - y) log(1 - p))`` with both
    probabilities clamped below at 1e-12 so a saturated sigmoid gives a large loss, not ``inf``."""
    p = torch.sigmoid(logits)
    return -(y * p.clamp(1e-12).log() + (1 - y) * (1 - p).clamp(1e-12).log()).mean()


def predicted_labels(logits: torch.Tensor) -> torch.Tensor:
    """Class 1 where ``logit >= 0`` (that is ``p >= 0.5``). The notes' BCE section thresholds the
    logits at 0.5 (``y_pred.ge(0.5)`` on ``torch.mm(x, w) + b``), which is ``p >= 0.62``: a bug."""
    return (logits >= 0).to(torch.int64)


class LogisticRegression(GradientDescentModule):
    """``logit = x @ w + b``, ``p = sigmoid(logit)``, binary cross-entropy loss.

    ``forward`` returns the logits ``(N, 1)``; ``w`` is ``(in_features, 1)``, ``b`` ``(1,)``; the
    targets ``y`` are 0/1, ``(N, 1)``.

    Args:
        in_features: number of input features (the notes: 2; the CLI sets it from the data).
        lr: learning rate (the notes: 1.0).
        loss: ``"bce_with_logits"`` (fused and numerically stable, the notes' second version) or
            ``"notes"`` (the notes' own sigmoid-then-clamped-log loss). Mathematically equal while
            the clamp is inactive.
        optimization: ``"automatic"`` or ``"manual"``.
        optimizer: a ``torch.optim`` optimizer name for the automatic twin.
        optimizer_kwargs: its further arguments.
        l2: weight of ``½‖w‖²`` (sklearn's ``LogisticRegression(C=1 / (l2 · N))``); ``b`` is not penalised.
        l1: weight of ``‖w‖₁``; ``b`` is not penalised.
        updates_per_step: full-batch updates per Lightning step of the manual twin.
        momentum: heavy-ball momentum β in [0, 1), torch's formulation (``v = β·v + g``,
            ``p -= lr·v``); 0 (default) is the notes' plain gradient descent; ``"auto"`` (with
            ``lr="auto"``): the best ``(lr, β)`` for this problem and start.
        nesterov: Nesterov's momentum (``p -= lr·(g + β·v)``); needs ``momentum > 0``.
        std_errors: the coefficient table's standard errors: ``"classical"`` (default, as ``glm``)
            or the robust sandwich ``"HC0"`` (as statsmodels' ``Logit(cov_type="HC0")`` and R's
            ``sandwich::vcovHC(type="HC0")``).

    Example:
        >>> model = LogisticRegression()
        >>> with torch.no_grad():
        ...     _ = model.w.zero_()
        >>> model.predict(torch.zeros(1, 2))
        {'probability': tensor([[0.5000]]), 'label': tensor([[1]])}
    """

    data_loss: ClassVar[DataLoss] = "logistic"
    update_metric_kinds: ClassVar[dict[str, MetricKind]] = {"loss": "mean", "acc": "count"}
    #: statsmodels' Logit has the sandwich HC0 (no small-sample correction of a likelihood's).
    robust_std_errors: ClassVar[tuple[str, ...]] = ("HC0",)

    def __init__(
        self,
        in_features: int = 2,
        lr: float | Literal["auto"] = 1.0,
        loss: Literal["bce_with_logits", "notes"] = "bce_with_logits",
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
        check_choice("loss", loss, ("bce_with_logits", "notes"))
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
        self.loss_name = loss
        # The notes: w = nn.Parameter(torch.randn(2, 1)); b = nn.Parameter(torch.zeros(1))
        self.w = nn.Parameter(torch.randn(in_features, 1))
        self.b = nn.Parameter(torch.zeros(1))
        self.val_acc = BinaryAccuracy()
        self.test_acc = BinaryAccuracy()

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logits ``x @ w + b``: ``(N, in_features) -> (N, 1)`` (the notes: ``torch.mm(x, w) + b``)."""
        return x @ self.w + self.b

    @override
    def loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # Class labels of a table with class names are int64 0/1: as the output's dtype (no copy
        # when the targets are already floats).
        y = y.to(output.dtype)
        if self.loss_name == "notes":
            return notes_binary_loss(output, y)
        return F.binary_cross_entropy_with_logits(output, y)

    @override
    def update_metrics(self, output: torch.Tensor, y: torch.Tensor, loss: torch.Tensor) -> dict[str, torch.Tensor]:
        # The number of correct predictions of this update (before it); divided by the number of
        # samples on the host, so 63 of 100 is logged as 0.63, as the notes print it.
        return {"loss": loss.detach(), "acc": torch.eq(output.detach() >= 0, y).sum()}

    @override
    def update_eval_metrics(self, stage: str, output: torch.Tensor, y: torch.Tensor) -> None:
        # Integer labels: torchmetrics would otherwise apply its own threshold to float inputs.
        getattr(self, f"{stage}_acc").update(predicted_labels(output), y.to(torch.int64))

    @override
    def log_eval_metrics(self, stage: str) -> None:
        metric = getattr(self, f"{stage}_acc")
        self.log(f"{stage}/acc", metric.compute(), prog_bar=True)
        metric.reset()

    @override
    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"probability": sigmoid(logit), "label": 1 where logit >= 0}``, each ``(N, 1)``."""
        logits = self(x)
        return {"probability": torch.sigmoid(logits), "label": predicted_labels(logits)}
