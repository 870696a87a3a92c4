"""Reading a user's table: CSV (any common delimiter, compressed or not) and Parquet, with pyarrow:
whole (:func:`read_table`), a batch at a time keeping nothing (:func:`scan_table`), or the rows a
process holds (:func:`read_batches`).

The reader is pyarrow's streaming CSV reader (C++): measured on a 1,000,000 x 31 CSV of numbers
here it reads in ~5 s with a peak of ~430 MB, where ``pyarrow.csv.read_csv`` and
``pandas.read_csv`` peak at ~900 MB (``docs/performance.md``). It holds each column it is asked for
once, as float64 (numbers) or text, and nothing else. Sniffing a CSV's first lines (delimiter,
header): :mod:`~lit_basics.data.sniff`; reading CSV: :mod:`~lit_basics.data.csv_reader`; Parquet:
:mod:`~lit_basics.data.parquet_reader`; the table as read: :mod:`~lit_basics.data.table`.

- **Missing values**: an empty field, ``NA``, ``N/A``, ``NaN``, ``nan``, ``null``, ``NULL``,
  ``None`` or ``?`` (and null/NaN in Parquet) is missing; what to do with it is the data module's
  ``missing``.
- **Types**: a column is numeric when every value that is not missing is a number; otherwise it
  holds text (booleans and dates too), and its values are kept as written.

Every failure is a :class:`DataFileError` whose message starts with ``path:line:`` (``path: row N:``
for Parquet).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from lit_basics.data.ahead import read_ahead
from lit_basics.data.csv_reader import (
    BLOCK_STREAM,
    SHARD_CHUNK,
    TextColumnError,
    csv_batches,
    csv_failure,
    read_csv_table,
)
from lit_basics.data.parquet_reader import flat_type, parquet_batches, parquet_file, read_parquet_table
from lit_basics.data.sniff import Header, csv_header, one_column_hint, read_header, sampled_text_columns
from lit_basics.data.table import (
    DELIMITERS,
    MISSING_VALUES,
    PARQUET_SUFFIXES,
    DataFileError,
    Table,
    check_delimiter,
    existing_file,
    first_non_finite,
    first_text,
)

__all__ = [
    "DELIMITERS",
    "MISSING_VALUES",
    "SHARD_CHUNK",
    "DataFileError",
    "Header",
    "Table",
    "check_delimiter",
    "first_text",
    "one_column_hint",
    "parse_csv",
    "read_batches",
    "read_header",
    "read_table",
    "scan_table",
]


def read_table(
    path: str | Path,
    *,
    delimiter: str | None = None,
    columns: Sequence[int] | None = None,
    text: Sequence[int] = (),
    expected_fields: int | None = None,
    header: bool | None = None,
) -> Table:
    """Read ``path`` (CSV or Parquet; see the module's description), the columns ``columns`` only.

    Args:
        path: the file.
        delimiter: a delimiter character, ``" "`` for runs of spaces, or ``None`` to detect it.
        columns: 0-based indices of the columns to read (``None``: all).
        text: columns to read as text whatever they hold (a categorical column's new rows).
        expected_fields: if given, the number of columns the file must have.
        header: whether the first line names the columns; ``None``: detected (see :func:`read_header`).

    Returns:
        The :class:`Table`.

    Raises:
        DataFileError: naming the file and line: missing, unreadable, not UTF-8, empty, a header
            only, a line with another number of fields, a header with an empty or repeated name,
            a number that is not finite, a Parquet file with a nested column.

    Example:
        >>> import tempfile, os
        >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        ...     _ = f.write("\\ufeffage;island;bought\\r\\n31;Dream;1\\r\\n45;NA;0\\r\\n")
        >>> table = read_table(f.name)
        >>> table.names, table.delimiter, table.columns[1].to_pylist(), table.lines.tolist()
        (('age', 'island', 'bought'), ';', ['Dream', None], [2, 3])
        >>> os.remove(f.name)
    """
    path = existing_file(path)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        table = read_parquet_table(path, columns, text)
    else:
        table = read_csv_table(path, check_delimiter(delimiter), columns, text, header)
    if expected_fields is not None and table.num_columns != expected_fields:
        raise DataFileError(
            f"{table.location(0)}: expected {expected_fields} fields, found {table.num_columns}"
            + one_column_hint(table)
        )
    for column, values in table.columns.items():
        row = first_non_finite(values)
        if row is not None:
            value = values[row].as_py()
            raise DataFileError(f"{table.location(row)}: {table.column_label(column)} is not finite: {value!r}")
    return table


#: A scan's visitor: given the first data row of a batch and its columns, takes what it needs.
Visitor = Callable[[int, dict[int, pa.Array]], None]


def scan_table(
    path: str | Path,
    start: Callable[[Table], Visitor],
    *,
    delimiter: str | None = None,
    columns: Sequence[int],
    header: bool | None = None,
    chunk: int | None = None,
) -> Table:
    """Read ``path`` a batch of rows at a time, handing each batch to a visitor, keeping nothing:
    what a data module learns from every row (missing values, levels, class names) without
    holding the table.

    Args:
        path: the file (CSV or Parquet).
        start: given the table's shell (names, which columns are numeric, :meth:`Table.location`;
            no values), a new visitor. The scan starts again with a new one when a column read
            as numbers turns out to hold text after the first lines.
        delimiter: as :func:`read_table`'s.
        columns: the 0-based columns to read.
        header: as :func:`read_table`'s.
        chunk: bytes of a CSV parsed at a time (``None``: :data:`~lit_basics.data.csv_reader.CHUNK`).

    Returns:
        The table's shell, with its number of data rows.

    Raises:
        DataFileError: as :func:`read_table`.
    """
    path = existing_file(path)
    wanted = sorted(set(columns))
    if path.suffix.lower() in PARQUET_SUFFIXES:
        schema = parquet_file(path).schema_arrow
        names = tuple(schema.names)
        numeric = frozenset(c for c in wanted if flat_type(schema.field(c).type) == pa.float64())
        table = Table(path, names, len(names), {}, 0, None, None, _numeric=numeric)
        rows = _visit(table, start(table), read_ahead(parquet_batches(path, wanted, ())))
        if rows == 0:
            raise DataFileError(f"{path}: no data rows")
        table.num_rows = rows
        return table
    head, sample_rows = csv_header(path, check_delimiter(delimiter), header)
    separator = head.delimiter or ","
    text_columns = sampled_text_columns(head, sample_rows, wanted)
    shift, fields = head.shift, head.fields_per_line
    while True:
        numeric = frozenset(c for c in wanted if c not in text_columns)
        table = Table(path, head.names, head.num_columns, {}, 0, head.header_line, separator, _numeric=numeric)
        try:
            batches = read_ahead(csv_batches(head, fields, wanted, text_columns, shift, BLOCK_STREAM, chunk))
            rows = _visit(table, start(table), batches)
            break
        except TextColumnError as late:
            text_columns.add(late.column - shift)
        except pa.ArrowInvalid as exc:
            raise csv_failure(path, separator, fields, head.names is not None, exc) from None
    pa.default_memory_pool().release_unused()  # the read-ahead's blocks: back to the system
    if rows == 0:
        empty = "a header line and no data rows" if head.names else "empty file, no data rows"
        raise DataFileError(f"{path}: {empty}")
    table.num_rows = rows
    return table


def read_batches(
    path: str | Path,
    *,
    delimiter: str | None = None,
    columns: Sequence[int],
    text: Sequence[int] = (),
    header: bool | None = None,
    rows: np.ndarray,
    chunk: int | None = None,
) -> Iterator[Table]:
    """The rows ``rows`` marks (a bool mask over the file's data rows) of the columns ``columns``,
    a batch at a time, each a :class:`Table` whose :attr:`Table.file_rows` say which rows it holds:
    a process's shard, never the whole table. Columns ``text`` are read as text, the others as
    numbers (a scan, :func:`scan_table`, found which is which). A CSV is parsed ``chunk`` bytes at
    a time (``None``: :data:`~lit_basics.data.csv_reader.CHUNK`).

    Raises:
        DataFileError: as :func:`read_table`.
    """
    path = existing_file(path)
    wanted = sorted(set(columns))
    text_columns = set(text) & set(wanted)
    numeric = frozenset(c for c in wanted if c not in text_columns)
    batches: Iterator[tuple[int, dict[int, pa.Array]]]
    if path.suffix.lower() in PARQUET_SUFFIXES:
        names: tuple[str, ...] | None = tuple(parquet_file(path).schema_arrow.names)
        width, header_line, separator = len(names or ()), None, None
        batches = read_ahead(parquet_batches(path, wanted, sorted(text_columns), rows))
    else:
        head, _ = csv_header(path, check_delimiter(delimiter), header)
        names, width, header_line, separator = head.names, head.num_columns, head.header_line, head.delimiter or ","
        fields = head.fields_per_line
        batches = read_ahead(csv_batches(head, fields, wanted, text_columns, head.shift, BLOCK_STREAM, chunk))
    try:
        for number, (start, arrays) in enumerate(batches):
            length = len(next(iter(arrays.values())))
            keep = rows[start : start + length]
            if number % 64 == 63:
                pa.default_memory_pool().release_unused()  # the rows filtered out: back to the system
            if not keep.any():
                continue
            if keep.all():  # the usual batch of a whole read: the columns as read, no copy
                kept = {c: pa.chunked_array([values]) for c, values in arrays.items()}
            else:
                mask = pa.array(keep)
                kept = {c: pa.chunked_array([values.filter(mask)]) for c, values in arrays.items()}
            file_rows = start + np.flatnonzero(keep)
            yield Table(path, names, width, kept, int(file_rows.size), header_line, separator, _numeric=numeric,
                        file_rows=file_rows)  # fmt: skip
    except pa.ArrowInvalid as exc:
        assert separator is not None
        raise csv_failure(path, separator, fields, names is not None, exc) from None
    finally:
        pa.default_memory_pool().release_unused()


def _visit(table: Table, visitor: Visitor, batches: Iterator[tuple[int, dict[int, pa.Array]]]) -> int:
    """Hand every batch to ``visitor``, numbers checked finite first; the number of rows."""
    rows = 0
    for first, arrays in batches:
        for column, values in arrays.items():
            row = first_non_finite(values)
            if row is not None:
                raise DataFileError(
                    f"{table.location(first + row)}: {table.column_label(column)} is not finite: "
                    f"{values[row].as_py()!r}"
                )
        visitor(first, arrays)
        rows = first + len(next(iter(arrays.values()))) if arrays else rows
    return rows


def parse_csv(path: str | Path, *, expected_fields: int | None = None) -> np.ndarray:
    """The numbers of a table of numbers (a header line, if any, skipped): float64 ``(rows, fields)``.

    Raises:
        DataFileError: as :func:`read_table`, or a field that is not a number.

    Example:
        >>> import tempfile, os
        >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        ...     _ = f.write("1,2,0\\n3.5,4,1\\n")
        >>> parse_csv(f.name).tolist()
        [[1.0, 2.0, 0.0], [3.5, 4.0, 1.0]]
        >>> os.remove(f.name)
    """
    return read_table(path, expected_fields=expected_fields).values
