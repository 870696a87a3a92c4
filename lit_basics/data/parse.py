"""A strict parser for the notes' comma-separated number files (``data.txt`` and user CSVs).

Every malformed input raises :class:`DataFileError` whose message starts with ``path:line:`` so a
user sees in one line which file and which line is wrong; nothing is silently skipped or coerced.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from lit_basics.errors import UserError

__all__ = ["DataFileError", "line_of_row", "parse_csv"]


class DataFileError(UserError, ValueError):
    """A data file cannot be used; the message names the file (and the line when there is one)."""


def parse_csv(path: str | Path, *, expected_fields: int | None = None) -> np.ndarray:
    """Read a file of comma-separated numbers, one sample per line, into a float64 array.

    Blank lines (and a trailing newline) are ignored. Every other line must hold the same number of
    fields, each a finite decimal number (``float()`` syntax; ``nan`` and ``inf`` are refused).

    Args:
        path: the file to read.
        expected_fields: if given, the number of fields every line must have.

    Returns:
        A float64 array of shape ``(rows, fields)``, the numbers exactly as ``float()`` parses them.

    Raises:
        DataFileError: the file is missing, unreadable, not UTF-8 text, empty, or has a line with a
            wrong number of fields, a field that is not a number, or a non-finite number.

    Example:
        >>> import tempfile, os
        >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        ...     _ = f.write("1,2,0\\n3.5,4,1\\n")
        >>> parse_csv(f.name).tolist()
        [[1.0, 2.0, 0.0], [3.5, 4.0, 1.0]]
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

    rows: list[list[float]] = []
    width = expected_fields
    # splitlines() would also split on \x0b, \x1c, ... which are not line ends in a CSV file.
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if not line.strip():
            continue
        fields = line.split(",")
        if width is None:
            width = len(fields)
        if len(fields) != width:
            raise DataFileError(f"{path}:{number}: expected {width} comma-separated fields, found {len(fields)}")
        values = []
        for column, field in enumerate(fields, start=1):
            try:
                value = float(field)
            except ValueError:
                raise DataFileError(f"{path}:{number}: field {column} is not a number: {field.strip()!r}") from None
            if not math.isfinite(value):
                raise DataFileError(f"{path}:{number}: field {column} is not finite: {field.strip()!r}")
            values.append(value)
        rows.append(values)
    if not rows:
        raise DataFileError(f"{path}: empty file, no data rows")
    return np.asarray(rows, dtype=np.float64)


def line_of_row(path: str | Path, row: int) -> int:
    """The 1-based line number of data row ``row`` of a file :func:`parse_csv` read (blank lines
    are skipped there)."""
    lines = Path(path).read_text(encoding="utf-8-sig").replace("\r\n", "\n").split("\n")
    nonblank = [number for number, line in enumerate(lines, start=1) if line.strip()]
    return nonblank[row]


def class_labels(path: str | Path, column: np.ndarray, num_classes: int) -> np.ndarray:
    """``column`` (a target column of ``path``) as int64 class labels ``0..num_classes-1``.

    Raises:
        DataFileError: ``path:line:`` of the first value that is not such a label.
    """
    bad = np.flatnonzero((column != np.round(column)) | (column < 0) | (column >= num_classes))
    if bad.size:
        line = line_of_row(path, int(bad[0]))
        raise DataFileError(
            f"{path}:{line}: class label must be an integer in 0..{num_classes - 1}, got {column[bad[0]]:g}"
        )
    return column.astype(np.int64)
