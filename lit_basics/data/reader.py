"""Reading a user's table: CSV (any common delimiter, compressed or not) and Parquet, with pyarrow.

The reader is pyarrow's streaming CSV reader (C++, multi-threaded): measured on a 1,000,000 x 31
CSV of numbers here it reads in ~5 s with a peak of ~430 MB, where ``pyarrow.csv.read_csv`` and
``pandas.read_csv`` peak at ~900 MB (``docs/performance.md``). It holds each column it is asked for
once, as float64 (numbers) or text, and nothing else.

- **Delimiter**: detected from the first lines (comma, semicolon, tab, ``|``, or runs of spaces:
  the one that splits every line into the same number of fields, the most fields winning), or
  forced with ``delimiter``.
- **Header**: the first non-blank line is a header when none of its fields is a number.
- **Compression**: ``.gz``, ``.bz2``, ``.zst`` and ``.lz4`` files are decompressed as they are read.
- **Parquet**: ``.parquet``/``.pq``; numbers, text, booleans and dates; a nested column is refused.
- **Missing values**: an empty field, ``NA``, ``N/A``, ``NaN``, ``nan``, ``null``, ``NULL``,
  ``None`` or ``?`` (and null/NaN in Parquet) is missing; what to do with it is the data module's
  ``missing``.
- **Types**: a column is numeric when every value that is not missing is a number; otherwise it
  holds text (booleans and dates too), and its values are kept as written.

Every failure is a :class:`DataFileError` whose message starts with ``path:line:`` (``path: row N:``
for Parquet). pyarrow reports rows, not lines: where it fails, the file is scanned again in Python
to find the line and say it (only then: the scan is slow, the read is not).
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from lit_basics.errors import ArgumentError, UserError

__all__ = [
    "DELIMITERS",
    "MISSING_VALUES",
    "DataFileError",
    "Header",
    "Table",
    "check_delimiter",
    "one_column_hint",
    "parse_csv",
    "read_batches",
    "read_header",
    "read_table",
    "scan_table",
]

#: What a field may say to mean "missing" (as R's ``na.strings`` and pandas' defaults, and UCI's ``?``).
MISSING_VALUES = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?")

#: The delimiters detected, in the order that breaks a tie; ``" "`` means runs of spaces or tabs.
DELIMITERS = (",", "\t", ";", "|", " ")

#: How ``delimiter`` may be spelled for the ones that are hard to type on a command line.
_DELIMITER_WORDS = {"tab": "\t", "\\t": "\t", "space": " ", "spaces": " ", "whitespace": " ", "comma": ",",
                    "semicolon": ";", "pipe": "|"}  # fmt: skip

_PARQUET_SUFFIXES = (".parquet", ".pq")
_SAMPLE_BYTES = 1 << 18  # enough for the delimiter and header detection: the first lines
_SNIFF_LINES = 64


class DataFileError(UserError, ValueError):
    """A data file cannot be used; the message names the file (and the line when there is one)."""


def check_delimiter(value: str | None) -> str | None:
    """``value`` as a delimiter character (``" "``: runs of spaces), or ``None`` (detect).

    Raises:
        ArgumentError: naming ``delimiter``: not one character nor one of its names.

    Example:
        >>> check_delimiter("tab"), check_delimiter(";"), check_delimiter(None)
        ('\\t', ';', None)
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise ArgumentError("delimiter", f"must be one character or a name (tab, space), got {value!r}")
    chosen = _DELIMITER_WORDS.get(value.lower(), value)
    if len(chosen) != 1 or chosen in "\"'\r\n" or chosen.isalnum() or chosen in ".-+":
        raise ArgumentError(
            "delimiter",
            f"{value!r} is not a delimiter: give one character (',', ';', '|') or tab, space "
            "(runs of spaces), or leave it out to detect it",
        )
    return chosen


def delimiter_name(delimiter: str) -> str:
    """How messages name a delimiter: ``','``, ``tab``, ``runs of spaces``."""
    return {"\t": "tab", " ": "runs of spaces"}.get(delimiter, repr(delimiter))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass
class Table:
    """The columns of a table that were asked for, as read.

    Attributes:
        path: the file.
        names: every column's name from the header line (Parquet: the schema), or ``None``.
        num_columns: the number of columns in the file.
        columns: ``{file column index: values}``, a pyarrow ``ChunkedArray`` each: float64 where
            the column is numeric, text otherwise; missing values are null.
        num_rows: data rows.
        header_line: the line of the header, or ``None``.
        delimiter: the delimiter (``" "``: runs of spaces), ``None`` for Parquet.
    """

    path: Path
    names: tuple[str, ...] | None
    num_columns: int
    columns: dict[int, pa.ChunkedArray]
    num_rows: int
    header_line: int | None = None
    delimiter: str | None = ","
    _lines: np.ndarray | None = field(default=None, repr=False)
    _numeric: frozenset[int] = field(default=frozenset(), repr=False)
    #: The file's data rows these rows are (``None``: all of them, in order): a table read with
    #: :func:`read_batches` (a process's shard) names the file's lines in its errors, not its own rows.
    file_rows: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # Kept apart from the columns, which their user may let go of as it converts them.
        if not self._numeric:
            self._numeric = frozenset(c for c, values in self.columns.items() if pa.types.is_floating(values.type))

    @property
    def parquet(self) -> bool:
        return self.delimiter is None

    def column_label(self, column: int) -> str:
        """How an error names column ``column`` (0-based): ``column 3 ('age')`` or ``column 3``."""
        name = f" ({self.names[column]!r})" if self.names is not None else ""
        return f"column {column + 1}{name}"

    def numeric(self, column: int) -> bool:
        """Whether column ``column`` (read) holds numbers (missing values aside)."""
        return column in self._numeric

    @property
    def lines(self) -> np.ndarray:
        """int64 ``(rows,)``: the 1-based line each data row starts on (Parquet: its row number).

        Found by scanning the file in Python on first use (errors name lines; reading does not
        need them)."""
        if self._lines is None:
            if self.parquet:
                self._lines = np.arange(1, self.num_rows + 1, dtype=np.int64)
            elif self.file_rows is not None:  # the whole file's lines: location() maps its rows
                self._lines = np.fromiter(
                    (line for line, _ in _records(self.path, self.delimiter or ",")), dtype=np.int64
                )[(1 if self.header_line is not None else 0) :]
            else:
                self._lines = np.fromiter(
                    (line for line, _ in _records(self.path, self.delimiter or ",")), dtype=np.int64
                )[(1 if self.header_line is not None else 0) :]
        return self._lines

    def location(self, row: int) -> str:
        """``path:line`` of data row ``row`` (0-based), ``path: row N`` for Parquet."""
        if self.file_rows is not None:
            row = int(self.file_rows[row])
        if self.parquet or row >= len(self.lines):
            return f"{self.path}: row {row + 1}"
        return f"{self.path}:{int(self.lines[row])}"

    @property
    def values(self) -> np.ndarray:
        """Every column read, as float64 ``(rows, columns)``, for a table of numbers only.

        Raises:
            DataFileError: a column holds text, or a value is missing (naming its line).
        """
        out = np.empty((self.num_rows, len(self.columns)), dtype=np.float64)
        for position, (column, values) in enumerate(sorted(self.columns.items())):
            if not self.numeric(column):
                row, text = first_text(values)
                raise DataFileError(f"{self.location(row)}: {self.column_label(column)} is not a number: {text!r}")
            if values.null_count:
                row = int(pc.index(pc.is_null(values), True).as_py())
                raise DataFileError(f"{self.location(row)}: {self.column_label(column)}: a missing value")
            out[:, position] = values.to_numpy()
        return out


def first_text(values: pa.ChunkedArray) -> tuple[int, str]:
    """The first value of a text column that is not a number: ``(row, text)`` (``(0, '')`` if none)."""
    offset = 0
    for chunk in values.chunks:
        for index, text in enumerate(chunk.to_pylist()):
            if text is not None and not _is_number(text):
                return offset + index, text
        offset += len(chunk)
    return 0, ""


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
    path = _existing(path)
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        table = _read_parquet(path, columns, text)
    else:
        table = _read_csv(path, check_delimiter(delimiter), columns, text, header)
    if expected_fields is not None and table.num_columns != expected_fields:
        raise DataFileError(
            f"{table.location(0)}: expected {expected_fields} fields, found {table.num_columns}"
            + one_column_hint(table)
        )
    for column, values in table.columns.items():
        if pa.types.is_floating(values.type):
            finite = pc.is_finite(values)
            if not pc.all(pc.or_kleene(finite, pc.is_null(values))).as_py():
                row = int(pc.index(finite, False).as_py())
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

    Returns:
        The table's shell, with its number of data rows.

    Raises:
        DataFileError: as :func:`read_table`.
    """
    path = _existing(path)
    wanted = sorted(set(columns))
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        schema = _parquet_file(path).schema_arrow
        names = tuple(schema.names)
        numeric = frozenset(c for c in wanted if _flat_type(schema.field(c).type) == pa.float64())
        table = Table(path, names, len(names), {}, 0, None, None, _numeric=numeric)
        rows = _visit(table, start(table), parquet_batches(path, wanted, ()))
        if rows == 0:
            raise DataFileError(f"{path}: no data rows")
        table.num_rows = rows
        return table
    head, sample_rows = _csv_header(path, check_delimiter(delimiter), header)
    separator = head.delimiter or ","
    point = (lambda f: f.replace(",", ".")) if head.decimal == "," else (lambda f: f)
    text_columns = {
        c for c in wanted for row in sample_rows if c < len(row) and row[c].strip() not in MISSING_VALUES
        if not _is_number(point(row[c]))
    }  # fmt: skip
    shift = 1 if head.row_names else 0
    fields = head.num_columns + shift + (1 if head.trailing else 0)
    while True:
        numeric = frozenset(c for c in wanted if c not in text_columns)
        table = Table(path, head.names, head.num_columns, {}, 0, head.header_line, separator, _numeric=numeric)
        try:
            batches = csv_batches(head, fields, wanted, text_columns, shift, BLOCK_STREAM)
            rows = _visit(table, start(table), batches)
            break
        except _TextColumnError as late:
            text_columns.add(late.column - shift)
        except pa.ArrowInvalid as exc:
            raise _csv_failure(path, separator, fields, head.names is not None, exc) from None
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
) -> Iterator[Table]:
    """The rows ``rows`` marks (a bool mask over the file's data rows) of the columns ``columns``,
    a batch at a time, each a :class:`Table` whose :attr:`Table.file_rows` say which rows it holds:
    a process's shard, never the whole table. Columns ``text`` are read as text, the others as
    numbers (a scan, :func:`scan_table`, found which is which).

    Raises:
        DataFileError: as :func:`read_table`.
    """
    path = _existing(path)
    wanted = sorted(set(columns))
    text_columns = set(text) & set(wanted)
    numeric = frozenset(c for c in wanted if c not in text_columns)
    batches: Iterator[tuple[int, dict[int, pa.Array]]]
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        names: tuple[str, ...] | None = tuple(_parquet_file(path).schema_arrow.names)
        width, header_line, separator = len(names or ()), None, None
        batches = parquet_batches(path, wanted, sorted(text_columns), rows)
    else:
        head, _ = _csv_header(path, check_delimiter(delimiter), header)
        names, width, header_line, separator = head.names, head.num_columns, head.header_line, head.delimiter or ","
        shift = 1 if head.row_names else 0
        fields = head.num_columns + shift + (1 if head.trailing else 0)
        batches = csv_batches(head, fields, wanted, text_columns, shift, BLOCK_STREAM)
    try:
        for number, (start, arrays) in enumerate(batches):
            length = len(next(iter(arrays.values())))
            keep = rows[start : start + length]
            if number % 64 == 63:
                pa.default_memory_pool().release_unused()  # the rows filtered out: back to the system
            if not keep.any():
                continue
            mask = pa.array(keep)
            kept = {c: pa.chunked_array([values.filter(mask)]) for c, values in arrays.items()}
            file_rows = start + np.flatnonzero(keep)
            yield Table(path, names, width, kept, int(file_rows.size), header_line, separator, _numeric=numeric,
                        file_rows=file_rows)  # fmt: skip
    except pa.ArrowInvalid as exc:
        assert separator is not None
        raise _csv_failure(path, separator, fields, names is not None, exc) from None
    finally:
        pa.default_memory_pool().release_unused()


def _visit(table: Table, visitor: Visitor, batches: Iterator[tuple[int, dict[int, pa.Array]]]) -> int:
    """Hand every batch to ``visitor``, numbers checked finite first; the number of rows."""
    rows = 0
    for first, arrays in batches:
        for column, values in arrays.items():
            if pa.types.is_floating(values.type) and values.null_count < len(values):
                finite = pc.is_finite(values)
                if not pc.all(pc.or_kleene(finite, pc.is_null(values))).as_py():
                    row = int(pc.index(finite, False).as_py())
                    raise DataFileError(
                        f"{table.location(first + row)}: {table.column_label(column)} is not finite: "
                        f"{values[row].as_py()!r}"
                    )
        visitor(first, arrays)
        rows = first + len(next(iter(arrays.values()))) if arrays else rows
    return rows


def _existing(path: str | Path) -> Path:
    """``path`` as a ``Path``, if it is a file.

    Raises:
        DataFileError: no such file, or a directory.
    """
    path = Path(path)
    if path.is_dir():
        raise DataFileError(f"{path}: is a directory, not a data file")
    if not path.exists():
        raise DataFileError(f"{path}: no such file")
    return path


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


# --- CSV ----------------------------------------------------------------------------------------


def _open(path: Path) -> pa.NativeFile:
    """The file's bytes, decompressed by its suffix (.gz, .bz2, .zst, .lz4)."""
    try:
        return pa.input_stream(str(path), compression="detect")
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read: {exc}") from None


def _sample(path: Path) -> tuple[list[tuple[int, str]], bool]:
    """The first non-blank lines, with their 1-based numbers, and whether that is the whole file."""
    with _open(path) as stream:
        try:
            raw = stream.read(_SAMPLE_BYTES)
            whole = len(stream.read(1)) == 0
        except OSError as exc:  # a corrupt compressed file
            raise DataFileError(f"{path}: cannot read: {exc}") from None
    if not whole:
        raw = raw[: raw.rfind(b"\n") + 1] or raw  # whole lines only
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if whole or exc.start < len(raw) - 4:
            raise DataFileError(f"{path}:{_line_at(raw, exc.start)}: not UTF-8 text") from None
        text = raw[: exc.start].decode("utf-8-sig")
    lines = [(number, line.rstrip("\r")) for number, line in enumerate(text.split("\n"), start=1)]
    return [(n, line) for n, line in lines if line.strip()][:_SNIFF_LINES], whole


def _line_at(raw: bytes, offset: int) -> int:
    return raw[:offset].count(b"\n") + 1


#: A field of a file delimited by runs of spaces: a quoted string (spaces inside kept) or a word.
_SPACED_FIELD = re.compile(r'"[^"]*"|\'[^\']*\'|\S+')


def _split(line: str, delimiter: str) -> list[str]:
    if delimiter == " ":
        return [
            f[1:-1] if f[:1] in "\"'" and f[-1:] == f[:1] and len(f) > 1 else f for f in _SPACED_FIELD.findall(line)
        ]
    try:
        return next(csv.reader([line], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return [line]


def _records_of(lines: list[tuple[int, str]], delimiter: str) -> list[list[str]]:
    """The sampled lines' fields, record by record: a quoted field may hold a line end (a comment
    written on two lines), as pyarrow's reader and pandas' read it; a record the sample cuts off
    is left out."""
    if delimiter == " ":
        return [_split(line, delimiter) for _, line in lines]
    records: list[list[str]] = []
    with contextlib.suppress(csv.Error):  # a quote the sample's end leaves open: the records before it
        for record in csv.reader((line + "\n" for _, line in lines), delimiter=delimiter):
            records.append(record)
    return records


def _detect(lines: list[tuple[int, str]]) -> str:
    """The delimiter that splits every sampled line into the same number (> 1) of fields, the most
    fields winning; else the one that splits the first line most (the read then names the line that
    differs); else a comma (one column)."""
    best: tuple[int, int, str] | None = None
    for rank, delimiter in enumerate(DELIMITERS):
        counts = {len(_split(line, delimiter)) for _, line in lines}
        if len(counts) == 1 and (fields := counts.pop()) > 1 and (best is None or fields > best[0]):
            best = (fields, -rank, delimiter)
    if best is not None:
        return best[2]
    first = {d: len(_split(lines[0][1], d)) for d in DELIMITERS}
    chosen = max(DELIMITERS, key=lambda d: (first[d], -DELIMITERS.index(d)))
    return chosen if first[chosen] > 1 else ","


def _header(path: Path, number: int, fields: Sequence[str]) -> tuple[str, ...]:
    names = tuple(field.strip().strip('"').strip("'").strip() for field in fields)
    for column, name in enumerate(names, start=1):
        if not name:
            raise DataFileError(f"{path}:{number}: the header line gives column {column} no name")
        first = names.index(name) + 1
        if first != column:
            raise DataFileError(f"{path}:{number}: the header line names columns {first} and {column} both {name!r}")
    return names


def one_column_hint(table: Header | Table) -> str:
    """For a file read as one column: what its lines hold that could be a delimiter, and the flag."""
    if table.num_columns != 1 or table.delimiter is None:
        return ""
    lines, _ = _sample(table.path)
    text = "".join(line for _, line in lines)
    for char, name in (("\t", "tabs"), (";", "semicolons"), ("|", "'|'"), (" ", "spaces"), (",", "commas")):
        if char in text and char != table.delimiter:
            setting = {"\t": "tab", " ": "space"}.get(char, char)
            return (
                f" (read as one column with delimiter {delimiter_name(table.delimiter or ',')}, but its lines "
                f"hold {name}: set --data.init_args.delimiter={setting!r})"
            )
    return ""


@dataclass(frozen=True)
class Header:
    """What a file's first lines (Parquet: its schema) say: the column names and count, the
    delimiter, the header's line."""

    path: Path
    names: tuple[str, ...] | None
    num_columns: int
    delimiter: str | None
    header_line: int | None
    #: The data lines have one leading field more than the header names: row names (R's
    #: ``write.table``; ``write.csv`` names that column ``""``), skipped (pandas makes them the index).
    row_names: bool = False
    #: Every line ends with a delimiter: an empty last field, not a column.
    trailing: bool = False
    #: The decimal mark: ``","`` for a semicolon-delimited table of numbers written ``1,5``.
    decimal: str = "."


def read_header(path: str | Path, *, delimiter: str | None = None, header: bool | None = None) -> Header:
    """The :class:`Header` of ``path``, reading its first lines only. Unless ``header`` says, the
    first line is a header when none of its fields is a number, or when most are not and one that
    is not stands above a column of numbers.

    Raises:
        DataFileError: as :func:`read_table`, for what the first lines show.
    """
    path = _existing(path)
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        schema = _parquet_file(path).schema_arrow
        return Header(path, tuple(schema.names), len(schema.names), None, None)
    return _csv_header(path, check_delimiter(delimiter), header)[0]


def _csv_header(path: Path, delimiter: str | None, header: bool | None = None) -> tuple[Header, list[list[str]]]:
    """The header and the sampled data lines' fields."""
    lines, whole = _sample(path)
    if not lines:
        raise DataFileError(f"{path}: empty file, no data rows")
    delimiter = delimiter or _detect(lines)
    first_number, first_line = lines[0]
    first = _split(first_line, delimiter)
    rows = _records_of(lines[1:], delimiter)
    trailing = all(len(fields) > 1 and not fields[-1].strip() for fields in [first, *rows])
    if trailing:  # "a,b,": a delimiter at the end of every line
        first, rows = first[:-1], [row[:-1] for row in rows]
    decimal = "," if delimiter == ";" and _decimal_commas(rows) else "."
    if len(first) > 1 and not first[0].strip() and all(f.strip() for f in first[1:]):
        first = first[1:]  # R's write.csv: an unnamed first column of row names
    named = _is_header(first, rows, decimal) if header is None else header
    names = _header(path, first_number, first) if named else None
    if names is None:
        return Header(path, None, len(first), delimiter, None, False, trailing, decimal), [first, *rows]
    if len(lines) == 1 and whole:
        raise DataFileError(f"{path}: a header line and no data rows")
    row_names = bool(rows) and all(len(row) == len(first) + 1 for row in rows)
    if row_names:
        rows = [row[1:] for row in rows]
    return Header(path, names, len(first), delimiter, first_number, row_names, trailing, decimal), rows


_DECIMAL_COMMA = re.compile(r"\s*[-+]?\d+,\d+\s*")
_DECIMAL_POINT = re.compile(r"\s*[-+]?\d*\.\d+(?:[eE][-+]?\d+)?\s*")


def _decimal_commas(rows: list[list[str]]) -> bool:
    """Whether sampled fields write numbers with a decimal comma (``1,5``) and none with a point."""
    fields = [field for row in rows for field in row]
    return any(_DECIMAL_COMMA.fullmatch(f) for f in fields) and not any(_DECIMAL_POINT.fullmatch(f) for f in fields)


def _is_header(first: list[str], rows: list[list[str]], decimal: str = ".") -> bool:
    """Whether the first line names the columns: none of its fields is a number; or most are not,
    and one that is not stands above a column of numbers (``x1,2020,y`` over numbers)."""

    def number(text: str) -> bool:
        return _is_number(text.replace(",", ".") if decimal == "," else text)

    words = [c for c, field in enumerate(first) if not number(field) and field.strip() not in MISSING_VALUES]
    if len(words) == len(first):
        return True
    if 2 * len(words) <= len(first):
        return False
    shift = 1 if rows and all(len(row) == len(first) + 1 for row in rows) else 0
    for c in words:
        below = [
            row[c + shift] for row in rows if c + shift < len(row) and row[c + shift].strip() not in MISSING_VALUES
        ]
        if below and all(number(value) for value in below):
            return True
    return False


def _read_csv(
    path: Path,
    delimiter: str | None,
    columns: Sequence[int] | None,
    text: Sequence[int],
    named: bool | None,
) -> Table:
    header, sample_rows = _csv_header(path, delimiter, named)
    delimiter, names, width = header.delimiter or ",", header.names, header.num_columns
    wanted = list(range(width)) if columns is None else sorted(set(columns))
    # Types from the first lines: a column is read as numbers unless a sampled value is text.
    point = (lambda f: f.replace(",", ".")) if header.decimal == "," else (lambda f: f)
    text_columns = {
        c for c in wanted for row in sample_rows if c < len(row) and row[c].strip() not in MISSING_VALUES
        if not _is_number(point(row[c]))
    } | (set(text) & set(wanted))  # fmt: skip
    shift = 1 if header.row_names else 0  # the row names' column is not read
    fields = width + shift + (1 if header.trailing else 0)  # per line, as written
    while True:
        try:
            arrays = _stream_csv(header, fields, wanted, text_columns, shift)
            break
        except _TextColumnError as late:  # a text value after the sampled lines: read that column as text
            text_columns.add(late.column - shift)
        except pa.ArrowInvalid as exc:
            raise _csv_failure(path, delimiter, fields, names is not None, exc) from None
    num_rows = len(arrays[wanted[0]]) if wanted else 0
    if num_rows == 0:
        raise DataFileError(f"{path}: a header line and no data rows" if names else f"{path}: empty file, no data rows")
    return Table(path, names, width, arrays, num_rows, header.header_line, delimiter)


class _TextColumnError(Exception):
    def __init__(self, column: int) -> None:
        self.column = column


def _stream_csv(
    header: Header,
    fields: int,
    wanted: list[int],
    text_columns: set[int],
    shift: int = 0,
) -> dict[int, pa.ChunkedArray]:
    """Columns ``wanted`` of the table (column ``c`` is field ``c + shift`` of the ``fields`` of a
    line: row names and a trailing empty field are never read)."""
    chunks: dict[int, list[pa.Array]] = {c: [] for c in wanted}
    for _, arrays in csv_batches(header, fields, wanted, text_columns, shift):
        for c in wanted:
            chunks[c].append(arrays[c])
    return {c: pa.chunked_array(chunks[c], type=pa.string() if c in text_columns else pa.float64()) for c in wanted}


#: Bytes of CSV per batch. A whole table is read in 4 MB blocks (the fastest here); a scan or a
#: process's shard in 1 MB blocks: measured on 1M x 31 numbers, the streaming reader's peak is then
#: ~65 MB instead of ~200 MB (its read-ahead holds several blocks), and the scan is no slower.
BLOCK_WHOLE, BLOCK_STREAM = 1 << 22, 1 << 20


def csv_batches(
    header: Header,
    fields: int,
    wanted: list[int],
    text_columns: set[int],
    shift: int = 0,
    block_size: int = BLOCK_WHOLE,
) -> Iterator[tuple[int, dict[int, pa.Array]]]:
    """The columns ``wanted`` a batch of rows at a time: ``(first data row, {column: values})``.

    Raises:
        _TextColumnError: a column read as numbers holds text (read again with it as text).
        pyarrow.ArrowInvalid: a line that is not CSV (:func:`_csv_failure` names it).
    """
    path, delimiter = header.path, header.delimiter or ","
    internal = [f"f{i}" for i in range(fields)]
    read_options = pa_csv.ReadOptions(
        # The header and the blank lines above it (pyarrow counts a blank line it skips as a row).
        column_names=internal,
        skip_rows=0 if header.header_line is None else header.header_line,
        block_size=block_size,
    )
    convert_options = pa_csv.ConvertOptions(
        column_types={internal[c + shift]: pa.string() if c in text_columns else pa.float64() for c in wanted},
        include_columns=[internal[c + shift] for c in wanted],
        null_values=list(MISSING_VALUES),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        decimal_point=header.decimal,
    )
    source: pa.NativeFile | io.BytesIO
    if delimiter == " ":
        # Runs of spaces or tabs: pyarrow splits on one character, so the runs become one tab.
        with _open(path) as stream:
            text = stream.read()
        text = re.sub(rb"(?m)^[ \t]+|[ \t]+(?=\r?$)", b"", text)
        # Runs of blanks outside double quotes become one tab; a quoted field keeps its spaces.
        text = re.sub(rb'("[^"\n]*")|[ \t]+', lambda m: m.group(1) or b"\t", text)
        source, parse_options = io.BytesIO(text), pa_csv.ParseOptions(delimiter="\t")
    else:
        source, parse_options = _open(path), pa_csv.ParseOptions(delimiter=delimiter)
    with source:
        try:
            reader = pa_csv.open_csv(
                source, read_options=read_options, parse_options=parse_options, convert_options=convert_options
            )
            start = 0
            for batch in _batches(reader):
                yield start, {c: batch.column(internal[c + shift]) for c in wanted}
                start += batch.num_rows
        except pa.ArrowInvalid as exc:
            match = re.search(r"In CSV column #(\d+): CSV conversion error to double", str(exc))
            if match:  # the error's column is the file's column index
                raise _TextColumnError(int(match.group(1))) from None
            raise


def _batches(reader: pa_csv.CSVStreamingReader) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return


def _records(path: Path, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Every non-blank record of a CSV file with the line it starts on, in Python (slow: errors only).

    Raises:
        DataFileError: a line that is not UTF-8 or not CSV.
    """
    with _open(path) as stream:
        raw = stream.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path}:{_line_at(raw, exc.start)}: not UTF-8 text") from None
    lines = text.replace("\r\n", "\n").split("\n")
    if delimiter == " ":
        for number, line in enumerate(lines, start=1):
            if line.strip():
                yield number, _split(line, " ")
        return
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataFileError(f"{path}:{start}: not a CSV line: {exc}") from None
        if fields:  # an empty line is no record (pyarrow's rule); a line of empty fields is one
            yield start, fields


def _csv_failure(path: Path, delimiter: str, width: int, header: bool, exc: Exception) -> DataFileError:
    """pyarrow's parse error as one line naming the file and line: the file scanned to find it."""
    for index, (number, fields) in enumerate(_records(path, delimiter)):
        if header and index == 0:
            continue  # the header's fields were counted when it was read
        if len(fields) != width:
            hint = ""
            if width == 1 or len(fields) == 1:
                hint = f" (delimiter {delimiter_name(delimiter)}; set --data.init_args.delimiter to another)"
            return DataFileError(
                f"{path}:{number}: expected {width} fields separated by {delimiter_name(delimiter)}, "
                f"found {len(fields)}{hint}"
            )
    message = str(exc).splitlines()[0]
    if "UTF8" in message:
        return DataFileError(f"{path}: not UTF-8 text")
    return DataFileError(f"{path}: cannot read: {message}")


# --- Parquet ------------------------------------------------------------------------------------


def _parquet_file(path: Path) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(str(path), pre_buffer=False, buffer_size=1 << 20)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataFileError(f"{path}: not a Parquet file: {str(exc).splitlines()[0]}") from None


def _read_parquet(path: Path, columns: Sequence[int] | None, text: Sequence[int]) -> Table:
    file = _parquet_file(path)
    schema = file.schema_arrow
    names = tuple(schema.names)
    wanted = list(range(len(names))) if columns is None else sorted(set(columns))
    for c in wanted:
        kind = schema.field(c).type
        if pa.types.is_nested(kind):
            raise DataFileError(f"{path}: column {c + 1} ({names[c]!r}) is nested ({kind}): give a flat table")
    # A column at a time, a row group at a time: measured on 1M x 31 rows, this holds 1.3x the data
    # at its peak, where reading batches of every column holds 2.3x.
    chunked = {}
    for c in wanted:
        chunks: list[pa.Array] = []
        start = 0
        for group in range(file.metadata.num_row_groups):
            column = file.read_row_group(group, columns=[names[c]], use_threads=False).column(0)
            for chunk in column.chunks:
                chunks.append(_flat(chunk, c in text, where=(path, c, names[c], start)))
                start += len(chunk)
        chunked[c] = pa.chunked_array(chunks, type=_flat_type(schema.field(c).type, c in text))
    num_rows = file.metadata.num_rows
    if num_rows == 0:
        raise DataFileError(f"{path}: no data rows")
    return Table(path, names, len(names), chunked, num_rows, None, None)


def parquet_batches(
    path: Path, wanted: list[int], text: Sequence[int], rows: np.ndarray | None = None
) -> Iterator[tuple[int, dict[int, pa.Array]]]:
    """The columns ``wanted`` of a Parquet file, as the CSV reader gives them, a batch of rows at a
    time: ``(first row, {column: values})``; with ``rows`` (a bool mask over the file's rows), the
    row groups holding none of them are not read."""
    file = _parquet_file(path)
    schema = file.schema_arrow
    names = schema.names
    for c in wanted:
        kind = schema.field(c).type
        if pa.types.is_nested(kind):
            raise DataFileError(f"{path}: column {c + 1} ({names[c]!r}) is nested ({kind}): give a flat table")
    start = 0
    for group in range(file.metadata.num_row_groups):
        size = file.metadata.row_group(group).num_rows
        if rows is not None and not rows[start : start + size].any():
            start += size
            continue
        columns = [names[c] for c in wanted]
        for batch in file.iter_batches(batch_size=1 << 16, row_groups=[group], columns=columns, use_threads=False):
            yield (
                start,
                {c: _flat(batch.column(i), c in text, where=(path, c, names[c], start)) for i, c in enumerate(wanted)},
            )
            start += batch.num_rows


def _flat_type(kind: pa.DataType, text: bool = False) -> pa.DataType:
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    return pa.float64() if (numeric or pa.types.is_null(kind)) and not text else pa.string()


def _flat(array: pa.Array, text: bool, where: tuple[Path, int, str, int]) -> pa.Array:
    """A Parquet column as the CSV reader gives it: float64 (NaN missing) or text (booleans, dates).

    ``where``: the file, the column's index and name, and the file row of ``array[0]``, to name the
    row of a binary value that is not UTF-8 text.
    """
    kind = _flat_type(array.type, text)
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if kind == pa.float64():
        # Unsafe: an integer above 2**53 (an id, a count in uint64) rounds to the nearest float64,
        # as the same digits in a CSV do; a safe cast would refuse it.
        array = pc.cast(array, pa.float64(), safe=False)
        nan = pc.is_nan(array)
        return pc.if_else(nan, pa.scalar(None, pa.float64()), array) if pc.any(nan).as_py() else array
    try:
        return array.cast(pa.string())
    except pa.ArrowInvalid:  # only a binary column can fail: find its first value that is not UTF-8
        path, c, name, start = where
        for i, value in enumerate(array.to_pylist()):
            try:
                if isinstance(value, bytes):
                    value.decode("utf-8")
            except UnicodeDecodeError:
                raise DataFileError(
                    f"{path}: row {start + i + 1}: column {c + 1} ({name!r}) is not UTF-8 text: {value[:20]!r}"
                ) from None
        raise
