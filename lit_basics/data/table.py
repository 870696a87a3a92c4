"""A table as read: the columns asked for, their types and where each row came from; the error a
data file raises; what a field may say to be missing, and the delimiters."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lit_basics.errors import ArgumentError, UserError

__all__ = [
    "DELIMITERS",
    "MISSING_VALUES",
    "PARQUET_SUFFIXES",
    "DataFileError",
    "Table",
    "check_delimiter",
    "delimiter_name",
    "existing_file",
    "first_non_finite",
    "first_text",
    "is_number",
]

#: What a field may say to mean "missing" (as R's ``na.strings`` and pandas' defaults, and UCI's ``?``).
MISSING_VALUES = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?")

#: The delimiters detected, in the order that breaks a tie; ``" "`` means runs of spaces or tabs.
DELIMITERS = (",", "\t", ";", "|", " ")

#: How ``delimiter`` may be spelled for the ones that are hard to type on a command line.
_DELIMITER_WORDS = {"tab": "\t", "\\t": "\t", "space": " ", "spaces": " ", "whitespace": " ", "comma": ",",
                    "semicolon": ";", "pipe": "|"}  # fmt: skip

#: Files read as Parquet, by their suffix.
PARQUET_SUFFIXES = (".parquet", ".pq")


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


def is_number(text: str) -> bool:
    """Whether ``text`` reads as a (Python) number."""
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
            else:  # the whole file's lines (a shard's rows are mapped by location())
                from lit_basics.data.csv_reader import records

                lines = np.fromiter((line for line, _ in records(self.path, self.delimiter or ",")), dtype=np.int64)
                self._lines = lines[(1 if self.header_line is not None else 0) :]
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
            if text is not None and not is_number(text):
                return offset + index, text
        offset += len(chunk)
    return 0, ""


def finite_sum(values: pa.Array) -> bool:
    """Whether a float column without missing values holds only finite numbers, in one pass (its
    sum is finite); ``False`` also for a column with missing values (look closer)."""
    if values.null_count or not pa.types.is_floating(values.type):
        return False
    return bool(np.isfinite(np.add.reduce(values.to_numpy(zero_copy_only=False))))


def first_non_finite(values: pa.Array | pa.ChunkedArray) -> int | None:
    """The first row of a float column holding inf or -inf (NaN is missing, not here), or ``None``."""
    if not pa.types.is_floating(values.type) or values.null_count == len(values):
        return None
    if isinstance(values, pa.Array) and finite_sum(values):
        return None
    finite = pc.is_finite(values)
    if pc.all(pc.or_kleene(finite, pc.is_null(values))).as_py():
        return None
    return int(pc.index(finite, False).as_py())


def existing_file(path: str | Path) -> Path:
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
