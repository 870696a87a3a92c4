"""A DataModule over the user's own arrays, tensors or table file (CSV or Parquet)."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from typing_extensions import override

from lit_basics.data.aliasing import Aliasing, check_inputs_left, find_aliasing, fold_r, tolerance_for
from lit_basics.data.base import AliasedInputsWarning, InMemoryDataModule, as_rows, check_path, precision_dtype
from lit_basics.data.encoding import MISSING, Encoded, Encoding, Layout, Missing, check_room, encode_table, learn_layout
from lit_basics.data.reader import (
    DataFileError,
    Header,
    Table,
    check_delimiter,
    one_column_hint,
    read_batches,
    read_header,
    read_table,
    scan_table,
)
from lit_basics.data.scaling import ColumnMoments, FeatureScaling, Scale
from lit_basics.data.shards import RowShards
from lit_basics.errors import ArgumentError, RankZeroSaysError, UserError
from lit_basics.validation import check_choice

__all__ = ["ArrayDataModule"]


ColumnRef = int | str


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
        """Read, select, encode and scale the table in one pass (see :func:`encode_table`)."""
        header = read_header(path, delimiter=self.delimiter, header=self.header)
        if header.num_columns < 2:
            raise DataFileError(
                f"{path}: expected at least one feature and a target per line, found 1 column" + one_column_hint(header)
            )
        target_column, feature_columns = select_columns(header, target, features)
        categorical_columns = select_categorical(header, categorical, feature_columns)
        self.target_name = header.names[target_column] if header.names is not None else None
        columns = [*feature_columns, target_column]
        # What the streaming pass (shard=True) and the whole read take alike.
        common: dict[str, Any] = {
            "feature_columns": feature_columns,
            "target_column": target_column,
            "categorical": categorical_columns,
            "missing": self.missing,
            "scale": self.scale,
            "split": self._split,
        }
        if self.shard:
            layout = learn_layout(
                lambda start: scan_table(path, start, delimiter=header.delimiter, columns=columns, header=self.header),
                num_classes=self._num_classes,
                **common,
            )
            if layout.encoding.classes is not None:
                self._num_classes = len(layout.encoding.classes)
            aliasing = self._layout_aliasing(
                layout, header.delimiter, feature_columns, target_column, categorical_columns
            )
            layout = dataclasses.replace(layout, encoding=dataclasses.replace(layout.encoding, aliasing=aliasing))
            self._install_layout(layout, header.delimiter, feature_columns, target_column, categorical_columns)
            if aliasing.aliased:
                warnings.warn(aliasing.summary(layout.encoding.input_names), AliasedInputsWarning, stacklevel=2)
            return

        def encode(fixed: Encoding | None) -> tuple[Table, Encoded]:
            table = read_table(path, delimiter=header.delimiter, columns=columns, header=self.header)
            encoded = encode_table(table, num_classes=self._num_classes, fixed=fixed, dtype=self._dtype, **common)
            return table, encoded

        table, encoded = encode(None)
        if encoded.encoding.classes is not None:
            self._num_classes = len(encoded.encoding.classes)
        self._set_encoded(encoded, table, lambda fixed: encode(fixed)[1])

    @property
    def num_classes(self) -> int | None:
        return self._num_classes

    def _layout_aliasing(
        self, layout: Layout, delimiter: str | None, features: list[int], target: int, categorical: list[int]
    ) -> Aliasing:
        """The aliased inputs of a table read in shards (``shard=True``): before any process holds
        its rows (the model's ``in_features`` is known now), one more streaming pass over the
        training rows folds the ``R`` factor of their design, batch by batch, in the columns' units."""
        assert self.path is not None
        train = layout.rows if layout.train_index is None else layout.rows[layout.train_index.numpy()]
        mask = np.zeros(layout.table.num_rows, dtype=bool)
        mask[train] = True
        columns = [*features, target]
        text = [c for c in columns if not layout.table.numeric(c)]
        r: torch.Tensor | None = None
        for table in read_batches(
            self.path, delimiter=delimiter, columns=columns, text=text, header=self.header, rows=mask
        ):
            part = encode_table(
                table,
                feature_columns=features,
                target_column=target,
                categorical=categorical,
                missing=self.missing,
                num_classes=self._num_classes,
                fixed=layout.encoding,  # the levels learned; no scaling yet, nothing left out
                room_checked=True,
            )
            ones = torch.ones(part.x.shape[0], 1, dtype=torch.float64)
            r = fold_r(r, torch.cat([ones, part.x.to(torch.float64)], dim=1))
        assert r is not None
        aliasing = find_aliasing(r, tolerance=tolerance_for(torch.float32), names=layout.encoding.input_names)
        check_inputs_left(aliasing, layout.table.path)
        return aliasing

    def _read_shard(self, trainer: Any) -> None:
        """Read this process's rows of the table (``shard=True``; :meth:`setup`): its block of the
        training rows and of the held-out rows (the blocks the loaders would cut), nothing else;
        the scaling statistics summed over every process's training rows."""
        layout, (delimiter, feature_columns, target_column, categorical) = self._layout, self._shard_columns
        assert layout is not None
        assert self.path is not None
        path = self.path
        rank, world = int(trainer.global_rank), int(trainer.world_size)
        n = int(layout.rows.size)
        train = np.arange(n) if layout.train_index is None else layout.train_index.numpy()
        held_out = self._held_out

        def block(index: np.ndarray) -> np.ndarray:
            if index.size < world:
                raise ArgumentError(
                    "shard", f"{index.size} row(s) cannot be shared by {world} processes (one each at least)"
                )
            return index[rank * index.size // world : (rank + 1) * index.size // world]

        train_rows = layout.rows[block(train)]
        val_rows = None if held_out is None else layout.rows[block(held_out)]
        mask = np.zeros(layout.table.num_rows, dtype=bool)
        mask[train_rows] = True
        if val_rows is not None:
            mask[val_rows] = True
        dtype = precision_dtype(trainer)
        self._wide, self._dtype = dtype == torch.float64, dtype
        shards = RowShards(trainer.strategy, int(train.size))
        columns = [*feature_columns, target_column]
        text = [c for c in columns if not layout.table.numeric(c)]
        numeric = layout.encoding.numeric_inputs
        width = len(layout.encoding.kept)  # the model's inputs (the aliased ones are left out as encoded)
        numeric_columns = [c for c, (_, levels) in zip(feature_columns, layout.encoding.columns, strict=True)
                           if levels is None]  # fmt: skip
        in_training = np.zeros(layout.table.num_rows, dtype=bool)
        in_training[train_rows] = True
        local_rows = int(mask.sum())
        # Where each file row held goes: the training rows first, then the held-out rows, each in
        # file order, so that both splits are blocks of rows (views, never copies).
        held = train_rows if val_rows is None else np.concatenate([train_rows, val_rows])
        destination = np.zeros(layout.table.num_rows, dtype=np.int64)
        destination[held] = np.arange(local_rows)

        def batches() -> Iterator[Table]:
            return read_batches(path, delimiter=delimiter, columns=columns, text=text, header=self.header, rows=mask)

        def statistics() -> FeatureScaling:
            # The numeric inputs' moments over this process's training rows, merged over the shards.
            moments = ColumnMoments.empty(len(numeric_columns))
            if self.scale != "none":
                for table in batches():
                    training = in_training[table.file_rows]
                    if training.any() and numeric_columns:
                        moments.update(
                            np.column_stack([table.columns[c].to_numpy()[training] for c in numeric_columns])
                        )
                moments = moments.across(shards)
            return FeatureScaling.from_moments(self.scale, moments, numeric, layout.encoding.input_names)

        def encode(fixed: Encoding) -> Encoded:
            # Batch by batch into the tensors: the shard is never held as read.
            x = torch.empty(local_rows, width, dtype=self._dtype)
            labels = fixed.classes is not None or self._num_classes is not None
            y = torch.empty(local_rows, 1, dtype=torch.int64 if labels else self._dtype)
            for table in batches():
                part = encode_table(
                    table,
                    feature_columns=feature_columns,
                    target_column=target_column,
                    categorical=categorical,
                    missing=self.missing,
                    num_classes=self._num_classes,
                    fixed=fixed,
                    dtype=self._dtype,
                    room_checked=True,  # for the whole shard, before its tensors were allocated
                )
                assert part.y is not None
                where = torch.from_numpy(destination[table.file_rows])
                x[where], y[where] = part.x, part.y
            return Encoded(x, y, fixed, held, 0, layout.table.num_rows, None)

        encoded: Encoded | None = None
        problem: str | None = None
        try:
            check_room(path, local_rows, layout.encoding.columns, self._dtype)
            scaling = statistics()
            encoding = dataclasses.replace(layout.encoding, scaling=scaling)
            encoded = encode(encoding)
        except UserError as exc:  # every process stops with it: none is left waiting in a collective
            problem = str(exc)
        problems = [p for p in shards.gather_objects(problem) if p is not None]
        if problems:  # every process stops; rank 0 says why (one line, not one per process)
            if shards.rank == 0:
                raise DataFileError(problems[0])
            raise RankZeroSaysError(problems[0])
        assert encoded is not None
        assert encoded.y is not None
        self.x, self.y = encoded.x, encoded.y
        self._train_index = self._val_index = None  # every row held trains
        if val_rows is not None:
            self._train_index = torch.arange(train_rows.size)
            self._val_index = torch.arange(train_rows.size, local_rows)
        self._encoding, self.scaling = encoding, scaling
        self._reencode = encode
        self.row_shards = shards
        if self.predict_path is not None:
            self._read_predict_rows(self.predict_path)

    def _install_layout(
        self, layout: Layout, delimiter: str | None, features: list[int], target: int, categorical: list[int]
    ) -> None:
        """What the streaming pass learned (``shard=True``): the rows are read in :meth:`setup`."""
        self._layout, self._shard_columns = layout, (delimiter, features, target, categorical)
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


def select_columns(
    table: Header | Table, target: ColumnRef | None, features: list[ColumnRef] | None
) -> tuple[int, list[int]]:
    """The 0-based target column and feature columns ``target`` and ``features`` name in ``table``.

    Raises:
        ArgumentError: naming ``target`` or ``features``: an unknown name, an index out of range, a
            column given twice, or the target among the features.
    """
    target_column = table.num_columns - 1 if target is None else resolve_column(table, "target", target)
    if features is None:
        return target_column, [c for c in range(table.num_columns) if c != target_column]
    if isinstance(features, (str, int)) or not features:
        raise ArgumentError("features", f"must be a non-empty list of columns, got {features!r}")
    columns = [resolve_column(table, "features", ref) for ref in features]
    for position, column in enumerate(columns):
        if column == target_column:
            raise ArgumentError("features", f"{features[position]!r} is the target column")
        if columns.index(column) != position:
            raise ArgumentError("features", f"{column_label(table, column)} is listed twice")
    return target_column, columns


def select_categorical(table: Header, categorical: list[ColumnRef] | None, features: list[int]) -> list[int]:
    """The feature columns ``categorical`` names.

    Raises:
        ArgumentError: naming ``categorical``: an unknown column, or one that is not a feature.
    """
    if categorical is None:
        return []
    if isinstance(categorical, (str, int)):
        raise ArgumentError("categorical", f"must be a list of columns, got {categorical!r}")
    columns = [resolve_column(table, "categorical", ref) for ref in categorical]
    for ref, column in zip(categorical, columns, strict=True):
        if column not in features:
            raise ArgumentError("categorical", f"{ref!r} is not a feature column (the target, or not in features)")
    return columns


def column_label(table: Header | Table, column: int) -> str:
    name = f" ({table.names[column]!r})" if table.names is not None else ""
    return f"column {column + 1}{name}"


def resolve_column(table: Header | Table, argument: str, ref: Any) -> int:
    """The 0-based column ``ref`` (a header name or an index, negative from the end) names.

    Raises:
        ArgumentError: naming ``argument``: not a name or index, an unknown name, out of range.
    """
    width = table.num_columns
    if isinstance(ref, bool) or not isinstance(ref, (int, str)):
        raise ArgumentError(argument, f"must name a column (a header name or a 0-based index), got {ref!r}")
    if isinstance(ref, int):
        if not -width <= ref < width:
            raise ArgumentError(
                argument, f"index {ref} is out of range: {table.path} has {width} columns (0..{width - 1})"
            )
        return ref % width
    if table.names is None:
        raise ArgumentError(
            argument,
            f"{ref!r} is a column name, and {table.path} has no header line (none detected: --data.init_args.header"
            "=true says its first line names the columns): use a 0-based index",
        )
    if ref not in table.names:
        shown = ", ".join(map(repr, table.names[:12])) + (", ..." if width > 12 else "")
        raise ArgumentError(argument, f"{ref!r} is not a column of {table.path}; its columns: {shown}")
    return table.names.index(ref)
