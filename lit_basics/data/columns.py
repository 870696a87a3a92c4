"""Choosing a table's columns: the target and the features by header name or 0-based index."""

from __future__ import annotations

from typing import Any

from lit_basics.data.sniff import Header
from lit_basics.data.table import Table
from lit_basics.errors import ArgumentError

__all__ = ["ColumnRef", "column_label", "resolve_column", "select_categorical", "select_columns"]

ColumnRef = int | str


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
