"""A DataModule over the user's own arrays, tensors or table file (CSV or Parquet)."""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
import torch
from typing_extensions import override

from lit_basics.data.base import AliasedInputsWarning, InMemoryDataModule, as_rows, check_path, precision_dtype
from lit_basics.data.columns import ColumnRef
from lit_basics.data.encoding import MISSING, Encoded, Encoding, Missing
from lit_basics.data.layout import Layout
from lit_basics.data.pipeline import TableRead, encode, learn, training_aliasing
from lit_basics.data.rows import HeldRows
from lit_basics.data.scaling import Scale
from lit_basics.data.shards import RowShards
from lit_basics.data.table import DataFileError, check_delimiter
from lit_basics.errors import ArgumentError, RankZeroSaysError
from lit_basics.validation import check_choice

__all__ = ["ArrayDataModule"]


class ArrayDataModule(InMemoryDataModule):
    """Your own data: arrays/tensors ``x`` (N, F) and ``y`` (N,) or (N, 1), or a table ``path``.

    A table is a CSV file (comma, semicolon, tab, ``|`` or runs of spaces, detected; compressed
    ``.gz``/``.bz2``/``.zst`` too) or a Parquet file, one sample per row, with a header line naming
    the columns or none (detected: a first line none of whose fields is a number). The target is
    the last column unless ``target`` says otherwise; the features are every other column unless
    ``features`` lists them. From the file to the tensors is one pass
    (:func:`~lit_basics.data.encoding.encode_table`): read the columns used, handle missing values,
    split, learn the levels and the scaling from the training rows, encode and scale, float32.

    - A feature column holding text (or named in ``categorical``) is categorical: one 0/1 input
      per level but the first in sorted order (the reference), named ``column=level``.
    - A target column holding text names classes: sorted, they are the labels ``0..C-1``
      (:attr:`classes`); ``num_classes`` follows.
    - A missing value (an empty field, ``NA``, ``N/A``, ``NaN``, ``null``, ``?``, ...) is an
      error naming its line, or with ``missing="drop"`` its row is dropped (and counted).

    Args:
        x: features, array-like of shape (N,) or (N, F); give ``x`` and ``y`` or ``path``, not both.
        y: targets, array-like of shape (N,) or (N, 1).
        path: a CSV or Parquet table.
        target: the target column of ``path``: a header name or a 0-based index (negative counts
            from the end); default the last column.
        features: the feature columns of ``path``, names or indices, in the order the model sees
            them; default every column but the target, in file order.
        categorical: feature columns to one-hot encode although they hold numbers (codes).
        missing: ``"error"`` (default) or ``"drop"``: rows with a missing value in a column used
            are dropped, and the rows of ``predict_path`` with one get an empty prediction.
        delimiter: the CSV delimiter (one character, ``tab``, or ``space`` for runs of spaces);
            default: detected from the first lines.
        header: whether the first line of ``path`` (and of ``predict_path``) names the columns;
            default: detected (a first line of names over data; say ``true`` for names that are
            numbers, such as years).
        num_classes: ``None`` (default) for real-valued targets (regression, or 0/1 labels for
            logistic regression) or class names; ``C >= 2`` when the targets are class labels,
            integers ``0..C-1`` (for :class:`~lit_basics.models.SoftmaxRegression`). Any other
            target is an error naming the file and line.
        scale: ``"none"`` (default), ``"max"`` or ``"standardize"``: learned from the training rows,
            numeric inputs only (see :class:`~lit_basics.data.InMemoryDataModule`, with the other
            arguments).
        shard: a table is read in ``setup``, where each process of a multi-process run (DDP)
            reads and keeps only its shard of the rows: the training rows it trains on and the
            held-out rows it evaluates. ``__init__`` makes one streaming pass that keeps no rows
            (missing values, levels, class names, every check); the scaling statistics, the exact
            optimum, the diagnosis and the coefficient table are then sums over every process's
            shard (:class:`~lit_basics.data.shards.RowShards`). Default ``False``: the table is
            read once, whole, in ``__init__``. ``lit-basics fit`` sets it when the trainer runs
            more than one process.

    Example:
        >>> dm = ArrayDataModule(x=[[1.0], [2.0], [3.0]], y=[2.0, 4.0, 6.0])
        >>> dm.num_features, dm.y.squeeze(1).tolist()
        (1, [2.0, 4.0, 6.0])
        >>> ArrayDataModule(x=[[0.5], [1.5], [2.5]], y=[0, 2, 1], num_classes=3).y.squeeze(1).tolist()
        [0, 2, 1]
    """

    def __init__(
        self,
        x: Any = None,
        y: Any = None,
        path: str | None = None,
        *,
        target: ColumnRef | None = None,
        features: list[ColumnRef] | None = None,
        categorical: list[ColumnRef] | None = None,
        missing: Missing = "error",
        delimiter: str | None = None,
        header: bool | None = None,
        num_classes: int | None = None,
        batch_size: int | None = None,
        shuffle: bool = False,
        val_fraction: float = 0.0,
        seed: int = 2017,
        passes_per_epoch: int = 1,
        scale: Scale = "none",
        predict_path: str | None = None,
        shard: bool = False,
    ) -> None:
        super().__init__(
            batch_size=batch_size,
            shuffle=shuffle,
            val_fraction=val_fraction,
            seed=seed,
            passes_per_epoch=passes_per_epoch,
            scale=scale,
            predict_path=predict_path,
        )
        if num_classes is not None and (
            isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2
        ):
            raise ArgumentError(
                "num_classes", f"must be null (real-valued targets) or an integer >= 2, got {num_classes!r}"
            )
        self._num_classes = num_classes
        self.missing = check_choice("missing", missing, MISSING)  # type: ignore[assignment]
        self.delimiter = check_delimiter(delimiter)
        if header is not None and not isinstance(header, bool):
            raise ArgumentError("header", f"must be true, false or null (detect), got {header!r}")
        self.header = header
        if not isinstance(shard, bool):
            raise ArgumentError("shard", f"must be true or false, got {shard!r}")
        path = check_path("path", path)
        if shard and path is None:
            raise ArgumentError("shard", "reads a table's rows shard by shard: give path (arrays are already held)")
        self.shard = shard
        self.path = path
        self.target = target
        self.target_name: str | None = None
        if path is not None:
            if x is not None or y is not None:
                raise ArgumentError("path", "and x, y are exclusive: give a table path or arrays, not both")
            self._load_table(path, target, features, categorical)
            return
        if x is None or y is None:
            raise ArgumentError("path", "or x and y must be given: a table file, or arrays or tensors")
        for name, value in (("target", target), ("features", features), ("categorical", categorical)):
            if value is not None:
                raise ArgumentError(name, "selects columns of path, not of x, y")
        x_rows, y_rows = as_rows("x", x), as_rows("y", y)
        if y_rows.shape[1] != 1:
            raise ArgumentError("y", f"must have shape (N,) or (N, 1), got {tuple(y_rows.shape)}")
        if x_rows.shape[0] != y_rows.shape[0]:
            raise ArgumentError("x", f"has {x_rows.shape[0]} rows but y has {y_rows.shape[0]}")
        if num_classes is not None:
            column = y_rows.double().numpy().ravel()
            bad = np.flatnonzero((column != np.round(column)) | (column < 0) | (column >= num_classes))
            if bad.size:
                raise ArgumentError(
                    "y", f"must hold class labels 0..{num_classes - 1}; row {bad[0]} holds {column[bad[0]]:g}"
                )
            y_rows = torch.from_numpy(column.astype(np.int64)).unsqueeze(1)
        self._set_data(x_rows, y_rows)

    def _load_table(
        self, path: str, target: ColumnRef | None, features: list[ColumnRef] | None, categorical: list[ColumnRef] | None
    ) -> None:
        """The pipeline (:mod:`~lit_basics.data.pipeline`): read the header and choose the columns,
        learn the layout in one pass, then encode every used row (``shard=True``: in ``setup``, each
        process its own, :meth:`_read_shard`)."""
        read = TableRead.open(
            path,
            delimiter=self.delimiter,
            header=self.header,
            target=target,
            features=features,
            categorical=categorical,
            missing=self.missing,
            scale=self.scale,
            shard=self.shard,
        )
        self.target_name = read.names[read.target_column] if read.names is not None else None
        layout = learn(read, self._num_classes, self._split)
        if layout.encoding.classes is not None:
            self._num_classes = len(layout.encoding.classes)
        if self.shard:
            aliasing = training_aliasing(read, layout, self._num_classes)
            layout = dataclasses.replace(layout, encoding=dataclasses.replace(layout.encoding, aliasing=aliasing))
            self._install_layout(layout, read)
            if aliasing.aliased:
                warnings.warn(aliasing.summary(layout.encoding.input_names), AliasedInputsWarning, stacklevel=2)
            return

        def encoded(fixed: Encoding | None) -> Encoded:
            return encode(read, layout, HeldRows.whole(layout), num_classes=self._num_classes, dtype=self._dtype,
                          fixed=fixed)  # fmt: skip

        self._set_encoded(encoded(None), layout.table, encoded)

    @property
    def num_classes(self) -> int | None:
        return self._num_classes

    def _read_shard(self, trainer: Any) -> None:
        """Read this process's rows of the table (``shard=True``; :meth:`setup`): its block of the
        training rows and of the held-out rows (the blocks the loaders would cut), nothing else;
        the scaling statistics summed over every process's training rows."""
        layout, read = self._layout, self._read
        assert layout is not None
        assert read is not None
        rank, world = int(trainer.global_rank), int(trainer.world_size)
        held = HeldRows.shard(layout, self._held_out, rank, world)
        dtype = precision_dtype(trainer)
        self._wide, self._dtype = dtype == torch.float64, dtype
        total = int(layout.rows.size if layout.train_index is None else layout.train_index.numel())
        shards = RowShards(trainer.strategy, total)

        def problems(mine: str | None) -> None:  # every process stops with one: none waits in a collective
            found = [p for p in shards.gather_objects(mine) if p is not None]
            if found:  # rank 0 says why (one line, not one per process)
                raise DataFileError(found[0]) if shards.rank == 0 else RankZeroSaysError(found[0])

        encoded = encode(read, layout, held, num_classes=self._num_classes, dtype=self._dtype, shards=shards,
                         problems=problems)  # fmt: skip
        assert encoded.y is not None
        self.x, self.y = encoded.x, encoded.y
        training = int(held.training.sum())
        self._train_index = self._val_index = None  # every row held trains
        if self._held_out is not None:
            self._train_index = torch.arange(training)
            self._val_index = torch.arange(training, held.file_rows.size)
        self._encoding, self.scaling = encoded.encoding, encoded.encoding.scaling
        self._reencode = lambda fixed: encode(read, layout, held, num_classes=self._num_classes, dtype=self._dtype,
                                              fixed=fixed)  # fmt: skip
        self.row_shards = shards
        if self.predict_path is not None:
            self._read_predict_rows(self.predict_path)

    def _install_layout(self, layout: Layout, read: TableRead) -> None:
        """What the streaming pass learned (``shard=True``): the rows are read in :meth:`setup`."""
        self._layout, self._read = layout, read
        # A copy: spawned processes receive the tensor in new shared memory, a numpy view would dangle.
        self._held_out = None if self._val_index is None else self._val_index.numpy().copy()
        self._encoding, self.scaling, self.classes = layout.encoding, layout.encoding.scaling, layout.encoding.classes
        self.feature_names = layout.encoding.model_input_names if layout.table.names is not None else None
        self.dropped_rows = layout.dropped
        self._table = layout.table
        self.x = torch.empty(0, len(layout.encoding.kept))
        self.y = torch.empty(0, 1, dtype=torch.float32 if self._num_classes is None else torch.int64)

    @override
    def setup(self, stage: str) -> None:
        if self._layout is not None and self.row_shards is None:
            if self.trainer is None:
                raise ArgumentError("shard", "reads the rows in setup, which needs a trainer: fit through one")
            self._read_shard(self.trainer)
        super().setup(stage)
