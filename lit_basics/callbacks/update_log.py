"""``UpdateLog``: every update's training metrics in TensorBoard (or any Lightning logger)."""

from __future__ import annotations

import math
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_warn
from typing_extensions import override

from lit_basics.callbacks.run_info import logging_interval, training_data
from lit_basics.callbacks.trace import Rows, UpdateTrace, write_rows
from lit_basics.diagnostics import diagnose_fit
from lit_basics.errors import DivergenceError
from lit_basics.models.base import GradientDescentModule

__all__ = ["UpdateLog", "updates_of"]


def updates_of(outputs: Any) -> list[dict[str, torch.Tensor]]:
    """The per-update metrics a lit_basics ``training_step`` returned (``[]`` for other modules)."""
    return list(outputs.get("updates", [])) if isinstance(outputs, dict) else []


class UpdateLog(Callback):
    """One point per update for ``train/loss`` (the training objective), ``train/acc``
    (classifiers) and ``train/loss_gap`` (the loss minus its exact optimum, full-batch fits).

    The x-axis is the number of updates done: ``train/loss`` at step ``s`` is the loss of the
    parameters after ``s`` updates (the one update ``s + 1`` is computed from).

    ``self.log`` on every update costs more than the notes' whole update. This callback keeps each
    update's values as the 0-d tensors ``training_step`` returned, and every ``log_every_n_steps``
    updates (and at the end of each epoch and of training) turns them into numbers with one stack,
    one all-reduce under DDP and one host transfer, then writes one TensorBoard event per update.
    Only rank 0 writes. The log of a run that diverges ends at its last finite loss
    (:class:`~lit_basics.callbacks.DivergenceStop` then names the update).

    Args:
        loss_gap: log ``train/loss_gap``: the optimum is computed exactly at the start of the fit
            (:mod:`lit_basics.reference`). Full-batch training only (a mini-batch loss is not the
            objective).
        progress_bar: show the latest values in the progress bar (updated at the same cadence).

    The latest values are also put in ``trainer.callback_metrics`` (and the progress bar's) at that
    cadence and at the last batch of every epoch, progress bar or not, so that ``ModelCheckpoint``
    and ``EarlyStopping`` can monitor ``train/loss`` (``acc``, ``loss_gap``).
    """

    def __init__(self, loss_gap: bool = True, progress_bar: bool = True) -> None:
        self.loss_gap = bool(loss_gap)
        self.progress_bar = bool(progress_bar)
        self._trace: UpdateTrace | None = None
        self._optimal_loss: float | None = None
        self._diverged = False

    @override
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not isinstance(pl_module, GradientDescentModule):
            return
        kinds = pl_module.update_metric_kinds
        self._trace = UpdateTrace([f"train/{name}" for name in kinds], list(kinds.values()), logging_interval(trainer))
        self._optimal_loss = None
        self._diverged = False
        datamodule = training_data(trainer)
        if self.loss_gap and datamodule is not None and datamodule.full_batch:
            diagnosis, reason = diagnose_fit(trainer, pl_module, datamodule)
            if diagnosis is not None:
                self._optimal_loss = diagnosis.optimum.loss
            else:
                rank_zero_warn(f"train/loss_gap not logged: {reason}")

    @override
    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        updates = updates_of(outputs)
        if self._trace is None or not updates:
            return
        names = [name.removeprefix("train/") for name in self._trace.names]
        first = trainer.global_step - len(updates)
        weight = int(batch[0].shape[0])
        for offset, metrics in enumerate(updates):
            self._trace.record(first + offset, [metrics[name] for name in names], weight=weight)
        # On a count of updates (never on time: under DDP every process must flush together), and
        # at an epoch's last batch, where monitoring callbacks read the latest values.
        if self._trace.full or trainer.is_last_batch:
            self._flush(trainer, pl_module, publish=True)

    @override
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._flush(trainer, pl_module)

    @override
    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._flush(trainer, pl_module)
        self._trace = None

    @override
    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        # Keep the logs up to the failure. Under DDP only when every process stops together
        # (a divergence): a collective called by one process alone would hang.
        if self._trace is not None and (trainer.world_size == 1 or isinstance(exception, DivergenceError)):
            self._flush(trainer, pl_module)
        self._trace = None

    def _flush(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *, publish: bool = False) -> None:
        if self._trace is None or not len(self._trace):
            return
        reduce = None
        if trainer.world_size > 1:
            strategy = trainer.strategy

            def reduce(t: torch.Tensor) -> torch.Tensor:
                return strategy.reduce(t, reduce_op="sum")

        rows: Rows = self._trace.drain(reduce)
        bad = next((i for i, (_, m) in enumerate(rows) if not math.isfinite(m["train/loss"])), None)
        if self._diverged or bad is not None:
            rows = [] if self._diverged else rows[:bad]
            self._diverged = True
        if self._optimal_loss is not None:
            for _, metrics in rows:
                metrics["train/loss_gap"] = metrics["train/loss"] - self._optimal_loss
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                write_rows(logger, rows)
        if publish and rows:
            # The latest values, for callbacks that monitor them (and the progress bar). Put in
            # the trainer's dictionaries directly (public properties, mutated: reviewed, kept):
            # the public route, `pl_module.log`, makes Lightning recompute every logged metric at
            # the end of every later batch (~450 µs per update here), and no hook takes values.
            latest = rows[-1][1]
            trainer.callback_metrics.update({name: torch.tensor(value) for name, value in latest.items()})
            if self.progress_bar:
                trainer.progress_bar_metrics.update(latest)
