"""A DataModule over the user's own arrays, tensors or CSV file."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lit_basics.data.base import InMemoryDataModule, as_rows, check_path
from lit_basics.data.parse import DataFileError, Table, class_labels, read_table
from lit_basics.data.scaling import Scale
from lit_basics.errors import ArgumentError

__all__ = ["ArrayDataModule"]


ColumnRef = int | str


class ArrayDataModule(InMemoryDataModule):
    """Your own data: arrays/tensors ``x`` (N, F) and ``y`` (N,) or (N, 1), or a CSV table ``path``.

    A CSV table has one sample per line, comma-separated numbers, and may start with a header line
    naming the columns (detected: a first line none of whose fields is a number); CRLF line ends
    and a UTF-8 byte-order mark are fine. The target is the last column unless ``target`` says
    otherwise; the features are every other column unless ``features`` lists them.

    Args:
        x: features, array-like of shape (N,) or (N, F); give ``x`` and ``y`` or ``path``, not both.
        y: targets, array-like of shape (N,) or (N, 1).
        path: a CSV table of numbers.
        target: the target column of ``path``: a header name or a 0-based index (negative counts
            from the end); default the last column.
        features: the feature columns of ``path``, names or indices, in the order the model sees
            them; default every column but the target, in file order.
        num_classes: ``None`` (default) for real-valued targets (regression, or 0/1 labels for
            logistic regression); ``C >= 2`` when the targets are class labels, integers ``0..C-1``
            (for :class:`~lit_basics.models.SoftmaxRegression`). Any other target is an error naming
            the file and line.
        scale: ``"none"`` (default), ``"max"`` or ``"standardize"``: learned from the training rows
            (see :class:`~lit_basics.data.InMemoryDataModule`, with the other arguments).

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
        num_classes: int | None = None,
        batch_size: int | None = None,
        shuffle: bool = False,
        val_fraction: float = 0.0,
        seed: int = 2017,
        passes_per_epoch: int = 1,
        scale: Scale = "none",
        predict_path: str | None = None,
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
        path = check_path("path", path)
        labels: np.ndarray | None = None
        table: Table | None = None
        names: list[str] | None = None
        if path is not None:
            if x is not None or y is not None:
                raise ArgumentError("path", "and x, y are exclusive: give a CSV path or arrays, not both")
            table = read_table(path)
            if table.num_columns < 2:
                raise DataFileError(
                    f"{path}:{table.lines[0]}: expected at least one feature and a target per line, found 1 field"
                )
            target_column, feature_columns = select_columns(table, target, features)
            x, y = table.values[:, feature_columns], table.values[:, target_column]
            names = [table.names[c] for c in feature_columns] if table.names is not None else None
            if num_classes is not None:
                labels = class_labels(table, y, num_classes)
        elif x is None or y is None:
            raise ArgumentError("path", "or x and y must be given: a CSV file, or arrays or tensors")
        elif target is not None or features is not None:
            raise ArgumentError("target" if target is not None else "features", "selects columns of path, not of x, y")
        self.path = path
        self.target = target
        self.target_name = (
            table.names[select_columns(table, target, features)[0]] if table is not None and table.names else None
        )
        x_rows, y_rows = as_rows("x", x), as_rows("y", y)
        if y_rows.shape[1] != 1:
            raise ArgumentError("y", f"must have shape (N,) or (N, 1), got {tuple(y_rows.shape)}")
        if x_rows.shape[0] != y_rows.shape[0]:
            raise ArgumentError("x", f"has {x_rows.shape[0]} rows but y has {y_rows.shape[0]}")
        if num_classes is not None:
            if labels is None:
                column = y_rows.double().numpy().ravel()
                bad = np.flatnonzero((column != np.round(column)) | (column < 0) | (column >= num_classes))
                if bad.size:
                    raise ArgumentError(
                        "y", f"must hold class labels 0..{num_classes - 1}; row {bad[0]} holds {column[bad[0]]:g}"
                    )
                labels = column.astype(np.int64)
            y_rows = torch.from_numpy(labels).unsqueeze(1)
        self._set_data(x_rows, y_rows, table=table, feature_names=names)

    @property
    def num_classes(self) -> int | None:
        return self._num_classes


def select_columns(table: Table, target: ColumnRef | None, features: list[ColumnRef] | None) -> tuple[int, list[int]]:
    """The 0-based target column and feature columns ``target`` and ``features`` name in ``table``.

    Raises:
        ArgumentError: naming ``target`` or ``features``: an unknown name, an index out of range, a
            column given twice, or the target among the features.
    """
    width = table.num_columns

    def resolve(argument: str, ref: Any) -> int:
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
                argument, f"{ref!r} is a column name, and {table.path} has no header line: use a 0-based index"
            )
        if ref not in table.names:
            shown = ", ".join(map(repr, table.names[:12])) + (", ..." if width > 12 else "")
            raise ArgumentError(argument, f"{ref!r} is not a column of {table.path}; its columns: {shown}")
        return table.names.index(ref)

    target_column = width - 1 if target is None else resolve("target", target)
    if features is None:
        return target_column, [c for c in range(width) if c != target_column]
    if isinstance(features, (str, int)) or not features:
        raise ArgumentError("features", f"must be a non-empty list of columns, got {features!r}")
    columns = [resolve("features", ref) for ref in features]
    for position, column in enumerate(columns):
        if column == target_column:
            raise ArgumentError("features", f"{features[position]!r} is the target column")
        if columns.index(column) != position:
            raise ArgumentError("features", f"{table.column_label(column)} is listed twice")
    return target_column, columns
