"""Facts about the running fit that several callbacks need, read without a collective."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl

__all__ = ["logging_interval", "run_directory", "training_data"]


def run_directory(trainer: pl.Trainer) -> str | None:
    """The run directory: the first logger's ``log_dir``; without a logger ``None``.

    ``trainer.log_dir`` broadcasts from rank 0 under DDP: called on one rank only, it deadlocks.
    """
    logger = trainer.logger
    log_dir = getattr(logger, "log_dir", None) if logger is not None else None
    return str(log_dir) if log_dir is not None else None


def logging_interval(trainer: pl.Trainer) -> int:
    """The trainer's ``log_every_n_steps`` (set by Lightning at construction; untyped there)."""
    return max(1, int(getattr(trainer, "log_every_n_steps", 50)))


def training_data(trainer: pl.Trainer) -> Any:
    """The fit's :class:`~lit_basics.data.InMemoryDataModule`, or ``None`` (other data: the
    callbacks that need the whole training set then do nothing)."""
    from lit_basics.data import InMemoryDataModule

    datamodule = getattr(trainer, "datamodule", None)
    return datamodule if isinstance(datamodule, InMemoryDataModule) else None
