"""Sniffing a CSV file: its first lines say the delimiter, whether a header names the columns,
the decimal mark, row names and a trailing delimiter, and which columns hold text.

- **Delimiter**: detected from the first lines (comma, semicolon, tab, ``|``, or runs of spaces:
  the one that splits every line into the same number of fields, the most fields winning), or
  forced with ``delimiter``.
- **Header**: the first non-blank line is a header when none of its fields is a number, or when
  most are not and one that is not stands above a column of numbers.
- **Compression**: ``.gz``, ``.bz2``, ``.zst`` and ``.lz4`` files are decompressed as they are read.
"""

from __future__ import annotations

import contextlib
import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from lit_basics.data.table import (
    DELIMITERS,
    MISSING_VALUES,
    PARQUET_SUFFIXES,
    DataFileError,
    Table,
    check_delimiter,
    delimiter_name,
    existing_file,
    is_number,
)

__all__ = [
    "Header",
    "csv_header",
    "one_column_hint",
    "open_bytes",
    "read_header",
    "sampled_text_columns",
    "split_fields",
]

SAMPLE_BYTES = 1 << 18  # enough for the delimiter and header detection: the first lines
SNIFF_LINES = 64


def open_bytes(path: Path) -> pa.NativeFile:
    """The file's bytes, decompressed by its suffix (.gz, .bz2, .zst, .lz4)."""
    try:
        return pa.input_stream(str(path), compression="detect")
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read: {exc}") from None


def sample_lines(path: Path) -> tuple[list[tuple[int, str]], bool]:
    """The first non-blank lines, with their 1-based numbers, and whether that is the whole file."""
    with open_bytes(path) as stream:
        try:
            raw = stream.read(SAMPLE_BYTES)
            whole = len(stream.read(1)) == 0
        except OSError as exc:  # a corrupt compressed file
            raise DataFileError(f"{path}: cannot read: {exc}") from None
    if not whole:
        raw = raw[: raw.rfind(b"\n") + 1] or raw  # whole lines only
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if whole or exc.start < len(raw) - 4:
            raise DataFileError(f"{path}:{line_at(raw, exc.start)}: not UTF-8 text") from None
        text = raw[: exc.start].decode("utf-8-sig")
    lines = [(number, line.rstrip("\r")) for number, line in enumerate(text.split("\n"), start=1)]
    return [(n, line) for n, line in lines if line.strip()][:SNIFF_LINES], whole


def line_at(raw: bytes, offset: int) -> int:
    return raw[:offset].count(b"\n") + 1


#: A field of a file delimited by runs of spaces: a quoted string (spaces inside kept) or a word.
_SPACED_FIELD = re.compile(r'"[^"]*"|\'[^\']*\'|\S+')


def split_fields(line: str, delimiter: str) -> list[str]:
    if delimiter == " ":
        return [
            f[1:-1] if f[:1] in "\"'" and f[-1:] == f[:1] and len(f) > 1 else f for f in _SPACED_FIELD.findall(line)
        ]
    try:
        return next(csv.reader([line], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return [line]


def records_of(lines: list[tuple[int, str]], delimiter: str) -> list[list[str]]:
    """The sampled lines' fields, record by record: a quoted field may hold a line end (a comment
    written on two lines), as pyarrow's reader and pandas' read it; a record the sample cuts off
    is left out."""
    if delimiter == " ":
        return [split_fields(line, delimiter) for _, line in lines]
    records: list[list[str]] = []
    with contextlib.suppress(csv.Error):  # a quote the sample's end leaves open: the records before it
        for record in csv.reader((line + "\n" for _, line in lines), delimiter=delimiter):
            records.append(record)
    return records


def detect_delimiter(lines: list[tuple[int, str]]) -> str:
    """The delimiter that splits every sampled line into the same number (> 1) of fields, the most
    fields winning; else the one that splits the first line most (the read then names the line that
    differs); else a comma (one column)."""
    best: tuple[int, int, str] | None = None
    for rank, delimiter in enumerate(DELIMITERS):
        counts = {len(split_fields(line, delimiter)) for _, line in lines}
        if len(counts) == 1 and (fields := counts.pop()) > 1 and (best is None or fields > best[0]):
            best = (fields, -rank, delimiter)
    if best is not None:
        return best[2]
    first = {d: len(split_fields(lines[0][1], d)) for d in DELIMITERS}
    chosen = max(DELIMITERS, key=lambda d: (first[d], -DELIMITERS.index(d)))
    return chosen if first[chosen] > 1 else ","


def header_names(path: Path, number: int, fields: Sequence[str]) -> tuple[str, ...]:
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
    lines, _ = sample_lines(table.path)
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

    @property
    def shift(self) -> int:
        """Fields before a line's first column: 1 with row names (never read), else 0."""
        return 1 if self.row_names else 0

    @property
    def fields_per_line(self) -> int:
        """Fields a data line has as written: the columns, row names, a trailing empty field."""
        return self.num_columns + self.shift + (1 if self.trailing else 0)


def read_header(path: str | Path, *, delimiter: str | None = None, header: bool | None = None) -> Header:
    """The :class:`Header` of ``path``, reading its first lines only. Unless ``header`` says, the
    first line is a header when none of its fields is a number, or when most are not and one that
    is not stands above a column of numbers.

    Raises:
        DataFileError: as :func:`read_table`, for what the first lines show.
    """
    path = existing_file(path)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        from lit_basics.data.parquet_reader import parquet_file

        schema = parquet_file(path).schema_arrow
        return Header(path, tuple(schema.names), len(schema.names), None, None)
    return csv_header(path, check_delimiter(delimiter), header)[0]


def csv_header(path: Path, delimiter: str | None, header: bool | None = None) -> tuple[Header, list[list[str]]]:
    """The header and the sampled data lines' fields."""
    lines, whole = sample_lines(path)
    if not lines:
        raise DataFileError(f"{path}: empty file, no data rows")
    delimiter = delimiter or detect_delimiter(lines)
    first_number, first_line = lines[0]
    first = split_fields(first_line, delimiter)
    rows = records_of(lines[1:], delimiter)
    trailing = all(len(fields) > 1 and not fields[-1].strip() for fields in [first, *rows])
    if trailing:  # "a,b,": a delimiter at the end of every line
        first, rows = first[:-1], [row[:-1] for row in rows]
    decimal = "," if delimiter == ";" and decimal_commas(rows) else "."
    if len(first) > 1 and not first[0].strip() and all(f.strip() for f in first[1:]):
        first = first[1:]  # R's write.csv: an unnamed first column of row names
    named = is_header(first, rows, decimal) if header is None else header
    names = header_names(path, first_number, first) if named else None
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


def decimal_commas(rows: list[list[str]]) -> bool:
    """Whether sampled fields write numbers with a decimal comma (``1,5``) and none with a point."""
    fields = [field for row in rows for field in row]
    return any(_DECIMAL_COMMA.fullmatch(f) for f in fields) and not any(_DECIMAL_POINT.fullmatch(f) for f in fields)


def is_header(first: list[str], rows: list[list[str]], decimal: str = ".") -> bool:
    """Whether the first line names the columns: none of its fields is a number; or most are not,
    and one that is not stands above a column of numbers (``x1,2020,y`` over numbers)."""

    def number(text: str) -> bool:
        return is_number(text.replace(",", ".") if decimal == "," else text)

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


def sampled_text_columns(header: Header, sample_rows: list[list[str]], wanted: Sequence[int]) -> set[int]:
    """The columns ``wanted`` that hold text in the sampled lines (a value that is neither missing
    nor a number); the others are read as numbers until a later line says otherwise."""
    point = (lambda f: f.replace(",", ".")) if header.decimal == "," else (lambda f: f)
    return {
        c for c in wanted for row in sample_rows if c < len(row) and row[c].strip() not in MISSING_VALUES
        if not is_number(point(row[c]))
    }  # fmt: skip
