"""The shared base of the model families: the training objective, both twins' ``training_step``,
evaluation and prediction.

A family file defines the notes' model: its parameters ``w`` and ``b``, ``forward`` and the data
loss. This base adds what every family shares: the optional penalties, the automatic twin (Lightning
calls backward and the optimizer) and the manual twin (the notes' loop, written out), per-update
metrics for the callbacks that watch training, and the DDP weighting that makes several processes
compute the full-batch gradient. Watching (logging, divergence stop, figures) lives in
:mod:`lit_basics.callbacks`; a model trains with the notes' numbers without any of them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal

import lightning.pytorch as pl
import torch
from torchmetrics import MeanMetric
from typing_extensions import Self, override

from lit_basics.checkpoints import ALLOWED_CLASS_PATHS, check_checkpoint, is_plain
from lit_basics.coefficients import CoefficientTable, FitAnswer, data_fit_answer, fit_answer
from lit_basics.data.loader import FullBatch
from lit_basics.data.shards import RowShards, input_extremes, row_shards
from lit_basics.errors import ArgumentError
from lit_basics.fit_statistics import Glance
from lit_basics.models.sgd import NotesSGD
from lit_basics.reference import DataLoss, Objective, Optimum, optimum
from lit_basics.validation import check_choice, check_nonnegative_float, check_positive_float, check_positive_int

__all__ = ["Batch", "GradientDescentModule", "MetricKind", "Optimization", "StdErrors"]

Optimization = Literal["automatic", "manual"]
#: The coefficient table's standard errors (:data:`lit_basics.coefficients.STD_ERRORS`).
StdErrors = Literal["classical", "HC0", "HC1", "HC2", "HC3"]
Batch = tuple[torch.Tensor, torch.Tensor]
#: How a per-update metric combines over samples: ``"mean"`` is a batch mean (a loss), ``"count"``
#: a batch total (correct predictions). Either way it is logged as a mean over all samples.
MetricKind = Literal["mean", "count"]


#: The manual twin's default updates per Lightning step, chosen by measurement (the notes' logistic
#: regression, one thread, no logger, slope between 500 and 2500 updates, medians of 3 interleaved
#: rounds, per update against the raw notes loop): k=1 2.09×, 3 1.41×, 10 1.31×, 30 0.91×,
#: 100 0.97×, 300 1.11×, 1000 0.90×. From about 30 on, Lightning's per-step cost is lost in the
#: noise; 100 keeps a Ctrl-C, a progress-bar redraw and a divergence check within 100 updates.
DEFAULT_UPDATES_PER_STEP = 100


class GradientDescentModule(pl.LightningModule):
    """A model ``ŷ = f(x; w, b)`` trained by (full-batch) gradient descent on

        ``objective = data loss(ŷ, y) + l2/2 · ‖w‖² + l1 · ‖w‖₁``

    The bias ``b`` is not penalised. ``l2`` is torch's ``weight_decay`` of SGD on ``w`` (the
    gradient gains ``l2 · w``) and sklearn's ``1 / (C · N)`` for its ``C``-weighted sum of losses;
    with ``l1 = l2 = 0`` (the defaults) the objective is the notes' loss, computed by the same
    operations.

    Args:
        lr: learning rate, finite and > 0.
        optimization: ``"automatic"`` (Lightning calls backward and the optimizer) or ``"manual"``
            (the notes' loop in ``training_step``: zero the grads, backward, ``p -= lr * p.grad``).
        optimizer: name of a ``torch.optim`` optimizer for the automatic twin (default ``"SGD"``,
            the notes' gradient descent). The manual twin is gradient descent by definition.
        optimizer_kwargs: further keyword arguments of that optimizer (plain values), e.g.
            ``{"momentum": 0.9}``; checked against the optimizer when the model is built.
        l2: weight of ``½‖w‖²``, finite and >= 0.
        l1: weight of ``‖w‖₁``, finite and >= 0 (its gradient is ``l1 · sign(w)``).
        momentum: heavy-ball momentum β in [0, 1) (torch's formulation: ``v = β·v + g``,
            ``p -= lr·v``); both twins (``torch.optim.SGD`` / :class:`NotesSGD`).
        nesterov: Nesterov's momentum (``p -= lr·(g + β·v)``), with ``momentum > 0``.
        updates_per_step: manual twin only: the full-batch updates taken in one Lightning step
            (never past ``max_steps``). The whole loop of the notes then runs inside a few steps,
            each update still counted by Lightning. A mini-batch or a shuffled batch gets one
            update; the automatic twin always takes one (Lightning steps its optimizer).
            1 is one update per step, as before; the default is :data:`DEFAULT_UPDATES_PER_STEP`.
        std_errors: the coefficient table's standard errors: ``"classical"`` (R's and
            statsmodels' default) or White's robust ones (:attr:`robust_std_errors` says which a
            family has: least squares ``HC0``-``HC3``, logistic and softmax ``HC0``).
    """

    #: The data loss, for the exact optimum (:mod:`lit_basics.reference`).
    data_loss: ClassVar[DataLoss] = "squared_error"
    #: The per-update metrics :meth:`update_metrics` returns, and how each combines over samples.
    update_metric_kinds: ClassVar[dict[str, MetricKind]] = {"loss": "mean"}
    #: The robust standard errors this family's table has (statsmodels': OLS all four, Logit and MNLogit HC0).
    robust_std_errors: ClassVar[tuple[str, ...]] = ("HC0", "HC1", "HC2", "HC3")

    w: torch.nn.Parameter
    b: torch.nn.Parameter

    def __init__(
        self,
        *,
        lr: float | Literal["auto"],
        optimization: Optimization,
        optimizer: str,
        optimizer_kwargs: dict[str, Any] | None,
        l2: float = 0.0,
        l1: float = 0.0,
        updates_per_step: int = DEFAULT_UPDATES_PER_STEP,
        momentum: float | Literal["auto"] = 0.0,
        nesterov: bool = False,
        std_errors: StdErrors = "classical",
    ) -> None:
        super().__init__()
        # Everything is checked before a family draws w: a rejected model consumes no random numbers.
        self.auto_lr, self.auto_momentum = lr == "auto", momentum == "auto"
        if self.auto_momentum and not self.auto_lr:
            raise ArgumentError("momentum", "'auto' needs lr='auto' too: the best β goes with its own step")
        if self.auto_lr and optimizer != "SGD":
            raise ArgumentError("lr", f"'auto' is a step of gradient descent (optimizer SGD), not of {optimizer}")
        # Until AutomaticStep sets it from the data (at the start of a fit), an automatic lr is 1.
        self.lr = 1.0 if self.auto_lr else check_positive_float("lr", lr)
        momentum = 0.0 if self.auto_momentum else momentum
        self.l2 = check_nonnegative_float("l2", l2)
        self.l1 = check_nonnegative_float("l1", l1)
        self.updates_per_step = check_positive_int("updates_per_step", updates_per_step)
        if std_errors in ("HC1", "HC2", "HC3") and std_errors not in self.robust_std_errors:
            raise ArgumentError(
                "std_errors",
                f"{std_errors!r} corrects least squares' residuals; {type(self).__name__} has 'classical' or 'HC0' "
                "(the sandwich of the likelihood's scores, as statsmodels' Logit and MNLogit and R's vcovHC)",
            )
        self.std_errors = check_choice("std_errors", std_errors, ("classical", *self.robust_std_errors))
        self.optimization = check_choice("optimization", optimization, ("automatic", "manual"))
        self.automatic_optimization = optimization == "automatic"
        self.momentum, self.nesterov = _checked_momentum(
            momentum, nesterov, optimizer, optimizer_kwargs, auto=self.auto_momentum
        )
        self.optimizer_class, self.optimizer_kwargs = _checked_optimizer(
            optimizer, optimizer_kwargs, self.lr, optimization
        )
        if optimizer == "SGD" and not self.momentum and self.optimizer_kwargs.get("momentum"):
            # SGD's momentum given through optimizer_kwargs (checked by torch above): the same β.
            self.momentum = float(self.optimizer_kwargs["momentum"])
            self.nesterov = bool(self.optimizer_kwargs.get("nesterov", False))
        if self.momentum:  # torch.optim.SGD's own arguments (the manual twin's NotesSGD takes the same)
            self.optimizer_kwargs = {**self.optimizer_kwargs, "momentum": self.momentum, "nesterov": self.nesterov}
        self.val_loss = MeanMetric()
        self.test_loss = MeanMetric()
        self._epoch_start = 0  # global_step when the current epoch began

    def use_step(self, lr: float, momentum: float) -> None:
        """Set the learning rate and momentum β (what ``lr="auto"``/``momentum="auto"`` resolve to,
        :class:`~lit_basics.callbacks.AutomaticStep`); the hyperparameters, and so checkpoints and
        the logged hparams, get the numbers, not ``"auto"``."""
        self.lr = check_positive_float("lr", lr)
        self.momentum = float(momentum)
        self.auto_lr = self.auto_momentum = False
        if self.momentum:
            self.optimizer_kwargs = {**self.optimizer_kwargs, "momentum": self.momentum, "nesterov": self.nesterov}
        for hparams in (self.hparams, getattr(self, "_hparams_initial", None)):
            if hparams is not None:
                hparams["lr"], hparams["momentum"] = self.lr, self.momentum

    @override
    def setup(self, stage: str) -> None:
        if stage != "fit":
            return
        datamodule = getattr(self.trainer, "datamodule", None)
        training_rows = getattr(datamodule, "training_rows", None)
        if training_rows is not None and type(self).learn_input_map is not GradientDescentModule.learn_input_map:
            self.learn_input_map(input_extremes(training_rows()[0], row_shards(datamodule)))
        if self.auto_lr:  # the callbacks' setup ran first: AutomaticStep would have resolved it
            raise ArgumentError(
                "lr",
                "'auto' is resolved at the start of a fit by the AutomaticStep callback: add "
                "lit_basics.callbacks.AutomaticStep() to the Trainer's callbacks (lit-basics always has it)",
            )

    @classmethod
    def load_from_checkpoint(  # type: ignore[override]
        cls,
        checkpoint_path: str | Path,
        map_location: Any = None,
        hparams_file: str | Path | None = None,
        strict: bool | None = None,
        weights_only: bool | None = True,
        **kwargs: Any,
    ) -> Self:
        """``LightningModule.load_from_checkpoint``, after :func:`~lit_basics.checkpoints.check_checkpoint`
        has refused anything that could run code, and with ``weights_only=True``."""
        check_checkpoint(checkpoint_path)
        if not weights_only:
            raise ArgumentError("weights_only", "must be True: lit_basics checkpoints hold plain values only")
        return super().load_from_checkpoint(
            checkpoint_path, map_location, hparams_file, strict, weights_only=True, **kwargs
        )

    @override
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # The class, by its public name, so that `lit-basics test/predict --ckpt_path` rebuilds the
        # model the weights belong to (LightningCLI reads `_class_path`; check_checkpoint allows
        # only lit_basics' own models there).
        name = type(self).__name__
        if f"lit_basics.models.{name}" in ALLOWED_CLASS_PATHS and "hyper_parameters" in checkpoint:
            checkpoint["hyper_parameters"]["_class_path"] = f"lit_basics.models.{name}"

    def learn_input_map(self, x: torch.Tensor) -> None:
        """Learn from the training inputs ``x`` what the features need before the first update
        (:class:`~lit_basics.models.PolynomialRegression` with ``basis="legendre"``: the map of
        ``x`` onto ``[-1, 1]``). Called at the start of a fit (``setup``, and by the CLI before
        the diagnosis); what was learned or loaded before is kept. Default: nothing to learn."""

    # --- the maths a family defines ---------------------------------------------------------
    def loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The data loss of ``output = forward(x)`` against the targets ``y`` (a scalar)."""
        raise NotImplementedError

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """What multiplies ``w``: ``(N, in_features) -> (N, K)``. Default: ``x`` itself."""
        return x

    def update_metrics(self, output: torch.Tensor, y: torch.Tensor, loss: torch.Tensor) -> dict[str, torch.Tensor]:
        """One update's metrics as 0-d tensors, named as in :attr:`update_metric_kinds`.

        ``loss`` is the objective the update was computed from (the parameters before it).
        """
        return {"loss": loss.detach()}

    # --- the objective ----------------------------------------------------------------------
    def penalty(self) -> torch.Tensor:
        """``l2/2 · ‖w‖² + l1 · ‖w‖₁`` (zero when both weights are)."""
        penalty = torch.zeros((), device=self.w.device, dtype=self.w.dtype)
        if self.l2:
            penalty = penalty + 0.5 * self.l2 * self.w.pow(2).sum()
        if self.l1:
            penalty = penalty + self.l1 * self.w.abs().sum()
        return penalty

    def objective(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The training objective: the data loss plus the penalties (exactly the data loss when
        ``l1 = l2 = 0``, so the notes' numbers are unchanged)."""
        loss = self.loss(output, y)
        if self.l2 or self.l1:
            loss = loss + self.penalty()
        return loss

    def reference_objective(self, x: torch.Tensor, y: torch.Tensor, shards: RowShards | None = None) -> Objective:
        """This model's training objective on ``(x, y)`` in float64 (:class:`~lit_basics.reference.Objective`);
        with ``shards``, ``(x, y)`` is this process's shard of the rows and the objective all of them."""
        with torch.no_grad():
            features = self.features(x)
        return Objective(
            self.data_loss, features, y, l2=self.l2, l1=self.l1, num_classes=int(self.b.numel()), shards=shards
        )

    def optimum(self, x: torch.Tensor, y: torch.Tensor) -> Optimum:
        """The ``w``, ``b`` that minimise the training objective on ``(x, y)``, and its value (float64).

        Raises:
            ValueError: there is no finite optimum (e.g. separable classes and ``l2 = 0``).
        """
        return optimum(self.reference_objective(x, y))

    def coefficients(
        self,
        datamodule: Any = None,
        *,
        x: torch.Tensor | None = None,
        y: torch.Tensor | None = None,
        confidence: float = 0.95,
    ) -> CoefficientTable:
        """Every coefficient with its standard error, statistic, p-value and confidence interval,
        in the units of the data's columns, beside the exact optimum's value
        (:func:`~lit_basics.coefficients.coefficient_table`): the table a fit writes as
        ``coefficients.csv``.

        Args:
            datamodule: an :class:`~lit_basics.data.InMemoryDataModule` (its training rows, column
                names, scaling and class names); default the trainer's, after a fit.
            x: instead of a data module: the training inputs as the model sees them, ``(N, F)``.
            y: with ``x``: the targets, ``(N, 1)``.
            confidence: of the intervals (default 95 %).

        Example:
            >>> from lit_basics.data import LinearDataModule
            >>> from lit_basics.models import LinearRegression
            >>> dm = LinearDataModule()
            >>> model = LinearRegression()
            >>> best = model.optimum(dm.x, dm.y)
            >>> with torch.no_grad():
            ...     _ = model.w.copy_(best.w), model.b.copy_(best.b)
            >>> table = model.coefficients(dm)
            >>> table.column("term"), [round(v, 4) for v in table.column("estimate")]
            (['(intercept)', 'x0'], [0.7477, 0.26])
        """
        return self._answer(datamodule, x, y, confidence).table

    def glance(self, datamodule: Any = None, *, x: torch.Tensor | None = None, y: torch.Tensor | None = None) -> Glance:
        """The fit's statistics, one row, as R's ``summary()`` prints them under the coefficients
        and broom's ``glance()`` names them (:mod:`lit_basics.fit_statistics`): least squares
        ``r_squared``, ``adj_r_squared``, ``sigma``, the F test, ...; logistic and softmax the
        deviances, ``aic``, ``bic``, McFadden's pseudo-R² and the likelihood-ratio test. What a
        fit writes as ``glance.csv``; arguments as :meth:`coefficients`'.

        Example:
            >>> from lit_basics.data import LinearDataModule
            >>> from lit_basics.models import LinearRegression
            >>> dm = LinearDataModule()
            >>> model = LinearRegression()
            >>> best = model.optimum(dm.x, dm.y)
            >>> with torch.no_grad():
            ...     _ = model.w.copy_(best.w), model.b.copy_(best.b)
            >>> glance = model.glance(dm)
            >>> round(glance["r_squared"], 4), int(glance["df_residual"]), int(glance["nobs"])
            (0.6894, 13, 15)
        """
        return self._answer(datamodule, x, y, 0.95).glance

    def _answer(self, datamodule: Any, x: torch.Tensor | None, y: torch.Tensor | None, confidence: float) -> FitAnswer:
        if x is not None or y is not None:
            if x is None or y is None:
                raise ArgumentError("x" if x is None else "y", "is needed too: give both x and y, or a datamodule")
            return fit_answer(self, x, y, confidence=confidence)
        if datamodule is None:
            datamodule = getattr(self._trainer, "datamodule", None) if self._trainer is not None else None
        if datamodule is None or not hasattr(datamodule, "training_rows"):
            raise ArgumentError("datamodule", "is needed: the data the model was trained on (or give x and y)")
        return data_fit_answer(self, datamodule, confidence=confidence)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Predictions for ``x`` (no gradients); regressions return ``{"y_hat": (N, 1)}``."""
        return {"y_hat": self(x)}

    # --- training ---------------------------------------------------------------------------
    @override
    def training_step(self, batch: Batch, batch_idx: int) -> dict[str, Any]:
        """One update (automatic twin), or the notes' loop of up to ``updates_per_step`` (manual twin).

        Returns ``{"updates": [update_metrics(...), ...]}``, one entry per update in order, for the
        callbacks that watch training (and ``"loss"`` for Lightning's backward, automatic twin).
        """
        x, y = batch
        share = self.share_of_global_batch(x.shape[0])
        if self.automatic_optimization:
            # Lightning zeroes the grads, calls backward and optimizer.step() around this.
            output = self(x)
            loss = self.objective(output, y)
            return {"loss": loss if share is None else loss * share, "updates": [self.update_metrics(output, y, loss)]}

        # The notes' loop, by hand: every update is counted by Lightning through self.optimizers().
        optimizer = self.optimizers()
        assert not isinstance(optimizer, list)
        updates = []
        for _ in range(self.updates_in_step(batch)):
            output = self(x)  # y_ = linear_model(x_train)
            loss = self.objective(output, y)  # loss = get_loss(y_, y_train)
            optimizer.zero_grad()  # w.grad.zero_(); b.grad.zero_()
            self.manual_backward(loss if share is None else loss * share)  # loss.backward(), all-reduced under DDP
            optimizer.step()  # w.data = w.data - lr * w.grad.data (NotesSGD)
            updates.append(self.update_metrics(output, y, loss))
        return {"updates": updates}

    def updates_in_step(self, batch: Any) -> int:
        """How many updates the manual twin takes on ``batch``: ``updates_per_step`` on a
        :class:`~lit_basics.data.FullBatch`, else one; never past ``max_steps``, nor past the end
        of the epoch (an epoch of full batches is still one update per pass of the data)."""
        if not isinstance(batch, FullBatch) or self.updates_per_step == 1:
            return 1
        passes_left = self.trainer.num_training_batches - (self.global_step - self._epoch_start)
        steps_left = self.trainer.max_steps - self.global_step if self.trainer.max_steps >= 0 else passes_left
        return int(max(1, min(self.updates_per_step, passes_left, steps_left)))

    @override
    def on_train_epoch_start(self) -> None:
        self._epoch_start = self.global_step

    @override
    def on_train_batch_start(self, batch: Any, batch_idx: int) -> int | None:
        # The manual twin took several passes' updates in earlier steps of this epoch: when they
        # add up to the epoch's passes, -1 tells Lightning to end the epoch here.
        if self.updates_per_step == 1 or self.automatic_optimization:
            return None
        if self.global_step - self._epoch_start >= self.trainer.num_training_batches:
            return -1
        return None

    def share_of_global_batch(self, local_size: int) -> torch.Tensor | None:
        """``world_size · n_local / n_global`` under DDP, ``None`` in one process.

        DDP averages the processes' gradients with equal weights, but shards differ in size (15
        rows on 2 processes are 7 + 8). Scaling each process's mean loss by its share makes the
        average of the gradients exactly the gradient of the mean over all samples, as in one
        process. One small all-reduce per step.
        """
        world_size = self.trainer.world_size
        if world_size == 1:
            return None
        count = torch.tensor(float(local_size), device=self.device)
        total = self.trainer.strategy.reduce(count.clone(), reduce_op="sum")  # reduces in place: a copy
        return count * world_size / total

    @override
    def configure_optimizers(self) -> torch.optim.Optimizer:
        if self.automatic_optimization:
            return self.optimizer_class(self.parameters(), lr=self.lr, **self.optimizer_kwargs)
        return NotesSGD(self.parameters(), lr=self.lr, momentum=self.momentum, nesterov=self.nesterov)

    # --- evaluation -------------------------------------------------------------------------
    @override
    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._shared_eval_step(batch, "val")

    @override
    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._shared_eval_step(batch, "test")

    def _shared_eval_step(self, batch: Batch, stage: str) -> None:
        x, y = batch
        output = self(x)
        getattr(self, f"{stage}_loss").update(self.loss(output, y), weight=x.shape[0])
        self.update_eval_metrics(stage, output, y)

    def update_eval_metrics(self, stage: str, output: torch.Tensor, y: torch.Tensor) -> None:
        """Update a family's own evaluation metrics (e.g. accuracy) for ``stage``; default: none."""

    def log_eval_metrics(self, stage: str) -> None:
        """Log and reset a family's own evaluation metrics at the end of ``stage``; default: none."""

    @override
    def on_validation_epoch_end(self) -> None:
        self._log_eval("val")

    @override
    def on_test_epoch_end(self) -> None:
        self._log_eval("test")

    def _log_eval(self, stage: str) -> None:
        metric = getattr(self, f"{stage}_loss")
        self.log(f"{stage}/loss", metric.compute(), prog_bar=True)
        metric.reset()
        self.log_eval_metrics(stage)

    @override
    def predict_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, torch.Tensor]:
        return self.predict(batch[0])


def _checked_momentum(
    momentum: Any, nesterov: Any, optimizer: Any, kwargs: dict[str, Any] | None, *, auto: bool = False
) -> tuple[float, bool]:
    """``(β, nesterov)`` checked: 0 <= β < 1, Nesterov only with β > 0, SGD only, and not given
    twice (``optimizer_kwargs`` too)."""
    beta = check_nonnegative_float("momentum", momentum)
    if beta >= 1.0:
        raise ArgumentError("momentum", f"must be in [0, 1) (the velocity would grow without bound), got {momentum!r}")
    if not isinstance(nesterov, bool):
        raise ArgumentError("nesterov", f"must be true or false, got {nesterov!r}")
    if nesterov and beta == 0 and not auto:
        raise ArgumentError("nesterov", "needs momentum > 0 (Nesterov's update looks ahead along the velocity)")
    given_twice = sorted(set(kwargs or {}) & {"momentum", "nesterov"})
    if (beta or nesterov) and given_twice:
        raise ArgumentError(
            "momentum",
            f"is given twice: as momentum={beta:g}/nesterov={nesterov} and in optimizer_kwargs "
            f"({', '.join(given_twice)}): give it once, as momentum (and nesterov)",
        )
    if beta and str(optimizer) != "SGD":
        raise ArgumentError("momentum", f"is SGD's; {optimizer} has its own (e.g. Adam's betas in optimizer_kwargs)")
    return beta, bool(nesterov)


def _checked_optimizer(
    name: Any, kwargs: dict[str, Any] | None, lr: float, optimization: str
) -> tuple[Callable[..., torch.optim.Optimizer], dict[str, Any]]:
    """The ``torch.optim`` class called ``name`` and its keyword arguments, checked by building it
    once on a dummy parameter (so a bad value is reported now, naming the argument)."""
    optimizer_class = getattr(torch.optim, str(name), None)
    if not (isinstance(optimizer_class, type) and issubclass(optimizer_class, torch.optim.Optimizer)):
        raise ArgumentError("optimizer", f"must name a torch.optim optimizer such as 'SGD' or 'Adam', got {name!r}")
    kwargs = dict(kwargs or {})
    if optimization == "manual" and (name != "SGD" or kwargs):
        raise ArgumentError(
            "optimizer",
            f"must be 'SGD' without optimizer_kwargs for the manual twin, which does gradient descent by hand "
            f"(p -= lr * p.grad; momentum and nesterov are the model's own arguments); got {name!r} with {kwargs}: "
            "use optimization='automatic' for other optimizers",
        )
    if not is_plain(kwargs):
        raise ArgumentError("optimizer_kwargs", f"must hold plain values (numbers, strings, lists), got {kwargs!r}")
    if "lr" in kwargs:
        raise ArgumentError("optimizer_kwargs", "must not set lr: the model's lr is the learning rate")
    factory: Callable[..., torch.optim.Optimizer] = optimizer_class
    try:
        factory([torch.zeros(1, requires_grad=True)], lr=lr, **kwargs)
    except (TypeError, ValueError, RuntimeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArgumentError("optimizer_kwargs", f"{kwargs} are not accepted by torch.optim.{name}: {reason}") from None
    return factory, kwargs
