"""``CoefficientsCSV``: every fit writes its coefficient table, ``coefficients.csv``."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
from lightning.pytorch.loggers import TensorBoardLogger
from typing_extensions import override

from lit_basics.callbacks.run_info import run_directory, training_data
from lit_basics.coefficients import CoefficientTable, data_fit_answer
from lit_basics.diagnostics import diagnose_fit_cached
from lit_basics.errors import ArgumentError
from lit_basics.fit_statistics import Glance
from lit_basics.models.base import GradientDescentModule

__all__ = ["CoefficientsCSV"]


class CoefficientsCSV(pl.Callback):
    """At the end of a fit, write the model's coefficient table
    (:meth:`~lit_basics.models.GradientDescentModule.coefficients`: estimates in the columns'
    units, standard errors, statistics, p-values, intervals, the exact optimum) to
    ``coefficients.csv`` and its statistics (:meth:`~lit_basics.models.GradientDescentModule.glance`)
    to ``glance.csv`` in the run directory, and show both in TensorBoard's text dashboard (tag
    ``coefficients``).

    Args:
        confidence: of the intervals, in (0, 1) (default 0.95).
        dirpath: the directory (default: the run directory, which the CLI keeps under ``runs/``).
        filename: the table's file name.
        glance_filename: the statistics' file name.
    """

    def __init__(
        self,
        confidence: float = 0.95,
        dirpath: str | None = None,
        filename: str = "coefficients.csv",
        glance_filename: str = "glance.csv",
    ) -> None:
        if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
            raise ArgumentError("confidence", f"must be a number in (0, 1), got {confidence!r}")
        for name, value in (("filename", filename), ("glance_filename", glance_filename)):
            if not value or value in (".", "..") or Path(value).name != value:
                raise ArgumentError(name, f"must be a file name without a directory (see dirpath), got {value!r}")
        if filename == glance_filename:
            raise ArgumentError("glance_filename", f"must differ from filename, both are {filename!r}")
        self.confidence = float(confidence)
        self.dirpath = dirpath
        self.filename = filename
        self.glance_filename = glance_filename
        #: The last fit's table, statistics and files (rank 0), for the CLI to print.
        self.table: CoefficientTable | None = None
        self.glance: Glance | None = None
        self.path: Path | None = None
        self.glance_path: Path | None = None

    @override
    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        datamodule = training_data(trainer)
        self.table = self.path = None
        if not isinstance(pl_module, GradientDescentModule) or datamodule is None:
            return
        # Rows held in shards: every process computes the table (its sums are collectives).
        if not trainer.is_global_zero and getattr(datamodule, "row_shards", None) is None:
            return
        # The exact optimum the fit's diagnosis found (the same rows): the estimates' reference.
        cached = diagnose_fit_cached(pl_module, datamodule)
        best = cached.optimum if cached is not None else None
        # No warning here: the table says it (the CLI prints it as a warning line).
        answer = data_fit_answer(pl_module, datamodule, confidence=self.confidence, best=best, warn=False)
        if not trainer.is_global_zero:
            return
        directory = Path(self.dirpath or run_directory(trainer) or trainer.default_root_dir)
        directory.mkdir(parents=True, exist_ok=True)
        self.path = answer.table.write_csv(directory / self.filename)
        self.glance_path = answer.glance.write_csv(directory / self.glance_filename)
        self.table, self.glance = answer.table, answer.glance
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                text = f"{answer.table.to_markdown()}\n\n{answer.glance.to_text()}"
                logger.experiment.add_text("coefficients", text, global_step=trainer.global_step)
