"""``DivergenceStop``: end a fit at the first update whose loss is not finite, unsaved."""

from __future__ import annotations

import math
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from typing_extensions import override

from lit_basics.callbacks.run_info import logging_interval, run_directory, training_data
from lit_basics.callbacks.update_log import updates_of
from lit_basics.diagnostics import diagnose_fit
from lit_basics.errors import DivergenceError
from lit_basics.models.base import GradientDescentModule
from lit_basics.validation import check_positive_int

__all__ = ["DivergenceStop"]


class DivergenceStop(Callback):
    """Raise :class:`~lit_basics.errors.DivergenceError` naming the first update whose loss is NaN
    or infinite, before any checkpoint could hold such weights.

    By default, in one CPU process every Lightning step is checked as it ends (the check costs
    nothing there). Otherwise (DDP, accelerators, or ``check_every_n_updates`` given) the first bad
    update is tracked on the device without a sync and checked, with one all-reduce on which every
    process agrees, every ``check_every_n_updates`` updates, at the end of each epoch, at the end
    of training and — always — before a checkpoint is written. (:class:`~lit_basics.callbacks.UpdateLog`
    logs every update up to the bad one.)

    Args:
        check_every_n_updates: the cadence of the device-side check (default: every step in one
            CPU process, else the trainer's ``log_every_n_steps``).
    """

    def __init__(self, check_every_n_updates: int | None = None) -> None:
        if check_every_n_updates is not None:
            check_positive_int("check_every_n_updates", check_every_n_updates)
        self.check_every_n_updates = check_every_n_updates
        self._at_once = True
        self._first_bad: torch.Tensor | None = None  # (update index, its loss), on the device
        self._checked_until = 0

    @override
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._at_once = (
            self.check_every_n_updates is None and trainer.world_size == 1 and pl_module.device.type == "cpu"
        )
        self._first_bad = None
        self._checked_until = trainer.global_step

    @override
    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        updates = updates_of(outputs)
        if not updates:
            return
        first = trainer.global_step - len(updates)
        if self._at_once and len(updates) == 1:  # one update (the automatic twin): one number
            loss = float(updates[0]["loss"])
            if not math.isfinite(loss):
                self._stop(trainer, pl_module, first, loss)
            return
        losses = torch.stack([update["loss"] for update in updates]).to(torch.float64)
        if self._at_once:
            finite = torch.isfinite(losses)
            if not bool(finite.all()):
                bad = int((~finite).nonzero()[0, 0])
                self._stop(trainer, pl_module, first + bad, float(losses[bad]))
            return
        steps = torch.arange(first, first + len(updates), device=losses.device, dtype=torch.float64)
        bad_steps = torch.where(torch.isfinite(losses), math.inf, steps)
        index = bad_steps.argmin()
        candidate = torch.stack([bad_steps[index], losses[index]])
        # The earliest bad update so far, kept on the device: no sync per step.
        if self._first_bad is None:
            self._first_bad = candidate
        else:
            self._first_bad = torch.where(candidate[0] < self._first_bad[0], candidate, self._first_bad)
        every = self.check_every_n_updates or logging_interval(trainer)
        if trainer.global_step // every > self._checked_until // every:
            self._check(trainer, pl_module)

    @override
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._check(trainer, pl_module)

    @override
    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        self._check(trainer, pl_module)  # every process saves together: the collective is safe

    @override
    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._check(trainer, pl_module)

    def _check(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._checked_until = trainer.global_step
        if self._at_once or self._first_bad is None:
            # (under DDP every process has recorded updates by now, or none has)
            return
        first = self._first_bad[0].clone()
        if trainer.world_size > 1:
            first = trainer.strategy.reduce(first, reduce_op="min")
        step = float(first)
        if math.isfinite(step):
            mine = float(self._first_bad[0]) == step
            self._stop(trainer, pl_module, int(step), float(self._first_bad[1]) if mine else math.nan)

    def _stop(self, trainer: pl.Trainer, pl_module: pl.LightningModule, step: int, loss: float) -> None:
        """Stop training: the loss of update ``step + 1`` is not finite."""
        advice = ""
        if isinstance(pl_module, GradientDescentModule):
            advice = f"; try a smaller learning rate than model.init_args.lr={pl_module.lr}"
            datamodule = training_data(trainer)
            if datamodule is not None:
                diagnosis, _ = diagnose_fit(trainer, pl_module, datamodule)
                if diagnosis is not None:
                    advice += (
                        f" (gradient descent is stable below {diagnosis.bound_name} = {diagnosis.max_stable_lr:.4g})"
                    )
        log_dir = run_directory(trainer)
        logs = f"; the logs up to it are in {log_dir}" if log_dir is not None else ""
        raise DivergenceError(
            f"update {step + 1}: the loss is {loss} (not finite): training stopped, these weights were not saved"
            f"{advice}{logs}"
        )
