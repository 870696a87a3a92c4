"""``PredictionsCSV``: ``lit-basics predict`` writes every row's prediction to a CSV file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
import torch.distributed
from lightning.pytorch.callbacks import BasePredictionWriter
from typing_extensions import override

from lit_basics.callbacks.run_info import run_directory
from lit_basics.errors import ArgumentError

__all__ = ["PredictionsCSV"]


class PredictionsCSV(BasePredictionWriter):
    """Write ``predictions.csv`` when prediction ends.

    New rows (the data module's ``predict_path``): the input's columns as read, then the prediction
    columns, rows in file order. Otherwise (the data module's own rows): ``row,<prediction columns>``.
    One column per prediction of :meth:`~lit_basics.models.GradientDescentModule.predict`
    (``y_hat``; ``probability,label``); a prediction with several values per row (softmax's class
    probabilities) gets one column each (``probability_0``, ``probability_1``, ...). Rows are the
    data module's rows in file order; under DDP every process's shard is gathered and rank 0 writes.

    Args:
        dirpath: the directory (default: the run directory, which the CLI keeps under ``runs/``).
        filename: the file's name (no directory part: that is ``dirpath``).
    """

    def __init__(self, dirpath: str | None = None, filename: str = "predictions.csv") -> None:
        super().__init__(write_interval="epoch")
        if not filename or filename in (".", "..") or Path(filename).name != filename:
            raise ArgumentError("filename", f"must be a file name without a directory (see dirpath), got {filename!r}")
        self.dirpath = dirpath
        self.filename = filename
        #: ``(path, rows)`` of the file the last prediction wrote (rank 0), for the CLI to report.
        self.written: tuple[Path, int] | None = None

    @override
    def write_on_epoch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        predictions: Sequence[Any],
        batch_indices: Sequence[Any],
    ) -> None:
        batches = [b for b in predictions if isinstance(b, dict)]
        columns = _columns(batches)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            gathered: list[Any] = [None] * torch.distributed.get_world_size()
            torch.distributed.all_gather_object(gathered, columns)  # shards in rank order = file order
            columns = {name: torch.cat([part[name] for part in gathered]) for name in columns}
        if not trainer.is_global_zero or not columns:
            return
        directory = Path(self.dirpath or run_directory(trainer) or trainer.default_root_dir)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / self.filename
        names = list(columns)
        rows = len(columns[names[0]])
        inputs = _input_rows(trainer, rows)
        leading_names, leading = inputs if inputs is not None else (["row"], [[str(row)] for row in range(rows)])
        with path.open("w", encoding="utf-8") as f:
            f.write(",".join(_csv_field(name) for name in [*leading_names, *names]) + "\n")
            table = zip(*(columns[name].tolist() for name in names), strict=True)
            for first, values in zip(leading, table, strict=True):
                f.write(",".join([*first, *(repr(v) for v in values)]) + "\n")
        self.written = (path, rows)


def _input_rows(trainer: pl.Trainer, rows: int) -> tuple[list[str], list[list[str]]] | None:
    """The column names and the rows (as text) of the predict file the data module read, or ``None``."""
    datamodule = getattr(trainer, "datamodule", None)
    table = getattr(datamodule, "predict_rows", None)
    if table is None or len(table.values) != rows:
        return None
    names = list(table.names) if table.names is not None else datamodule.column_names()  # type: ignore[union-attr]
    return names, [[repr(v) for v in row] for row in table.values.tolist()]


def _csv_field(text: str) -> str:
    """A header name, quoted where a comma or a quote would break the line."""
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text


def _columns(batches: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """``{column: values}`` on the host: a ``(N, C)`` prediction becomes ``C`` columns."""
    columns: dict[str, torch.Tensor] = {}
    for name in batches[0] if batches else []:
        values = torch.cat([b[name].detach().cpu() for b in batches]).reshape(sum(len(b[name]) for b in batches), -1)
        if values.shape[1] == 1:
            columns[name] = values[:, 0]
        else:
            columns.update({f"{name}_{i}": values[:, i] for i in range(values.shape[1])})
    return columns
