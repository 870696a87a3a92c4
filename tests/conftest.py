"""Shared test helpers: tiny CPU trainers, an in-memory logger, a parameter recorder."""

from __future__ import annotations

import socket
from typing import Any

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities import rank_zero_only


def has_cuda() -> bool:
    return torch.cuda.is_available()


requires_gpu = pytest.mark.skipif(not has_cuda(), reason="needs a CUDA device")


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
    """Records ``w`` and ``b`` after every update."""

    def __init__(self) -> None:
        self.w: list[torch.Tensor] = []
        self.b: list[torch.Tensor] = []

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.w.append(pl_module.w.detach().cpu().clone())
        self.b.append(pl_module.b.detach().cpu().clone())


def tiny_trainer(max_steps: int, **kwargs: Any) -> pl.Trainer:
    """A quiet CPU trainer: no progress bar, no checkpoints, no summary, unless asked for."""
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
    }
    options.update(kwargs)
    return pl.Trainer(**options)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
