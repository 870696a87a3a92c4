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
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from lit_basics.data.aliasing import Aliasing
from lit_basics.data.reader import DataFileError, Table, first_text
from lit_basics.data.scaling import FeatureScaling
from lit_basics.errors import ArgumentError

__all__ = ["MISSING", "Encoded", "Encoding", "Layout", "Missing", "encode_table", "learn_layout", "level_name"]

Missing = Literal["error", "drop"]
MISSING: tuple[str, ...] = ("error", "drop")


def level_name(value: Any) -> str:
    """How a level is written in a column name and a message: text as it is, ``3`` for 3.0.

    Example:
        >>> level_name(3.0), level_name(2.5), level_name("Dream")
        ('3', '2.5', 'Dream')
    """
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return str(value)


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


def available_memory() -> int | None:
    """Bytes this process can still allocate: ``MemAvailable`` of ``/proc/meminfo``, less where a
    cgroup (a container's limit) leaves less; ``None`` where neither can be read (not Linux)."""
    room: list[int] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                room.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            room.append(int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text()))
    except (OSError, ValueError):
        pass
    return min(room) if room else None


def _bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # the loop returns at TiB


def check_room(path: Any, rows: int, columns: Sequence[tuple[str, tuple[Any, ...] | None]], dtype: torch.dtype) -> None:
    """Refuse, before allocating it, an encoded table larger than the memory left: a text column
    with a level on almost every row (a name, an id) one-hot encodes into as many inputs as rows,
    and ``rows x inputs`` floats would otherwise end in a MemoryError or the kernel's OOM killer.

    Args:
        path: the table's file, named in the error.
        rows: the rows to hold.
        columns: as :attr:`Encoding.columns`: each feature column's name and levels (``None``: numeric).
        dtype: of the features.

    Raises:
        DataFileError: naming the size, the memory available and the widest one-hot column.
    """
    inputs = sum(1 if levels is None else len(levels) - 1 for _, levels in columns)
    needed = rows * inputs * (8 if dtype == torch.float64 else 4)
    room = available_memory()
    if room is None or needed <= room:
        return
    widest = max(((len(levels), name) for name, levels in columns if levels is not None), default=None)
    hint = ""
    if widest is not None and widest[0] - 1 > inputs // 2:
        hint = (
            f": {widest[1]!r} alone is one-hot encoded into {widest[0] - 1:,} inputs; leave it out "
            "with --data.init_args.features"
        )
    raise DataFileError(
        f"{path}: the encoded features would take {_bytes(needed)} ({rows:,} rows x {inputs:,} inputs, "
        f"{str(dtype).removeprefix('torch.')}) and {_bytes(room)} of memory is available{hint}"
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
            read batch by batch): no :func:`check_room` per batch.

    Raises:
        DataFileError: naming file, line and column: a missing value (``missing="error"``), a level
            unseen in the training rows, a target class label out of range, a value float32
            cannot hold; a column all missing.
        ArgumentError: ``num_classes`` that disagrees with the target's class names, ``scale="max"``
            on a column whose maximum is not positive.
    """
    names = [table.names[c] if table.names is not None else f"x{c}" for c in range(table.num_columns)]
    used = [*feature_columns, *([] if target_column is None else [target_column])]
    for c in used:  # a column with no value at all cannot be used, whatever `missing` says
        if table.columns[c].null_count == table.num_rows:
            raise DataFileError(f"{table.path}: {table.column_label(c)} has no values (every row is missing)")

    # --- missing values: one mask over the columns used --------------------------------------
    incomplete = None
    for c in used:
        if table.columns[c].null_count:
            nulls = pc.is_null(table.columns[c])
            incomplete = nulls if incomplete is None else pc.or_(incomplete, nulls)
    dropped = 0
    rows = np.arange(table.num_rows, dtype=np.int64)
    if incomplete is not None:
        mask = incomplete.to_numpy(zero_copy_only=False)
        count = int(mask.sum())
        if missing == "error":
            first = int(np.argmax(mask))
            column = next(c for c in used if not table.columns[c][first].is_valid)
            where = f"{table.location(first)}: {table.column_label(column)}: a missing value"
            if target_column is None:  # new rows: each one must have a prediction
                raise DataFileError(
                    f"{where} in a row to predict ({count} such rows; with {flag} they get an empty prediction)"
                )
            raise DataFileError(f"{where}; {count} of {table.num_rows} rows hold one (set {flag} to drop them)")
        rows = np.flatnonzero(~mask)
        dropped = count
        if rows.size == 0:
            raise DataFileError(f"{table.path}: every row holds a missing value: nothing left to use")
    keep = None if dropped == 0 else pa.array(rows)

    def column_values(c: int) -> pa.ChunkedArray:
        values = table.columns.pop(c)  # let go of the column as read once it is taken
        return values if keep is None else values.take(keep)

    n = int(rows.size)
    train_index = split(n) if fixed is None else None
    train_np = None if train_index is None else train_index.numpy()

    # --- the target -------------------------------------------------------------------------
    y: torch.Tensor | None = None
    classes = None if fixed is None else fixed.classes
    if target_column is not None:
        target = column_values(target_column)
        if not table.numeric(target_column):
            if fixed is None:
                classes = tuple(sorted(pc.unique(target).to_pylist()))
            assert classes is not None
            check_classes(table, target_column, classes, num_classes)
            codes = pc.index_in(target, value_set=pa.array(classes, pa.string())).to_numpy(zero_copy_only=False)
            y = torch.from_numpy(codes.astype(np.int64)).unsqueeze(1)
        else:
            values = target.to_numpy()
            if num_classes is not None:
                bad = np.flatnonzero((values != np.round(values)) | (values < 0) | (values >= num_classes))
                if bad.size:
                    raise DataFileError(
                        f"{table.location(int(rows[bad[0]]))}: class label must be an integer in "
                        f"0..{num_classes - 1}, got {values[bad[0]]:g}"
                    )
                y = torch.from_numpy(values.astype(np.int64)).unsqueeze(1)
            else:
                with np.errstate(over="ignore"):  # an overflow is found and named just below
                    rounded = values.astype(np.float64 if dtype == torch.float64 else np.float32)
                bad = np.flatnonzero(~np.isfinite(rounded))
                if bad.size:
                    raise DataFileError(
                        f"{table.location(int(rows[bad[0]]))}: the target column: {values[bad[0]]:g} "
                        f"cannot be held in {'float64' if dtype == torch.float64 else 'float32'}"
                    )
                y = torch.from_numpy(rounded).unsqueeze(1)
            classes = None

    # --- the features: levels, then the scaling, column by column -------------------------------
    categorical_set = set(categorical)
    if fixed is None:
        columns: list[tuple[str, tuple[Any, ...] | None]] = []
        for c in feature_columns:
            if table.numeric(c) and c not in categorical_set:
                columns.append((names[c], None))
                continue
            values = table.columns[c] if keep is None else table.columns[c].take(keep)
            training = values if train_np is None else values.take(pa.array(train_np))
            levels = pc.unique(training).to_pylist()
            columns.append((names[c], tuple(sorted(levels))))
    else:
        columns = list(fixed.columns)
    widths = [1 if levels is None else len(levels) - 1 for _, levels in columns]
    total = sum(widths)
    if total == 0:
        raise DataFileError(f"{table.path}: the features hold no information: each categorical one has one level")
    if not room_checked:
        check_room(table.path, n, columns, dtype)
    # Each input's column in x: a fixed encoding's aliased inputs are read and left out.
    kept = range(total) if fixed is None else fixed.kept
    destination = dict(zip(kept, range(len(kept)), strict=True))
    x_np = np.empty((n, len(kept)), dtype=np.float64 if dtype == torch.float64 else np.float32)
    starts = np.cumsum([0, *widths]).tolist()
    # (position, column, input, values): numeric columns wait for the scaling, as read (in chunks:
    # a whole column as one array would be a second copy of it).
    numeric: list[tuple[int, int, int, pa.ChunkedArray]] = []
    for position, ((_, levels), c, start) in enumerate(zip(columns, feature_columns, starts, strict=False)):
        if levels is None:
            if not table.numeric(c):
                row, text = first_text(column_values(c))
                raise DataFileError(
                    f"{table.location(int(rows[row]))}: {table.column_label(c)}: {text!r} is not a number "
                    "(the training data has numbers in this column)"
                )
            numeric.append((position, c, start, column_values(c)))
            continue
        values = column_values(c)
        if table.numeric(c):
            value_set = pa.array([float(v) for v in levels], pa.float64())
        else:
            value_set = pa.array([level_name(v) for v in levels], pa.string())  # 3.0 is written 3
        codes = pc.index_in(values, value_set=value_set).to_numpy(zero_copy_only=False)
        if codes.dtype.kind == "f" and np.isnan(codes).any():
            row = int(np.flatnonzero(np.isnan(codes))[0])
            where = "in training" if fixed is not None else "in the training rows (it is only in held-out rows)"
            raise DataFileError(
                f"{table.location(int(rows[row]))}: {table.column_label(c)}: level "
                f"{level_name(values[row].as_py())!r} was not seen {where}; the levels: "
                f"{', '.join(repr(level_name(v)) for v in levels[:10])}{', ...' if len(levels) > 10 else ''}"
            )
        codes = codes.astype(np.int64)
        for k in range(1, len(levels)):
            if start + k - 1 in destination:
                x_np[:, destination[start + k - 1]] = codes == k
    if fixed is None:
        by_input = {start: values for _, _, start, values in numeric}

        def training_values(values: pa.ChunkedArray) -> np.ndarray:
            whole = np.concatenate([chunk.to_numpy() for chunk in values.chunks])  # one column at a time
            return whole if train_np is None else whole[train_np]

        input_names = Encoding(tuple(columns), classes, FeatureScaling.fit_columns("none", [])).input_names
        statistics = (training_values(by_input[i]) if i in by_input else None for i in range(total))
        scaling = FeatureScaling.fit_columns(scale, statistics, input_names)
        del by_input
    else:
        scaling = fixed.scaling
    while numeric:
        position, c, start, values = numeric.pop(0)
        if start not in destination:  # aliased: not the model's
            del values
            continue
        column = destination[start]
        offset = 0
        for chunk in values.chunks:
            raw = chunk.to_numpy()
            with np.errstate(over="ignore"):  # an overflow is found and named just below
                x_np[offset : offset + len(raw), column] = scaling.apply_column(start, raw)
            bad = np.flatnonzero(~np.isfinite(x_np[offset : offset + len(raw), column]))
            if bad.size:
                once = "" if scaling.identity else f" once scaled ({scaling.kind})"
                label = f"feature {position + 1} ({names[c]!r})" if table.names is not None else table.column_label(c)
                raise DataFileError(
                    f"{table.location(int(rows[offset + bad[0]]))}: {label}: {raw[bad[0]]:g} cannot be held in "
                    f"{'float32' if dtype == torch.float32 else 'float64'}{once}"
                )
            offset += len(raw)
        del values  # this column's chunks are let go of before the next one is converted
    encoding = Encoding(tuple(columns), classes, scaling) if fixed is None else fixed
    return Encoded(torch.from_numpy(x_np), y, encoding, rows, dropped, table.num_rows, train_index)


@dataclass
class Layout:
    """What one pass over a table taught, holding none of its rows (:func:`learn_layout`): enough
    to know the model's inputs before the rows are read, and which rows each process reads.

    Attributes:
        table: the table's shell (names, numeric columns, locations; no values).
        rows: ``(N,)`` int64: the file's data rows that are used (rows with a missing value dropped).
        dropped: the number of rows dropped for a missing value.
        train_index: the training rows among ``rows`` (``None``: all of them).
        encoding: the levels and class names; its scaling is a placeholder (``"none"``) until the
            rows are read (the statistics are sums over every process's training rows).
        binary_targets: every target is 0 or 1 (what logistic regression needs).
    """

    table: Table
    rows: np.ndarray
    dropped: int
    train_index: torch.Tensor | None
    encoding: Encoding
    binary_targets: bool


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
    """:func:`encode_table`'s checks and what it learns but the scaling, in one streaming pass over
    the table (``scan``: :func:`~lit_basics.data.reader.scan_table` with the columns used), keeping
    only the categorical columns' and a text target's values and one flag per row.

    Raises:
        DataFileError, ArgumentError: what :func:`encode_table` raises, with the same messages
            (but a value that overflows float32 once scaled: that is found when the rows are read).
    """
    used = [*feature_columns, target_column]
    categorical_set = set(categorical)
    f32 = float(np.finfo(np.float32).max)

    class Visit:
        def __init__(self, table: Table) -> None:
            self.table = table
            self.masks: list[np.ndarray] = []
            self.present = dict.fromkeys(used, 0)
            self.first_null: dict[int, int] = {}
            self.kept: dict[int, list[pa.Array]] = {
                c: [] for c in used if not table.numeric(c) or (c in categorical_set and c != target_column)
            }
            self.bad_target: tuple[int, float] | None = None
            self.bad_feature: tuple[int, int, float] | None = None
            self.binary = True

        def __call__(self, first: int, arrays: dict[int, pa.Array]) -> None:
            length = len(arrays[used[0]])
            incomplete = np.zeros(length, dtype=bool)
            for c in used:
                values = arrays[c]
                self.present[c] += length - values.null_count
                if values.null_count:
                    nulls = pc.is_null(values).to_numpy(zero_copy_only=False)
                    if c not in self.first_null:
                        self.first_null[c] = first + int(np.argmax(nulls))
                    incomplete |= nulls
            self.masks.append(incomplete)
            for c, chunks in self.kept.items():
                chunks.append(arrays[c])
            complete = ~incomplete
            if self.table.numeric(target_column):
                values = arrays[target_column].to_numpy(zero_copy_only=False)[complete]
                where = np.flatnonzero(complete)
                if num_classes is not None:
                    bad = np.flatnonzero((values != np.round(values)) | (values < 0) | (values >= num_classes))
                else:  # real values: the float32 range (float64 holds what was read)
                    bad = np.flatnonzero(np.abs(values) > f32)
                self.binary = self.binary and bool(np.all((values == 0) | (values == 1)))
                if bad.size and self.bad_target is None:
                    self.bad_target = (first + int(where[bad[0]]), float(values[bad[0]]))
            if scale == "none" and self.bad_feature is None:
                for c in feature_columns:
                    if self.table.numeric(c) and c not in categorical_set:
                        values = arrays[c].to_numpy(zero_copy_only=False)
                        with np.errstate(invalid="ignore"):
                            bad = np.flatnonzero(complete & (np.abs(values) > f32))
                        if bad.size:
                            self.bad_feature = (first + int(bad[0]), c, float(values[bad[0]]))
                            break

    visits: list[Visit] = []

    def start(table: Table) -> Visit:
        visits.clear()
        visits.append(Visit(table))
        return visits[0]

    table = scan(start)
    visit = visits[0]
    names = [table.names[c] if table.names is not None else f"x{c}" for c in range(table.num_columns)]
    for c in used:
        if visit.present[c] == 0:
            raise DataFileError(f"{table.path}: {table.column_label(c)} has no values (every row is missing)")
    mask = np.concatenate(visit.masks)
    visit.masks.clear()
    count = int(mask.sum())
    if count and missing == "error":
        row = int(np.argmax(mask))
        column = next(c for c in used if visit.first_null.get(c) == row)
        raise DataFileError(
            f"{table.location(row)}: {table.column_label(column)}: a missing value; {count} of {table.num_rows} "
            f"rows hold one (set {flag} to drop them)"
        )
    rows = np.flatnonzero(~mask)
    if rows.size == 0:
        raise DataFileError(f"{table.path}: every row holds a missing value: nothing left to use")
    take = None if count == 0 else pa.array(rows)

    def kept(c: int) -> pa.ChunkedArray:
        values = pa.chunked_array(visit.kept.pop(c), type=pa.string() if not table.numeric(c) else pa.float64())
        return values if take is None else values.take(take)

    train_index = split(int(rows.size))
    train = None if train_index is None else pa.array(train_index.numpy())

    classes: tuple[str, ...] | None = None
    if not table.numeric(target_column):
        target = kept(target_column)
        classes = tuple(sorted(pc.unique(target).to_pylist()))
        check_classes(table, target_column, classes, num_classes)
        del target
    elif visit.bad_target is not None:
        row, value = visit.bad_target
        if num_classes is not None:
            raise DataFileError(
                f"{table.location(row)}: class label must be an integer in 0..{num_classes - 1}, got {value:g}"
            )
        raise DataFileError(f"{table.location(row)}: the target column: {value:g} cannot be held in float32")

    columns: list[tuple[str, tuple[Any, ...] | None]] = []
    for c in feature_columns:
        if table.numeric(c) and c not in categorical_set:
            columns.append((names[c], None))
            continue
        values = kept(c)
        training = values if train is None else values.take(train)
        levels = tuple(sorted(pc.unique(training).to_pylist()))
        if train is not None:  # a level only in held-out rows is named, as encode_table does
            value_set = pa.array(list(levels), values.type)
            codes = pc.index_in(values, value_set=value_set)
            if codes.null_count:
                row = int(pc.index(pc.is_null(codes), True).as_py())
                raise DataFileError(
                    f"{table.location(int(rows[row]))}: {table.column_label(c)}: level "
                    f"{level_name(values[row].as_py())!r} was not seen in the training rows (it is only in held-out "
                    f"rows); the levels: {', '.join(repr(level_name(v)) for v in levels[:10])}"
                    f"{', ...' if len(levels) > 10 else ''}"
                )
        columns.append((names[c], levels))
    widths = [1 if levels is None else len(levels) - 1 for _, levels in columns]
    if sum(widths) == 0:
        raise DataFileError(f"{table.path}: the features hold no information: each categorical one has one level")
    if visit.bad_feature is not None:
        row, c, value = visit.bad_feature
        position = list(feature_columns).index(c)
        label = f"feature {position + 1} ({names[c]!r})" if table.names is not None else table.column_label(c)
        raise DataFileError(f"{table.location(row)}: {label}: {value:g} cannot be held in float32")
    placeholder = FeatureScaling.fit_columns("none", [None] * sum(widths))
    encoding = Encoding(tuple(columns), classes, placeholder)
    binary = visit.binary if classes is None else len(classes) == 2  # class names: codes 0..C-1
    return Layout(table, rows, count, train_index, encoding, binary)
