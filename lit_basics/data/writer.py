"""Writing a table's inputs into the features array: one-hot columns as their level codes come,
numeric columns scaled, each value computed in float64 and rounded once into its destination."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lit_basics.data.scaling import FeatureScaling
from lit_basics.data.table import DataFileError, Table, first_text

__all__ = ["InputWriter", "level_name"]


def level_name(value: Any) -> str:
    """How a level is written in a column name and a message: text as it is, ``3`` for 3.0.

    Example:
        >>> level_name(3.0), level_name(2.5), level_name("Dream")
        ('3', '2.5', 'Dream')
    """
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return str(value)


class InputWriter:
    """Writes a table's inputs into the rows of ``x``: one-hot columns as their codes come, numeric
    columns once the scaling is known, straight into ``x``'s own columns, in float64 and rounded once."""

    def __init__(self, table: Table, x: np.ndarray, destination: dict[int, int], rows: np.ndarray) -> None:
        self.table, self.x, self.destination, self.rows = table, x, destination, rows

    def one_hot(
        self,
        columns: list[tuple[str, tuple[Any, ...] | None]],
        features: Sequence[int],
        values_of: Callable[[int], pa.ChunkedArray],
        *,
        known: bool,
    ) -> list[tuple[int, int, int, pa.ChunkedArray]]:
        """Write the one-hot inputs; the numeric columns ``(position, column, input, values)``, to write."""
        table, numeric, start = self.table, [], 0
        for position, ((_, levels), c) in enumerate(zip(columns, features, strict=False)):
            if levels is None:
                if not table.numeric(c):
                    row, text = first_text(values_of(c))
                    raise DataFileError(
                        f"{table.location(int(self.rows[row]))}: {table.column_label(c)}: {text!r} is not a number "
                        "(the training data has numbers in this column)"
                    )
                numeric.append((position, c, start, values_of(c)))
                start += 1
                continue
            self._codes(c, levels, values_of(c), start, known)
            start += len(levels) - 1
        return numeric

    def _codes(self, c: int, levels: tuple[Any, ...], values: pa.ChunkedArray, start: int, known: bool) -> None:
        table = self.table
        if table.numeric(c):
            value_set = pa.array([float(v) for v in levels], pa.float64())
        else:
            value_set = pa.array([level_name(v) for v in levels], pa.string())  # 3.0 is written 3
        codes = pc.index_in(values, value_set=value_set).to_numpy(zero_copy_only=False)
        if codes.dtype.kind == "f" and np.isnan(codes).any():
            row = int(np.flatnonzero(np.isnan(codes))[0])
            where = "in training" if known else "in the training rows (it is only in held-out rows)"
            raise DataFileError(
                f"{table.location(int(self.rows[row]))}: {table.column_label(c)}: level "
                f"{level_name(values[row].as_py())!r} was not seen {where}; the levels: "
                f"{', '.join(repr(level_name(v)) for v in levels[:10])}{', ...' if len(levels) > 10 else ''}"
            )
        codes = codes.astype(np.int64)
        for k in range(1, len(levels)):
            if start + k - 1 in self.destination:
                self.x[:, self.destination[start + k - 1]] = codes == k

    def numeric(self, numeric: list[tuple[int, int, int, pa.ChunkedArray]], scaling: FeatureScaling) -> None:
        """Write the numeric inputs, each chunk's float64 values scaled and rounded once into ``x``."""
        table, x = self.table, self.x
        while numeric:
            position, c, start, values = numeric.pop(0)
            if start not in self.destination:  # aliased: not the model's
                continue
            column, offset = self.destination[start], 0
            for chunk in values.chunks:
                raw = chunk.to_numpy()
                target = x[offset : offset + len(raw), column]
                with np.errstate(over="ignore"):  # an overflow is found and named just below
                    scaling.apply_column(start, raw, out=target)
                bad = np.flatnonzero(~np.isfinite(target))
                if bad.size:
                    once = "" if scaling.identity else f" once scaled ({scaling.kind})"
                    name = table.names[c] if table.names is not None else None
                    label = f"feature {position + 1} ({name!r})" if name is not None else table.column_label(c)
                    raise DataFileError(
                        f"{table.location(int(self.rows[offset + bad[0]]))}: {label}: {raw[bad[0]]:g} cannot be held "
                        f"in {'float32' if x.dtype == np.float32 else 'float64'}{once}"
                    )
                offset += len(raw)
            del values  # this column's chunks are let go of before the next one is converted
