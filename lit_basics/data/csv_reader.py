"""Reading a CSV file with pyarrow's streaming reader (C++), a batch of rows at a time: the columns
asked for, as float64 (numbers) or text; a column read as numbers that turns out to hold text after
the sampled lines is read again as text. pyarrow reports rows, not lines: where it fails, the file
is scanned once more in Python to name the line.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv

from lit_basics.data.sniff import Header, csv_header, line_at, open_bytes, sampled_text_columns, split_fields
from lit_basics.data.table import MISSING_VALUES, DataFileError, Table, delimiter_name

__all__ = [
    "BLOCK_STREAM",
    "BLOCK_WHOLE",
    "SHARD_CHUNK",
    "TextColumnError",
    "csv_batches",
    "csv_failure",
    "read_csv_table",
    "records",
]


def read_csv_table(
    path: Path,
    delimiter: str | None,
    columns: Sequence[int] | None,
    text: Sequence[int],
    named: bool | None,
) -> Table:
    """The columns ``columns`` of a CSV file, whole (see :func:`~lit_basics.data.reader.read_table`)."""
    header, sample_rows = csv_header(path, delimiter, named)
    delimiter, names, width = header.delimiter or ",", header.names, header.num_columns
    wanted = list(range(width)) if columns is None else sorted(set(columns))
    # Types from the first lines: a column is read as numbers unless a sampled value is text.
    text_columns = sampled_text_columns(header, sample_rows, wanted) | (set(text) & set(wanted))
    shift, fields = header.shift, header.fields_per_line  # row names and a trailing field are not read
    while True:
        try:
            arrays = stream_csv(header, fields, wanted, text_columns, shift)
            break
        except TextColumnError as late:  # a text value after the sampled lines: read that column as text
            text_columns.add(late.column - shift)
        except pa.ArrowInvalid as exc:
            raise csv_failure(path, delimiter, fields, names is not None, exc) from None
    num_rows = len(arrays[wanted[0]]) if wanted else 0
    if num_rows == 0:
        raise DataFileError(f"{path}: a header line and no data rows" if names else f"{path}: empty file, no data rows")
    return Table(path, names, width, arrays, num_rows, header.header_line, delimiter)


class TextColumnError(Exception):
    """A column read as numbers holds text (its file column index): read it again as text."""

    def __init__(self, column: int) -> None:
        self.column = column


def stream_csv(
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
    chunk: int | None = None,
) -> Iterator[tuple[int, dict[int, pa.Array]]]:
    """The columns ``wanted`` a batch of rows at a time: ``(first data row, {column: values})``;
    the file parsed ``chunk`` bytes of whole records at a time (``None``: :data:`CHUNK`).

    Raises:
        TextColumnError: a column read as numbers holds text (read again with it as text).
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
        with open_bytes(path) as stream:
            text = stream.read()
        text = re.sub(rb"(?m)^[ \t]+|[ \t]+(?=\r?$)", b"", text)
        # Runs of blanks outside double quotes become one tab; a quoted field keeps its spaces.
        text = re.sub(rb'("[^"\n]*")|[ \t]+', lambda m: m.group(1) or b"\t", text)
        source, parse_options = io.BytesIO(text), pa_csv.ParseOptions(delimiter="\t")
    else:
        source, parse_options = open_bytes(path), pa_csv.ParseOptions(delimiter=delimiter)
    with source:
        try:
            start = 0
            size = CHUNK if chunk is None else chunk
            for first, text in enumerate(record_chunks(source, size, read_options.skip_rows)):
                # Each chunk's blocks are parsed side by side (pyarrow's threads), in file order.
                options = read_options if first == 0 else _without_skip(read_options)
                table = pa_csv.read_csv(
                    pa.BufferReader(text),
                    read_options=options,
                    parse_options=parse_options,
                    convert_options=convert_options,
                )
                for batch in table.to_batches():
                    yield start, {c: batch.column(internal[c + shift]) for c in wanted}
                    start += batch.num_rows
        except pa.ArrowInvalid as exc:
            match = re.search(r"In CSV column #(\d+): CSV conversion error to double", str(exc))
            if match:  # the error's column is the file's column index
                raise TextColumnError(int(match.group(1))) from None
            raise


#: Bytes of CSV parsed at once: its blocks go to pyarrow's threads (2 cores: ~1.8x faster than one
#: stream on 10M x 31 numbers), while the rows in memory stay a few blocks' worth.
CHUNK = 1 << 24
#: A DDP shard's read: the processes already share the cores, so a chunk parsed on threads gains
#: nothing there, and each process would hold its chunks (10⁶ x 31, 2 processes: a peak of 790 MB
#: each in 16 MB chunks, 660 MB in 1 MB ones).
SHARD_CHUNK = 1 << 20


def record_chunks(source: pa.NativeFile | io.BytesIO, size: int, first_lines: int = 0) -> Iterator[bytes]:
    """The file's bytes in chunks of about ``size`` that end where a line ends outside double
    quotes (a quoted field may hold a line break): each chunk is whole records. The first holds at
    least ``first_lines`` whole lines (the header and the lines above it); a chunk of nothing but
    line ends (blank lines, which are no records) is left out."""
    rest, first = b"", True
    while True:
        data = source.read(size)
        text = rest + data
        if not data:
            if text.strip(b"\r\n"):
                yield text
            return
        cut = _record_end(text)
        if first and text.count(b"\n", 0, cut) + (text.count(b"\r", 0, cut) if b"\n" not in text else 0) <= first_lines:
            rest = text  # the header is not whole yet: read on
            continue
        text, rest, first = text[:cut], text[cut:], False
        if text.strip(b"\r\n"):
            yield text


def _record_end(text: bytes) -> int:
    """Where the last whole record of ``text`` ends (0: none does, read on)."""
    cut = text.rfind(b"\n") + 1 or text.rfind(b"\r") + 1  # Unix and Windows; old Macs' lone CR
    while cut and text.count(b'"', 0, cut) % 2:  # inside a quoted field: an earlier line end
        cut = max(text.rfind(b"\n", 0, cut - 1), text.rfind(b"\r", 0, cut - 1)) + 1
    return cut


def _without_skip(options: pa_csv.ReadOptions) -> pa_csv.ReadOptions:
    """``options`` for a chunk after the first: the header lines are behind."""
    return pa_csv.ReadOptions(column_names=options.column_names, skip_rows=0, block_size=options.block_size)


def records(path: Path, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Every non-blank record of a CSV file with the line it starts on, in Python (slow: errors only).

    Raises:
        DataFileError: a line that is not UTF-8 or not CSV.
    """
    with open_bytes(path) as stream:
        raw = stream.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path}:{line_at(raw, exc.start)}: not UTF-8 text") from None
    lines = text.replace("\r\n", "\n").split("\n")
    if delimiter == " ":
        for number, line in enumerate(lines, start=1):
            if line.strip():
                yield number, split_fields(line, " ")
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


def csv_failure(path: Path, delimiter: str, width: int, header: bool, exc: Exception) -> DataFileError:
    """pyarrow's parse error as one line naming the file and line: the file scanned to find it."""
    for index, (number, fields) in enumerate(records(path, delimiter)):
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
