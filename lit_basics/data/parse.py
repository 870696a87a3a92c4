"""A strict reader of comma-separated number tables: the notes' ``data.txt`` and users' CSV files.

A table may start with a header line naming its columns (detected: a first line none of whose
fields is a number), may have CRLF line ends and a UTF-8 byte-order mark, and may quote its fields.
Every malformed input raises :class:`DataFileError` whose message starts with ``path:line:`` so a
user sees in one line which file and which line is wrong; nothing is silently skipped or coerced.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lit_basics.errors import UserError

__all__ = ["DataFileError", "Table", "class_labels", "parse_csv", "read_table"]


class DataFileError(UserError, ValueError):
    """A data file cannot be used; the message names the file (and the line when there is one)."""


@dataclass(frozen=True)
class Table:
    """A table of numbers read from a file.

    Attributes:
        path: the file.
        names: the column names of its header line, or ``None`` when it has none.
        values: float64 array ``(rows, columns)``, each number exactly as ``float()`` parses it.
        lines: int64 array ``(rows,)``: the 1-based line of the file each row was read from.
        header_line: the line of the header, or ``None``.
    """

    path: Path
    names: tuple[str, ...] | None
    values: np.ndarray
    lines: np.ndarray
    header_line: int | None = None

    @property
    def num_columns(self) -> int:
        return int(self.values.shape[1])

    def column_label(self, column: int) -> str:
        """How an error names column ``column`` (0-based): ``column 3 ('age')`` or ``column 3``."""
        name = f" ({self.names[column]!r})" if self.names is not None else ""
        return f"column {column + 1}{name}"


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def read_table(path: str | Path, *, expected_fields: int | None = None) -> Table:
    """Read a file of comma-separated numbers, one sample per line, with an optional header line.

    The first non-blank line is a header when none of its fields is a number; its names (stripped
    of blanks and quotes) must be non-empty and distinct. Blank lines (and a trailing newline) are
    ignored. Every other line must hold the same number of fields, each a finite decimal number
    (``float()`` syntax; ``nan`` and ``inf`` are refused).

    Args:
        path: the file to read.
        expected_fields: if given, the number of fields every line must have.

    Returns:
        The :class:`Table`: names (or ``None``), float64 values and the line of each row.

    Raises:
        DataFileError: the file is missing, unreadable, not UTF-8 text, empty, a header line only,
            or has a line with a wrong number of fields, a field that is not a number, a
            non-finite number, or a header with an empty or repeated name.

    Example:
        >>> import tempfile, os
        >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        ...     _ = f.write("\\ufeffage,income,bought\\r\\n31,5.2e4,1\\r\\n45,3.1e4,0\\r\\n")
        >>> table = read_table(f.name)
        >>> table.names, table.values.tolist(), table.lines.tolist()
        (('age', 'income', 'bought'), [[31.0, 52000.0, 1.0], [45.0, 31000.0, 0.0]], [2, 3])
        >>> os.remove(f.name)
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataFileError(f"{path}: is a directory, not a data file") from None
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        raise DataFileError(f"{path}:{bad_line}: not UTF-8 text") from None

    # splitlines() would also split on \x0b, \x1c, ... which are not line ends in a CSV file.
    lines = text.replace("\r\n", "\n").split("\n")
    reader = csv.reader(lines, strict=True)
    names: tuple[str, ...] | None = None
    header_line: int | None = None
    rows: list[list[float]] = []
    row_lines: list[int] = []
    width = expected_fields
    number = 0
    while True:
        start = reader.line_num + 1  # a quoted field can span lines: errors name the first
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise DataFileError(f"{path}:{start}: not a CSV line: {exc}") from None
        number = reader.line_num
        if not any(field.strip() for field in fields):
            continue  # a blank line
        if width is None:
            width = len(fields)
        if len(fields) != width:
            raise DataFileError(f"{path}:{number}: expected {width} comma-separated fields, found {len(fields)}")
        if not rows and names is None and not any(_is_number(field) for field in fields):
            names, header_line = _header(path, number, fields), number
            continue
        values = []
        for column, field in enumerate(fields, start=1):
            try:
                value = float(field)
            except ValueError:
                hint = " (a header line names every column, none of them a number)" if not rows and not names else ""
                raise DataFileError(
                    f"{path}:{number}: field {column} is not a number: {field.strip()!r}{hint}"
                ) from None
            if not math.isfinite(value):
                raise DataFileError(f"{path}:{number}: field {column} is not finite: {field.strip()!r}")
            values.append(value)
        rows.append(values)
        row_lines.append(number)
    if not rows:
        what = "a header line and no data rows" if names is not None else "empty file, no data rows"
        raise DataFileError(f"{path}: {what}")
    return Table(path, names, np.asarray(rows, dtype=np.float64), np.asarray(row_lines, dtype=np.int64), header_line)


def _header(path: Path, number: int, fields: Sequence[str]) -> tuple[str, ...]:
    names = tuple(field.strip().strip('"').strip("'").strip() for field in fields)
    for column, name in enumerate(names, start=1):
        if not name:
            raise DataFileError(f"{path}:{number}: the header line gives column {column} no name")
        first = names.index(name) + 1
        if first != column:
            raise DataFileError(f"{path}:{number}: the header line names columns {first} and {column} both {name!r}")
    return names


def parse_csv(path: str | Path, *, expected_fields: int | None = None) -> np.ndarray:
    """The numbers of :func:`read_table` (a header line, if any, skipped): float64 ``(rows, fields)``.

    Raises:
        DataFileError: as :func:`read_table`.

    Example:
        >>> import tempfile, os
        >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        ...     _ = f.write("1,2,0\\n3.5,4,1\\n")
        >>> parse_csv(f.name).tolist()
        [[1.0, 2.0, 0.0], [3.5, 4.0, 1.0]]
        >>> os.remove(f.name)
    """
    return read_table(path, expected_fields=expected_fields).values


def class_labels(table: Table, column: np.ndarray, num_classes: int) -> np.ndarray:
    """``column`` (a target column of ``table``) as int64 class labels ``0..num_classes-1``.

    Raises:
        DataFileError: ``path:line:`` of the first value that is not such a label.
    """
    bad = np.flatnonzero((column != np.round(column)) | (column < 0) | (column >= num_classes))
    if bad.size:
        line = int(table.lines[bad[0]])
        raise DataFileError(
            f"{table.path}:{line}: class label must be an integer in 0..{num_classes - 1}, got {column[bad[0]]:g}"
        )
    return column.astype(np.int64)
