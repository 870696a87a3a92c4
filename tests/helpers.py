"""Shared test helpers: tiny CPU trainers, an in-memory logger, a per-update parameter recorder."""

from __future__ import annotations

import socket
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities import rank_zero_only

from lit_basics.callbacks import UpdateLog

__all__ = ["EndProcessGroup", "MemoryLogger", "ParamRecorder", "free_port", "params_of", "tiny_trainer"]


class MemoryLogger(Logger):
    """Keeps every ``log_metrics`` call: ``{tag: [(step, value), ...]}``."""

    def __init__(self) -> None:
        super().__init__()
        self.metrics: dict[str, list[tuple[int, float]]] = {}
        self.hparams: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return "memory"

    @property
    def version(self) -> int:
        return 0

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        self.hparams.update(dict(params))

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        for key, value in metrics.items():
            self.metrics.setdefault(key, []).append((int(step if step is not None else -1), float(value)))


class ParamRecorder(pl.Callback):
    """``w``, ``b`` after every update, also inside the manual twin's multi-update steps.

    ``on_before_optimizer_step`` sees the parameters after ``global_step`` updates before each
    update; the final ones are added at the end. ``w[i]``, ``b[i]``: after update ``i + 1``.
    """

    def __init__(self) -> None:
        self._w: list[torch.Tensor] = []
        self._b: list[torch.Tensor] = []

    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: Any, optimizer: Any) -> None:
        self._w.append(pl_module.w.detach().cpu().clone())
        self._b.append(pl_module.b.detach().cpu().clone())

    def on_train_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
        self._w.append(pl_module.w.detach().cpu().clone())
        self._b.append(pl_module.b.detach().cpu().clone())

    @property
    def w(self) -> list[torch.Tensor]:
        return self._w[1:]

    @property
    def b(self) -> list[torch.Tensor]:
        return self._b[1:]


class EndProcessGroup(pl.Callback):
    """Ends a spawned process's process group before the process ends.

    Lightning tears down ``ddp_spawn``'s processes with their Gloo process group still up (it
    destroys NCCL's only, at exit): each process then exits with Gloo's threads running, racing
    the other process's exit, and now and then aborts in C++ ("terminate called without an active
    exception", SIGABRT), failing a test whose fit had finished. ``lit-basics`` ends its group itself
    (``cli_main``); here every process waits for the others, then ends it, once the fit is done.
    """

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            trainer.strategy.barrier("end-process-group")
            torch.distributed.destroy_process_group()


def tiny_trainer(max_steps: int, *, watch: bool = True, **kwargs: Any) -> pl.Trainer:
    """A quiet CPU trainer: no progress bar, no checkpoints, no summary, unless asked for.

    With ``watch`` (and a logger) :class:`~lit_basics.callbacks.UpdateLog` logs every update;
    with ``strategy="ddp_spawn"`` every process ends its process group (:class:`EndProcessGroup`).
    """
    callbacks = list(kwargs.pop("callbacks", []))
    if watch and kwargs.get("logger"):
        callbacks.insert(0, UpdateLog(loss_gap=False, progress_bar=False))
    if str(kwargs.get("strategy", "")).startswith("ddp_spawn"):
        callbacks.append(EndProcessGroup())
    options: dict[str, Any] = {
        "accelerator": "cpu",
        "devices": 1,
        "max_steps": max_steps,
        "max_epochs": -1,
        "logger": False,
        "enable_progress_bar": False,
        "enable_checkpointing": False,
        "enable_model_summary": False,
        "log_every_n_steps": 1,
        "callbacks": callbacks,
    }
    options.update(kwargs)
    return pl.Trainer(**options)


def params_of(model: Any) -> torch.Tensor:
    """``w`` and ``b`` as one flat tensor."""
    return torch.cat([model.w.detach().flatten(), model.b.detach().flatten()]).cpu()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
