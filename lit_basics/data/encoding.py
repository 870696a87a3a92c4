"""From a table as read to the tensors a model sees, in one pass: missing values, the split, the
categorical levels and class names, the scaling, float32.

What is learned (levels, classes, scaling statistics) comes from the training rows only (class
names: from every row, as a response's factor levels in R) and is kept in an :class:`Encoding`,
saved in every checkpoint, so that held-out rows, new rows and a restored run are encoded exactly
as the training rows were:

- a numeric feature column is scaled (``scale``) and becomes one input;
- a categorical feature column (text, or named in ``categorical``) becomes one 0/1 input per level
  but the first in sorted order, the reference (R's treatment contrasts, scikit-learn's
  ``OneHotEncoder(drop="first")``), named ``column=level``; one-hot inputs are never scaled;
- a text target column is a class label: classes in sorted order (scikit-learn's ``classes_``).

Each column is turned into its inputs and then let go, so the table and the tensors are never both
held whole: the float32 features are the one copy of the data that stays.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from lit_basics.data.aliasing import Aliasing
from lit_basics.data.memory import check_room
from lit_basics.data.scaling import FeatureScaling
from lit_basics.data.table import DataFileError, Table
from lit_basics.data.writer import InputWriter, level_name
from lit_basics.errors import ArgumentError

__all__ = ["MISSING", "Encoded", "Encoding", "Missing", "check_classes", "encode_table", "feature_levels", "level_name"]

Missing = Literal["error", "drop"]
MISSING: tuple[str, ...] = ("error", "drop")


@dataclass(frozen=True)
class Encoding:
    """How a table's columns become the model's inputs and targets.

    Attributes:
        columns: each feature column's name (``x3`` without a header) and its levels (``None``:
            numeric; else the sorted levels, the first the reference).
        classes: the target's class names in sorted order, or ``None`` (numbers).
        scaling: the scaling of the inputs (one-hot inputs: offset 0, divisor 1).
        aliasing: the inputs left out of the model, each a linear combination of the intercept and
            the inputs before it (:mod:`~lit_basics.data.aliasing`); ``None``: not yet looked for
            (every input is the model's).
    """

    columns: tuple[tuple[str, tuple[Any, ...] | None], ...]
    classes: tuple[str, ...] | None
    scaling: FeatureScaling
    aliasing: Aliasing | None = None

    @property
    def input_names(self) -> list[str]:
        """The model's inputs, in order: a numeric column's name, ``column=level`` for one-hot ones."""
        names: list[str] = []
        for name, levels in self.columns:
            names.extend([name] if levels is None else [f"{name}={level_name(v)}" for v in levels[1:]])
        return names

    @property
    def kept(self) -> tuple[int, ...]:
        """The inputs the model sees (all but the aliased ones), ascending."""
        count = len(self.input_names)
        return tuple(range(count)) if self.aliasing is None else self.aliasing.kept

    @property
    def model_input_names(self) -> list[str]:
        """The names of the inputs the model sees, in order."""
        names = self.input_names
        return [names[i] for i in self.kept]

    @property
    def numeric_inputs(self) -> list[bool]:
        """For each input: whether it is a numeric column (else one of a one-hot column's)."""
        flags: list[bool] = []
        for _, levels in self.columns:
            flags.extend([True] if levels is None else [False] * (len(levels) - 1))
        return flags

    @property
    def model_numeric_inputs(self) -> list[bool]:
        """:attr:`numeric_inputs` of the inputs the model sees."""
        flags = self.numeric_inputs
        return [flags[i] for i in self.kept]

    @property
    def categorical(self) -> list[str]:
        return [name for name, levels in self.columns if levels is not None]

    def state_dict(self) -> dict[str, Any]:
        """Plain values (a checkpoint holds nothing else)."""
        return {
            "columns": [[name, None if levels is None else list(levels)] for name, levels in self.columns],
            "classes": None if self.classes is None else list(self.classes),
            "aliasing": None if self.aliasing is None else self.aliasing.state_dict(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], scaling: FeatureScaling) -> Encoding:
        columns = tuple((str(n), None if v is None else tuple(v)) for n, v in state["columns"])
        classes = None if state.get("classes") is None else tuple(state["classes"])
        encoding = cls(columns, classes, scaling)
        return dataclasses.replace(
            encoding, aliasing=Aliasing.from_state(state.get("aliasing"), len(encoding.input_names))
        )


@dataclass
class Encoded:
    """The tensors of a table and what was learned to make them.

    Attributes:
        x: ``(N, inputs)`` features, scaled and rounded once to the requested dtype: every input
            (a fixed encoding's: the model's inputs, the aliased ones left out).
        y: ``(N, 1)`` targets: numbers in ``dtype``, or int64 class labels; ``None`` for predict rows.
        encoding: the :class:`Encoding` used.
        rows: ``(N,)`` int64: each tensor row's row in the table (rows with a missing value dropped).
        dropped: the number of rows dropped for a missing value.
        table_rows: the number of data rows in the table.
        train_index: the training rows (``None``: all of them).
    """

    x: torch.Tensor
    y: torch.Tensor | None
    encoding: Encoding
    rows: np.ndarray
    dropped: int
    table_rows: int
    train_index: torch.Tensor | None


def check_classes(table: Table, target_column: int, classes: tuple[str, ...], num_classes: int | None) -> None:
    """A text target's class names can train a classifier of ``num_classes`` classes.

    Raises:
        DataFileError: one class only.
        ArgumentError: naming ``num_classes``, when it is not the number of class names.
    """
    if len(classes) < 2:
        raise DataFileError(
            f"{table.path}: the target {table.column_label(target_column)} holds one class, "
            f"{classes[0]!r}: a classifier needs rows of two classes or more"
        )
    if num_classes is not None and num_classes != len(classes):
        raise ArgumentError(
            "num_classes",
            f"is {num_classes}, but the target {table.column_label(target_column)} names "
            f"{len(classes)} classes: {', '.join(map(repr, classes[:10]))}",
        )


def encode_table(
    table: Table,
    *,
    feature_columns: Sequence[int],
    target_column: int | None,
    categorical: Sequence[int] = (),
    missing: Missing = "error",
    num_classes: int | None = None,
    scale: str = "none",
    split: Callable[[int], torch.Tensor | None] = lambda n: None,
    fixed: Encoding | None = None,
    dtype: torch.dtype = torch.float32,
    flag: str = "--data.init_args.missing=drop",
    room_checked: bool = False,
    out: np.ndarray | None = None,
) -> Encoded:
    """Turn ``table``'s columns into tensors; the read columns are released as they are used.

    Args:
        table: the table read (at least the feature and target columns).
        feature_columns: the feature columns, in the order the model sees them.
        target_column: the target column, ``None`` for rows to predict.
        categorical: feature columns to one-hot encode although they hold numbers (codes).
        missing: ``"error"``: a row with a missing value is an error naming how many there are and
            the first; ``"drop"``: such rows are dropped (predict rows: left without a prediction).
        num_classes: ``C`` when numeric targets are class labels ``0..C-1``.
        scale: ``"none"``, ``"max"`` or ``"standardize"`` (numeric inputs only).
        split: given the number of rows kept, the training rows' indices (``None``: all).
        fixed: encode with these levels, classes and scaling instead of learning them.
        dtype: of the features and of real-valued targets (float32, or float64 for ``precision=64``).
        flag: how the error message names the setting that drops rows.
        room_checked: the caller has checked the memory for every row these belong to (a shard
            read batch by batch): no :func:`~lit_basics.data.memory.check_room` per batch.
        out: where to write the features (a ``(rows, inputs)`` array of ``dtype``, rows kept): the
            destination's own memory, no array of this batch's.

    Raises:
        DataFileError: naming file, line and column: a missing value (``missing="error"``), a level
            unseen in the training rows, a target class label out of range, a value float32
            cannot hold; a column all missing.
        ArgumentError: ``num_classes`` that disagrees with the target's class names, ``scale="max"``
            on a column whose maximum is not positive.
    """
    used = [*feature_columns, *([] if target_column is None else [target_column])]
    rows, dropped = _complete_rows(table, used, missing, target_column is None, flag)
    take = None if dropped == 0 else pa.array(rows)

    def column_values(c: int) -> pa.ChunkedArray:
        values = table.columns.pop(c)  # let go of the column as read once it is taken
        return values if take is None else values.take(take)

    train_index = split(int(rows.size)) if fixed is None else None
    classes = None if fixed is None else fixed.classes
    y, classes = (None, classes) if target_column is None else _target(
        table, target_column, column_values(target_column), rows, classes, num_classes, dtype
    )  # fmt: skip
    columns = (
        list(fixed.columns)
        if fixed is not None
        else feature_levels(
            table,
            feature_columns,
            categorical,
            lambda c: table.columns[c] if take is None else table.columns[c].take(take),
            train_index,
        )
    )
    inputs = sum(1 if levels is None else len(levels) - 1 for _, levels in columns)
    if inputs == 0:
        raise DataFileError(f"{table.path}: the features hold no information: each categorical one has one level")
    if not room_checked:
        check_room(table.path, int(rows.size), columns, dtype)
    # Each input's column in x: a fixed encoding's aliased inputs are read and left out.
    kept = range(inputs) if fixed is None else fixed.kept
    x = out if out is not None else np.empty((rows.size, len(kept)), dtype=_numpy(dtype))
    writer = InputWriter(table, x, dict(zip(kept, range(len(kept)), strict=True)), rows)
    numeric = writer.one_hot(columns, feature_columns, column_values, known=fixed is not None)
    if fixed is not None:
        scaling = fixed.scaling
    else:
        names = Encoding(tuple(columns), classes, FeatureScaling.fit_columns("none", [])).input_names
        scaling = _learned_scaling(scale, numeric, inputs, train_index, names)
    writer.numeric(numeric, scaling)
    encoding = Encoding(tuple(columns), classes, scaling) if fixed is None else fixed
    return Encoded(torch.from_numpy(x), y, encoding, rows, dropped, table.num_rows, train_index)


def _numpy(dtype: torch.dtype) -> type:
    return np.float64 if dtype == torch.float64 else np.float32


def _complete_rows(table: Table, used: list[int], missing: Missing, predict: bool, flag: str) -> tuple[np.ndarray, int]:
    """The rows with no missing value in the columns used, and how many were dropped; an error for
    a column all missing, or for a missing value with ``missing="error"``."""
    for c in used:  # a column with no value at all cannot be used, whatever `missing` says
        if table.columns[c].null_count == table.num_rows:
            raise DataFileError(f"{table.path}: {table.column_label(c)} has no values (every row is missing)")
    incomplete = None
    for c in used:
        if table.columns[c].null_count:
            nulls = pc.is_null(table.columns[c])
            incomplete = nulls if incomplete is None else pc.or_(incomplete, nulls)
    if incomplete is None:
        return np.arange(table.num_rows, dtype=np.int64), 0
    mask = incomplete.to_numpy(zero_copy_only=False)
    count = int(mask.sum())
    if missing == "error":
        first = int(np.argmax(mask))
        column = next(c for c in used if not table.columns[c][first].is_valid)
        where = f"{table.location(first)}: {table.column_label(column)}: a missing value"
        if predict:  # new rows: each one must have a prediction
            raise DataFileError(
                f"{where} in a row to predict ({count} such rows; with {flag} they get an empty prediction)"
            )
        raise DataFileError(f"{where}; {count} of {table.num_rows} rows hold one (set {flag} to drop them)")
    rows = np.flatnonzero(~mask)
    if rows.size == 0:
        raise DataFileError(f"{table.path}: every row holds a missing value: nothing left to use")
    return rows, count


def _target(
    table: Table,
    column: int,
    target: pa.ChunkedArray,
    rows: np.ndarray,
    classes: tuple[str, ...] | None,
    num_classes: int | None,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, tuple[str, ...] | None]:
    """``y`` ``(N, 1)`` and the class names: a text target's labels (classes learned unless
    given), a numeric target's class labels (``num_classes``) or real values."""
    if not table.numeric(column):
        classes = classes if classes is not None else tuple(sorted(pc.unique(target).to_pylist()))
        check_classes(table, column, classes, num_classes)
        codes = pc.index_in(target, value_set=pa.array(classes, pa.string())).to_numpy(zero_copy_only=False)
        return torch.from_numpy(codes.astype(np.int64)).unsqueeze(1), classes
    values = target.to_numpy()
    if num_classes is not None:
        bad = np.flatnonzero((values != np.round(values)) | (values < 0) | (values >= num_classes))
        if bad.size:
            raise DataFileError(
                f"{table.location(int(rows[bad[0]]))}: class label must be an integer in "
                f"0..{num_classes - 1}, got {values[bad[0]]:g}"
            )
        return torch.from_numpy(values.astype(np.int64)).unsqueeze(1), None
    with np.errstate(over="ignore"):  # an overflow is found and named just below
        rounded = values.astype(_numpy(dtype))
    bad = np.flatnonzero(~np.isfinite(rounded))
    if bad.size:
        raise DataFileError(
            f"{table.location(int(rows[bad[0]]))}: the target column: {values[bad[0]]:g} "
            f"cannot be held in {'float64' if dtype == torch.float64 else 'float32'}"
        )
    return torch.from_numpy(rounded).unsqueeze(1), None


def feature_levels(
    table: Table,
    features: Sequence[int],
    categorical: Sequence[int],
    values: Callable[[int], pa.ChunkedArray],
    train_index: torch.Tensor | None,
    check: Callable[[int, pa.ChunkedArray, tuple[Any, ...]], None] | None = None,
) -> list[tuple[str, tuple[Any, ...] | None]]:
    """Each feature column's name and, for a categorical one, its sorted levels in the training
    rows (``None``: numeric); ``values(c)`` gives column ``c``'s used rows, and ``check`` sees each
    categorical column with its levels (the layout pass names a level seen only in held-out rows)."""
    names = [table.names[c] if table.names is not None else f"x{c}" for c in range(table.num_columns)]
    train = None if train_index is None else pa.array(train_index.numpy())
    columns: list[tuple[str, tuple[Any, ...] | None]] = []
    for c in features:
        if table.numeric(c) and c not in set(categorical):
            columns.append((names[c], None))
            continue
        column = values(c)
        levels = tuple(sorted(pc.unique(column if train is None else column.take(train)).to_pylist()))
        if check is not None:
            check(c, column, levels)
        columns.append((names[c], levels))
    return columns


def _learned_scaling(
    scale: str,
    numeric: list[tuple[int, int, int, pa.ChunkedArray]],
    inputs: int,
    train_index: torch.Tensor | None,
    names: list[str],
) -> FeatureScaling:
    """The scaling of the numeric inputs' training values, one column at a time (a whole column as
    float64 once, never the table)."""
    by_input = {start: values for _, _, start, values in numeric}
    train = None if train_index is None else train_index.numpy()

    def training_values(values: pa.ChunkedArray) -> np.ndarray:
        whole = np.concatenate([chunk.to_numpy() for chunk in values.chunks])
        return whole if train is None else whole[train]

    statistics = (training_values(by_input[i]) if i in by_input else None for i in range(inputs))
    return FeatureScaling.fit_columns(scale, statistics, names)
