"""Learning a table's layout in one streaming pass that holds none of its rows: which rows are used
(missing values), the held-out split, the categorical columns' levels and the target's class names
(from the training rows, as the encoding needs them), the numeric columns' moments, and every check
the encoding makes, with the same messages. What it learns is enough to know the model's inputs
before any row is encoded, and which rows each process reads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from lit_basics.data.encoding import Encoding, Missing, check_classes, feature_levels, level_name
from lit_basics.data.scaling import ColumnMoments, FeatureScaling
from lit_basics.data.table import DataFileError, Table

__all__ = ["Layout", "learn_layout"]

#: float32's largest value: a real target or an unscaled feature beyond it cannot be held.
_F32 = float(np.finfo(np.float32).max)


@dataclass
class Layout:
    """What one pass over a table taught, holding none of its rows (:func:`learn_layout`).

    Attributes:
        table: the table's shell (names, numeric columns, locations; no values).
        rows: ``(N,)`` int64: the file's data rows that are used (rows with a missing value dropped).
        dropped: the number of rows dropped for a missing value.
        train_index: the training rows among ``rows`` (``None``: all of them).
        encoding: the levels and class names; its scaling is a placeholder (``"none"``) until the
            rows are read (the statistics are the training rows').
        binary_targets: every target is 0 or 1 (what logistic regression needs).
        moments: the numeric inputs' moments over every used row (``None`` with ``scale="none"``):
            with no rows held out, the training rows' own, and so their scaling.
    """

    table: Table
    rows: np.ndarray
    dropped: int
    train_index: torch.Tensor | None
    encoding: Encoding
    binary_targets: bool
    moments: ColumnMoments | None = None

    def used_rows_scaling(self, kind: str) -> FeatureScaling:
        """The scaling ``kind`` of every used row (from :attr:`moments`)."""
        if kind == "none" or self.moments is None:
            return FeatureScaling.fit_columns("none", [None] * len(self.encoding.input_names))
        return FeatureScaling.from_moments(kind, self.moments, self.encoding.numeric_inputs, self.encoding.input_names)

    def training_scaling(self, kind: str) -> FeatureScaling | None:
        """The training rows' scaling, when this pass knows it (every used row trains), else ``None``."""
        return self.used_rows_scaling(kind) if self.train_index is None else None


class _Visit:
    """What one pass keeps of each batch: missing values (a flag per row), the categorical and text
    columns' values, the target's checks, the numeric features' moments, the first bad value."""

    def __init__(
        self, table: Table, used: list[int], features: Sequence[int], target: int, options: dict[str, Any]
    ) -> None:
        self.table, self.used, self.features, self.target = table, used, list(features), target
        self.categorical: set[int] = set(options["categorical"])
        self.num_classes, self.scale = options["num_classes"], options["scale"]
        self.masks: list[np.ndarray] = []
        self.present = dict.fromkeys(used, 0)
        self.first_null: dict[int, int] = {}
        self.kept: dict[int, list[pa.Array]] = {
            c: [] for c in used if not table.numeric(c) or (c in self.categorical and c != target)
        }
        self.numeric = [c for c in self.features if table.numeric(c) and c not in self.categorical]
        self.moments = ColumnMoments.empty(len(self.numeric)) if self.scale != "none" else None
        self.bad_target: tuple[int, float] | None = None
        self.bad_feature: tuple[int, int, float] | None = None
        self.binary = True

    def __call__(self, first: int, arrays: dict[int, pa.Array]) -> None:
        incomplete = self._missing(first, arrays)
        self.masks.append(incomplete)
        for c, chunks in self.kept.items():
            chunks.append(arrays[c])
        complete = ~incomplete
        if self.table.numeric(self.target):
            self._target(first, arrays[self.target], complete)
        if self.moments is not None and self.numeric:
            every = not incomplete.any()  # the usual batch: the columns as read, no copy
            columns = [arrays[c].to_numpy(zero_copy_only=False) for c in self.numeric]
            self.moments.update_columns(columns if every else [column[complete] for column in columns])
        elif self.scale == "none" and self.bad_feature is None:
            self._unscaled(first, arrays, complete)

    def _missing(self, first: int, arrays: dict[int, pa.Array]) -> np.ndarray:
        incomplete = np.zeros(len(arrays[self.used[0]]), dtype=bool)
        for c in self.used:
            values = arrays[c]
            self.present[c] += len(values) - values.null_count
            if values.null_count:
                nulls = pc.is_null(values).to_numpy(zero_copy_only=False)
                self.first_null.setdefault(c, first + int(np.argmax(nulls)))
                incomplete |= nulls
        return incomplete

    def _target(self, first: int, target: pa.Array, complete: np.ndarray) -> None:
        values = target.to_numpy(zero_copy_only=False)[complete]
        where = np.flatnonzero(complete)
        if self.num_classes is not None:
            bad = np.flatnonzero((values != np.round(values)) | (values < 0) | (values >= self.num_classes))
        else:  # real values: the float32 range (float64 holds what was read)
            bad = np.flatnonzero(np.abs(values) > _F32)
        self.binary = self.binary and bool(np.all((values == 0) | (values == 1)))
        if bad.size and self.bad_target is None:
            self.bad_target = (first + int(where[bad[0]]), float(values[bad[0]]))

    def _unscaled(self, first: int, arrays: dict[int, pa.Array], complete: np.ndarray) -> None:
        """Unscaled, a feature beyond float32's range cannot be held (scaled, reading the rows finds it)."""
        for c in self.numeric:
            values = arrays[c].to_numpy(zero_copy_only=False)
            with np.errstate(invalid="ignore"):
                bad = np.flatnonzero(complete & (np.abs(values) > _F32))
            if bad.size:
                self.bad_feature = (first + int(bad[0]), c, float(values[bad[0]]))
                return


def learn_layout(
    scan: Callable[[Callable[[Table], Callable[[int, dict[int, pa.Array]], None]]], Table],
    *,
    feature_columns: Sequence[int],
    target_column: int,
    categorical: Sequence[int] = (),
    missing: Missing = "error",
    num_classes: int | None = None,
    scale: str = "none",
    split: Callable[[int], torch.Tensor | None] = lambda n: None,
    flag: str = "--data.init_args.missing=drop",
) -> Layout:
    """What :func:`~lit_basics.data.encoding.encode_table` learns and checks, but the training rows'
    scaling, in one streaming pass over the table (``scan``: :func:`~lit_basics.data.reader.scan_table`
    with the columns used), keeping only the categorical columns' and a text target's values, one
    flag per row and the numeric columns' moments.

    Raises:
        DataFileError, ArgumentError: what :func:`~lit_basics.data.encoding.encode_table` raises, with
            the same messages (but a value that overflows float32 once scaled: reading the rows finds it).
    """
    used = [*feature_columns, target_column]
    options = {"categorical": categorical, "num_classes": num_classes, "scale": scale}
    visits: list[_Visit] = []

    def start(table: Table) -> _Visit:  # a scan that restarts (a late text column) starts a new visit
        visits.clear()
        visits.append(_Visit(table, used, feature_columns, target_column, options))
        return visits[0]

    table = scan(start)
    visit = visits[0]
    rows, count = _used_rows(table, visit, missing, flag)
    train_index = split(int(rows.size))
    take = None if count == 0 else pa.array(rows)
    classes = _classes(table, visit, target_column, num_classes, take)
    columns = _levels(table, visit, feature_columns, categorical, rows, take, train_index)
    _check_features(table, visit, feature_columns, columns)
    placeholder = FeatureScaling.fit_columns("none", [None] * sum(1 if v is None else len(v) - 1 for _, v in columns))
    encoding = Encoding(tuple(columns), classes, placeholder)
    binary = visit.binary if classes is None else len(classes) == 2  # class names: codes 0..C-1
    return Layout(table, rows, count, train_index, encoding, binary, visit.moments)


def _used_rows(table: Table, visit: _Visit, missing: Missing, flag: str) -> tuple[np.ndarray, int]:
    """The rows without a missing value, and how many have one (``missing="error"``: an error)."""
    for c in visit.used:
        if visit.present[c] == 0:
            raise DataFileError(f"{table.path}: {table.column_label(c)} has no values (every row is missing)")
    mask = np.concatenate(visit.masks)
    visit.masks.clear()
    count = int(mask.sum())
    if count and missing == "error":
        row = int(np.argmax(mask))
        column = next(c for c in visit.used if visit.first_null.get(c) == row)
        raise DataFileError(
            f"{table.location(row)}: {table.column_label(column)}: a missing value; {count} of {table.num_rows} "
            f"rows hold one (set {flag} to drop them)"
        )
    rows = np.flatnonzero(~mask)
    if rows.size == 0:
        raise DataFileError(f"{table.path}: every row holds a missing value: nothing left to use")
    return rows, count


def _kept(table: Table, visit: _Visit, c: int, take: pa.Array | None) -> pa.ChunkedArray:
    values = pa.chunked_array(visit.kept.pop(c), type=pa.string() if not table.numeric(c) else pa.float64())
    return values if take is None else values.take(take)


def _classes(
    table: Table, visit: _Visit, target: int, num_classes: int | None, take: pa.Array | None
) -> tuple[str, ...] | None:
    """A text target's class names (checked); a numeric target's first bad value is an error."""
    if not table.numeric(target):
        classes = tuple(sorted(pc.unique(_kept(table, visit, target, take)).to_pylist()))
        check_classes(table, target, classes, num_classes)
        return classes
    if visit.bad_target is not None:
        row, value = visit.bad_target
        if num_classes is not None:
            raise DataFileError(
                f"{table.location(row)}: class label must be an integer in 0..{num_classes - 1}, got {value:g}"
            )
        raise DataFileError(f"{table.location(row)}: the target column: {value:g} cannot be held in float32")
    return None


def _levels(
    table: Table,
    visit: _Visit,
    features: Sequence[int],
    categorical: Sequence[int],
    rows: np.ndarray,
    take: pa.Array | None,
    train_index: torch.Tensor | None,
) -> list[tuple[str, tuple[Any, ...] | None]]:
    """Each feature column's name and its levels from the training rows (``None``: numeric); a
    level only in held-out rows is named, as the encoding would."""

    def seen_in_training(c: int, values: pa.ChunkedArray, levels: tuple[Any, ...]) -> None:
        if train_index is None:
            return
        codes = pc.index_in(values, value_set=pa.array(list(levels), values.type))
        if codes.null_count:
            row = int(pc.index(pc.is_null(codes), True).as_py())
            raise DataFileError(
                f"{table.location(int(rows[row]))}: {table.column_label(c)}: level "
                f"{level_name(values[row].as_py())!r} was not seen in the training rows (it is only in held-out "
                f"rows); the levels: {', '.join(repr(level_name(v)) for v in levels[:10])}"
                f"{', ...' if len(levels) > 10 else ''}"
            )

    return feature_levels(
        table, features, categorical, lambda c: _kept(table, visit, c, take), train_index, seen_in_training
    )


def _check_features(
    table: Table, visit: _Visit, features: Sequence[int], columns: list[tuple[str, tuple[Any, ...] | None]]
) -> None:
    """At least one input, and no unscaled value float32 cannot hold."""
    if sum(1 if levels is None else len(levels) - 1 for _, levels in columns) == 0:
        raise DataFileError(f"{table.path}: the features hold no information: each categorical one has one level")
    if visit.bad_feature is not None:
        row, c, value = visit.bad_feature
        position = list(features).index(c)
        names = table.names
        label = f"feature {position + 1} ({names[c]!r})" if names is not None else table.column_label(c)
        raise DataFileError(f"{table.location(row)}: {label}: {value:g} cannot be held in float32")
