"""The shared base of the three model families: parameters ``w`` and ``b``, both optimizations,
per-update logging, validation/test/predict.

A family defines only ``features`` (what multiplies ``w``), ``loss`` and its defaults. The
automatic and the manual twin are the same class with ``optimization="automatic"`` or
``"manual"``; they differ only in ``training_step``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, NoReturn

import lightning.pytorch as pl
import torch
from torch import nn
from torchmetrics import MeanMetric
from typing_extensions import Self, override

from lit_basics.errors import DivergenceError
from lit_basics.models.trace import Reduction, UpdateTrace, write_rows
from lit_basics.reference import Optimum, least_squares_optimum

__all__ = [
    "GradientDescentModule",
    "StepCounter",
    "check_choice",
    "check_positive_int",
    "logging_interval",
    "run_directory",
]

Optimization = Literal["automatic", "manual"]
Batch = tuple[torch.Tensor, torch.Tensor]


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an int >= 1, else raise ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError`` naming ``name``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return str(value)


def run_directory(trainer: pl.Trainer) -> str | None:
    """The logger's run directory, read without a collective.

    ``trainer.log_dir`` broadcasts from rank 0 under DDP: called on one rank only, it deadlocks.
    """
    logger = trainer.logger
    log_dir = getattr(logger, "log_dir", None) if logger is not None else None
    return str(log_dir) if log_dir is not None else None


def logging_interval(trainer: pl.Trainer) -> int:
    """The trainer's ``log_every_n_steps`` (set by Lightning at construction; untyped there)."""
    return max(1, int(getattr(trainer, "log_every_n_steps", 50)))


class StepCounter(torch.optim.Optimizer):
    """An optimizer whose ``step`` changes nothing: the manual twin's bookkeeping.

    The manual twin updates the parameters by hand in ``training_step``. Lightning counts
    ``global_step`` (and so ``max_steps``, checkpoint cadence, logging steps) only for steps taken
    through ``self.optimizers()``; calling this optimizer's ``step`` after the hand update records the
    update without touching the parameters again.
    """

    def __init__(self, params: Any, lr: float) -> None:
        super().__init__(params, {"lr": lr})

    @override
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        return closure() if closure is not None else None


class GradientDescentModule(pl.LightningModule):
    """``ŷ = features(x) @ w + b`` trained by gradient descent on the full batch (by default).

    Shapes: ``x`` is ``(N, in_features)``, ``features(x)`` is ``(N, K)``, ``w`` is ``(K, 1)``, ``b`` is
    ``(1,)``, ``ŷ`` (or the logits) is ``(N, 1)``.

    ``w`` is drawn with ``torch.randn(K, 1)`` from the global RNG and ``b`` is zeros, exactly as the
    notes do; nothing else in construction draws random numbers, so ``torch.manual_seed(2017)``
    followed by construction gives the notes' initial weights.

    Args:
        num_weights: ``K``, the number of weights.
        lr: learning rate, finite and > 0.
        optimization: ``"automatic"`` (Lightning calls backward and the optimizer) or ``"manual"``
            (``training_step`` does the notes' update by hand: ``p -= lr * p.grad``).
        optimizer: name of a ``torch.optim`` optimizer for the automatic twin (default ``"SGD"``,
            the notes' plain gradient descent). The manual twin is plain gradient descent by
            definition and accepts only ``"SGD"``.
        optimizer_kwargs: further keyword arguments of that optimizer (plain values), e.g.
            ``{"momentum": 0.9}``.
    """

    #: Names of the per-update training metrics, in the order ``_train_metrics`` returns them.
    train_metric_names: tuple[str, ...] = ("loss",)
    #: How each combines over samples: ``"mean"`` (a batch mean) or ``"sum"`` (a batch count).
    train_metric_reductions: tuple[Reduction, ...] = ("mean",)

    def __init__(
        self,
        *,
        num_weights: int,
        lr: float,
        optimization: Optimization,
        optimizer: str,
        optimizer_kwargs: dict[str, Any] | None,
    ) -> None:
        super().__init__()
        # The family's own constructor arguments (its frame, one up), which are plain values.
        # LightningCLI adds `_instantiator`, an import path that load_from_checkpoint would import
        # and call: dropped, so a checkpoint names no function to run. (`_class_path`, the
        # model's class name, stays: `lit-basics ... --ckpt_path` reads it back.)
        caller = inspect.currentframe()
        self.save_hyperparameters(frame=caller.f_back if caller is not None else None)
        self.hparams.pop("_instantiator", None)
        # Validate before drawing w: a rejected configuration must not consume random numbers.
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        check_choice("optimization", optimization, ("automatic", "manual"))
        optimizer_kwargs = dict(optimizer_kwargs or {})
        optimizer_class = getattr(torch.optim, str(optimizer), None)
        if not (isinstance(optimizer_class, type) and issubclass(optimizer_class, torch.optim.Optimizer)):
            raise ValueError(f"optimizer must name a torch.optim optimizer such as 'SGD' or 'Adam', got {optimizer!r}")
        if optimization == "manual" and (optimizer != "SGD" or optimizer_kwargs):
            raise ValueError(
                f"optimizer={optimizer!r} with optimizer_kwargs={optimizer_kwargs}: the manual twin does plain "
                "gradient descent by hand (p -= lr * p.grad); use optimization='automatic' for other optimizers"
            )
        self.lr = float(lr)
        self.optimization = optimization
        self.automatic_optimization = optimization == "automatic"
        self._optimizer_class: Any = optimizer_class
        self._optimizer_kwargs = optimizer_kwargs
        self.w = nn.Parameter(torch.randn(num_weights, 1))
        self.b = nn.Parameter(torch.zeros(1))
        self.val_loss = MeanMetric()
        self.test_loss = MeanMetric()
        self._trace: UpdateTrace | None = None
        self._check_each_update = False
        self._world_size = 1
        #: The optimal training loss; when set (see ``NotesInspector``), each update's
        #: ``train/loss_gap = train/loss - optimal_loss`` is logged too.
        self.optimal_loss: float | None = None

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
        from lit_basics.checkpoints import check_checkpoint

        check_checkpoint(checkpoint_path)
        if not weights_only:
            raise ValueError("weights_only must be True: lit_basics checkpoints hold plain values only")
        return super().load_from_checkpoint(
            checkpoint_path, map_location, hparams_file, strict, weights_only=True, **kwargs
        )

    # --- what a family defines -------------------------------------------------------------
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The inputs that multiply ``w``: ``(N, in_features) -> (N, K)``. Default: ``x`` itself."""
        return x

    def loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The scalar loss of ``output = forward(x)`` against the target ``y``, both ``(N, 1)``."""
        raise NotImplementedError

    def _train_metrics(self, output: torch.Tensor, y: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        """Per-update metrics as 0-d tensors, in the order of ``train_metric_names``, each a batch
        mean or a batch total as ``train_metric_reductions`` says."""
        return [loss]

    def _eval_update(self, stage: str, output: torch.Tensor, y: torch.Tensor) -> None:
        """Update a family's own evaluation metrics (e.g. accuracy); default: none."""

    def _eval_log(self, stage: str) -> None:
        """Log a family's own evaluation metrics at epoch end; default: none."""

    # --- the model ------------------------------------------------------------------------
    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``features(x) @ w + b``: ``(N, in_features) -> (N, 1)``."""
        # mm, then add b: the notes' own order of operations (torch.mm(x, w) + b).
        return self.features(x) @ self.w + self.b

    def optimum(self, x: torch.Tensor, y: torch.Tensor) -> Optimum:
        """The best ``w``, ``b`` for this family on ``(x, y)`` and the loss there (float64).

        Regressions: least squares on ``features(x)``.
        """
        with torch.no_grad():
            return least_squares_optimum(self.features(x), y)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Predictions for ``x`` (no gradients); regressions return ``{"y_hat": (N, 1)}``."""
        return {"y_hat": self(x)}

    # --- training -------------------------------------------------------------------------
    @override
    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor | None:
        if self.automatic_optimization:
            # Lightning zeroes the grads, calls backward and optimizer.step() around this.
            return self._shared_step(batch, "train")

        # The notes' update, by hand.
        optimizer = self.optimizers()
        assert not isinstance(optimizer, list)
        loss = self._shared_step(batch, "train")
        optimizer.zero_grad()  # w.grad.zero_(); b.grad.zero_()
        self.manual_backward(loss)  # loss.backward(), and the gradient all-reduce under DDP
        params: list[torch.Tensor] = []
        grads: list[torch.Tensor] = []
        for p in self.parameters():
            if p.grad is not None:
                params.append(p)
                grads.append(p.grad)
        with torch.no_grad():
            # p -= lr * p.grad for every parameter, batched into two calls. The notes'
            # w.data - 1e-2 * w.grad.data rounds twice (the product, then the difference); so does
            # this, so the manual twin reproduces the notes' hand-written loops bit for bit.
            torch._foreach_sub_(params, torch._foreach_mul(grads, self.lr))
        optimizer.step()  # StepCounter: changes nothing, makes Lightning count this update
        return None

    def _shared_step(self, batch: Batch, stage: str) -> torch.Tensor:
        x, y = batch
        output = self(x)
        loss = self.loss(output, y)
        if stage == "train":
            if self._check_each_update and not bool(torch.isfinite(loss)):
                self._diverged(self.global_step, float(loss.detach()))
            if self._trace is not None:
                self._trace.record(self.global_step, self._train_metrics(output, y, loss), weight=x.shape[0])
            if self._world_size > 1:
                return loss * self._share_of_global_batch(x.shape[0])
        else:
            getattr(self, f"{stage}_loss").update(loss.detach(), weight=x.shape[0])
            self._eval_update(stage, output.detach(), y)
        return loss

    def _share_of_global_batch(self, local_size: int) -> torch.Tensor:
        """``world_size * n_local / n_global`` for this update's batch.

        DDP averages the ranks' gradients with equal weights; shards differ in size (15 rows on 2
        ranks are 7 + 8), so each rank's mean loss is scaled by its share: the average of the
        scaled gradients is then exactly the gradient of the mean over all samples, as in one
        process. One small all-reduce per update, under DDP only.
        """
        count = torch.tensor(float(local_size), device=self.device)
        # (reduce all-reduces in place: give it a copy)
        total = self.trainer.strategy.reduce(count.clone(), reduce_op="sum")
        return count * self._world_size / total

    @override
    def configure_optimizers(self) -> torch.optim.Optimizer:
        if self.automatic_optimization:
            return self._optimizer_class(self.parameters(), lr=self.lr, **self._optimizer_kwargs)
        return StepCounter(self.parameters(), lr=self.lr)

    # --- per-update logging ---------------------------------------------------------------
    def _diverged(self, step: int, loss: float) -> NoReturn:
        """Stop training: the loss of update ``step + 1`` is not finite."""
        log_dir = run_directory(self.trainer)
        logs = f"; the logs up to it are in {log_dir}" if log_dir is not None else ""
        raise DivergenceError(
            f"update {step + 1}: the loss is {loss} (not finite): training stopped, these weights were not "
            f"saved; try a smaller learning rate than model.init_args.lr={self.lr}{logs}"
        )

    @override
    def on_train_start(self) -> None:
        # A single CPU process checks every update (a free test there: no device to wait for).
        # Otherwise the check runs on the reduced values at each flush, the same on every rank,
        # and always before a checkpoint (the model's on_train_epoch_end flushes first).
        self._world_size = self.trainer.world_size
        self._check_each_update = self._world_size == 1 and self.device.type == "cpu"
        self._trace = UpdateTrace(
            [f"train/{name}" for name in self.train_metric_names],
            self.train_metric_reductions,
            capacity=logging_interval(self.trainer),
        )

    @override
    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        # Flush on a step count, never on wall time: under DDP every rank must reduce together.
        if self._trace is not None and self._trace.full:
            self._flush_trace(show_progress=True)

    @override
    def on_train_epoch_end(self) -> None:
        # Runs before ModelCheckpoint's epoch-end save: a diverged run stops here, unsaved.
        self._flush_trace(show_progress=False)

    @override
    def on_train_end(self) -> None:
        self._flush_trace(show_progress=False)
        self._trace = None

    def _flush_trace(self, *, show_progress: bool) -> None:
        if self._trace is None:
            return
        strategy = self.trainer.strategy
        reduce = None
        if self.trainer.world_size > 1:

            def reduce(t: torch.Tensor) -> torch.Tensor:
                return strategy.reduce(t, reduce_op="sum")

        rows = self._trace.drain(reduce)
        if not rows:
            return
        bad = next(((step, m["train/loss"]) for step, m in rows if not math.isfinite(m["train/loss"])), None)
        if bad is not None:
            self._write_rows([(step, m) for step, m in rows if step < bad[0]])
            self._diverged(*bad)
        self._write_rows(rows)
        if show_progress:
            # The latest values for the progress bar and for callbacks that monitor them. Straight
            # into the trainer's dictionaries: self.log costs ~0.5 ms a call, 10x a whole update.
            latest = rows[-1][1]
            self.trainer.progress_bar_metrics.update(latest)
            self.trainer.callback_metrics.update({k: torch.tensor(v) for k, v in latest.items()})

    def _write_rows(self, rows: list[tuple[int, dict[str, float]]]) -> None:
        if self.optimal_loss is not None:
            for _, metrics in rows:
                metrics["train/loss_gap"] = metrics["train/loss"] - self.optimal_loss
        if self.trainer.is_global_zero:
            for logger in self.loggers:
                write_rows(logger, rows)

    # --- evaluation -----------------------------------------------------------------------
    @override
    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._shared_step(batch, "val")

    @override
    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._shared_step(batch, "test")

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
        self._eval_log(stage)

    @override
    def predict_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, torch.Tensor]:
        return self.predict(batch[0])
