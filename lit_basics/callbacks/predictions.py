"""``PredictionsCSV``: ``lit-basics predict`` writes every row's prediction to a CSV file."""

from __future__ import annotations

import csv
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
    columns, rows in file order (a row left without a prediction for a missing value, with
    ``missing="drop"``, has empty prediction fields). With class names (a text target) ``label``
    holds the class's name and the probabilities are named by class: ``probability_<class>`` (one
    per class for softmax; the positive class's for logistic regression).
    Otherwise (the data module's own rows): ``row,<prediction columns>``.
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
        #: ``(path, rows, rows without a prediction)`` of the file the last prediction wrote (rank 0),
        #: for the CLI to report.
        self.written: tuple[Path, int, int] | None = None

    @override
    def write_on_epoch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        predictions: Sequence[Any],
        batch_indices: Sequence[Any],
    ) -> None:
        batches = [b for b in predictions if isinstance(b, dict)]
        datamodule = getattr(trainer, "datamodule", None)
        classes = getattr(datamodule, "classes", None)
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
        rows = len(next(iter(columns.values())))
        names, values = _named(columns, classes)
        inputs = _input_rows(datamodule, rows)
        if inputs is None:
            leading_names, leading, kept = ["row"], [[str(row)] for row in range(rows)], None
        else:
            leading_names, leading, kept = inputs
        predicted = iter(zip(*values, strict=True))
        empty = [""] * len(names)
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow([*leading_names, *names])
            for row, first in enumerate(leading):
                has_prediction = kept is None or kept[row]
                writer.writerow([*first, *(next(predicted) if has_prediction else empty)])
        self.written = (path, len(leading), len(leading) - rows)


def _named(columns: dict[str, torch.Tensor], classes: tuple[str, ...] | None) -> tuple[list[str], list[list[str]]]:
    """The prediction columns' names and values as text: with class names, ``label`` holds the
    class's name and each probability column is named by its class (logistic: the positive one)."""
    names, values = [], []
    for name, column in columns.items():
        texts = [repr(v) for v in column.tolist()]
        if classes is not None and name == "label":
            texts = [classes[int(v)] for v in column.tolist()]
        if classes is not None and name == "probability":  # logistic: the positive class's
            name = f"probability_{classes[1]}"
        elif classes is not None and name.startswith("probability_"):
            name = f"probability_{classes[int(name.rsplit('_', 1)[1])]}"
        names.append(name)
        values.append(texts)
    return names, values


def _input_rows(datamodule: Any, rows: int) -> tuple[list[str], list[list[str]], list[bool] | None] | None:
    """The predict file's column names, its rows as text (a missing value empty), and which rows
    have a prediction; ``None`` when the predictions are not of such a file."""
    inputs = datamodule.predict_inputs() if hasattr(datamodule, "predict_inputs") else None
    if inputs is None:
        return None
    names, columns, kept_rows = inputs
    total = len(columns[0])
    kept = None
    if kept_rows is not None:
        kept = [False] * total
        for row in kept_rows.tolist():
            kept[row] = True
    if (kept_rows is None and total != rows) or (kept_rows is not None and len(kept_rows) != rows):
        return None
    texts = [[_field(v) for v in column.to_pylist()] for column in columns]
    return names, [list(row) for row in zip(*texts, strict=True)], kept


def _field(value: Any) -> str:
    """A value as written back: a whole number without a decimal point (``2008``), another number
    as Python writes it (the shortest text that reads back the same), text as it is, a missing
    value empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return str(value)


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
