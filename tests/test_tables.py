"""The table reader against pandas (the reference reader): every delimiter, compression, Parquet,
quoting, a header or none, missing values, text columns; and its errors naming file and line."""

from __future__ import annotations

import bz2
import gzip
import io
import re
import string

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lit_basics.data import ArrayDataModule, DataFileError, read_header, read_table
from lit_basics.data.reader import MISSING_VALUES, check_delimiter
from lit_basics.errors import ArgumentError
from tests.helpers import tiny_trainer

SEPARATORS = {",": ",", ";": ";", "\t": "\t", "|": "|"}


def mixed_frame(rows: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "length": rng.normal(40, 5, rows).round(3),
            "island": rng.choice(["Biscoe", "Dream", "Torgersen, north"], rows),  # a comma inside
            "count": rng.integers(0, 100, rows),
            "ratio": rng.uniform(-1e6, 1e6, rows),
            "species": rng.choice(["Adelie", "Chinstrap", 'Gentoo "g"'], rows),  # a quote inside
        }
    )
    frame.loc[3, "length"] = np.nan
    frame.loc[5, "island"] = None
    return frame


def assert_same_as_pandas(table, frame: pd.DataFrame) -> None:
    assert table.num_rows == len(frame)
    for c, name in enumerate(frame.columns):
        ours = table.columns[c].to_pylist()
        theirs = frame[name].tolist()
        if table.numeric(c):
            np.testing.assert_array_equal(
                np.array([np.nan if v is None else v for v in ours], dtype=float), np.asarray(theirs, dtype=float)
            )
        else:
            assert ours == [None if isinstance(v, float) and np.isnan(v) else str(v) for v in theirs], name


@pytest.mark.parametrize("sep", list(SEPARATORS))
@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("compression", [None, "gzip", "bz2", "zstd"])
def test_every_delimiter_and_compression_reads_as_pandas(tmp_path, sep, header, compression):
    frame = mixed_frame()
    suffix = {None: "", "gzip": ".gz", "bz2": ".bz2", "zstd": ".zst"}[compression]
    path = tmp_path / f"table.csv{suffix}"
    text = frame.to_csv(sep=sep, index=False, header=header, na_rep="NA")
    raw = text.encode()
    if compression == "gzip":
        raw = gzip.compress(raw)
    elif compression == "bz2":
        raw = bz2.compress(raw)
    elif compression == "zstd":
        with pa.output_stream(str(path), compression="zstd") as stream:
            stream.write(raw)
    if compression != "zstd":
        path.write_bytes(raw)
    table = read_table(path)
    assert table.delimiter == sep
    assert table.names == (tuple(frame.columns) if header else None)
    expected = pd.read_csv(  # the same text, uncompressed
        io.StringIO(text), sep=sep, header=0 if header else None, keep_default_na=False, na_values=list(MISSING_VALUES)
    )
    expected.columns = frame.columns
    assert_same_as_pandas(table, expected)


def test_runs_of_spaces_are_one_delimiter(tmp_path):
    path = tmp_path / "spaces.txt"
    path.write_text("  a   b\tc\n 1  2.5 x\n3\t 4  y  \n")
    table = read_table(path)
    assert (table.delimiter, table.names) == (" ", ("a", "b", "c"))
    expected = pd.read_csv(path, sep=r"\s+")
    assert_same_as_pandas(table, expected)


def test_parquet_reads_as_pandas(tmp_path):
    frame = mixed_frame()
    frame["flag"] = frame["count"] > 50  # booleans are text: 'true'/'false' levels
    path = tmp_path / "table.parquet"
    frame.to_parquet(path)
    table = read_table(path)
    assert table.names == tuple(frame.columns)
    assert table.delimiter is None
    assert table.columns[5].to_pylist()[:2] == [str(v).lower() for v in frame["flag"][:2]]
    assert_same_as_pandas(table, pd.read_parquet(path).drop(columns="flag"))
    assert table.location(4) == f"{path}: row 5"


def test_a_text_value_after_the_sampled_lines_makes_a_text_column(tmp_path):
    path = tmp_path / "late.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i}.5\n" for i in range(200_000)) + "7,oops\n")
    table = read_table(path)
    assert table.numeric(0)
    assert not table.numeric(1)
    assert table.columns[1][-1].as_py() == "oops"
    assert table.columns[1][0].as_py() == "0.5"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sep=st.sampled_from(list(SEPARATORS)),
    rows=st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(-1e12, 1e12, allow_nan=False)),
            st.one_of(st.none(), st.text(string.ascii_letters + " ,;|\"'-", min_size=1, max_size=8)),
        ),
        min_size=1,
        max_size=20,
    ),
)
def test_any_table_pandas_writes_reads_back_as_pandas_reads_it(tmp_path, sep, rows):
    frame = pd.DataFrame(rows, columns=["value", "label"])
    frame["label"] = frame["label"].map(
        lambda v: v if not isinstance(v, str) or v.strip() not in MISSING_VALUES else "z"
    )
    # A text column that happens to hold only numbers is numeric for both readers: keep it text.
    frame.loc[0, "label"] = "text"
    path = tmp_path / "any.csv"
    frame.to_csv(path, sep=sep, index=False, na_rep="NA")
    table = read_table(path)
    expected = pd.read_csv(path, sep=sep, keep_default_na=False, na_values=list(MISSING_VALUES))
    assert_same_as_pandas(table, expected)


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("a,b\n1,2\n3,4,5\n", {}, ":3: expected 2 fields separated by ',', found 3$"),
        (
            "a\tb\n1\t2\n",
            {"delimiter": ";"},
            r":2: expected 3 fields, found 1 \(read as one column with delimiter ';', ",
        ),
        ("a,b\n1,inf\n", {}, ":2: column 2 \\('b'\\) is not finite: inf$"),
        ("a,a\n1,2\n", {}, ":1: the header line names columns 1 and 2 both 'a'$"),
        ("a,b\n", {}, ": a header line and no data rows$"),
        ("\n\n", {}, ": empty file, no data rows$"),
    ],
)
def test_malformed_tables_name_file_and_line(tmp_path, text, kwargs, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    expected_fields = 3 if "delimiter" in kwargs else None
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(path))}{message}"):
        read_table(path, expected_fields=expected_fields, **kwargs)


def test_a_line_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("a,b\n1,x\n2,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(path))}:3: not UTF-8 text$"):
        read_table(path)


def test_a_nested_parquet_column_is_refused(tmp_path):
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0], "tags": [[1, 2], [3]]}), path)
    with pytest.raises(DataFileError, match=r"column 2 \('tags'\) is nested \(list<element: int64>\): give a flat"):
        read_table(path)


@pytest.mark.parametrize("sep", [",", "\t", " "])
@pytest.mark.parametrize("shard", [False, True])
def test_blank_lines_above_the_header_are_skipped(tmp_path, sep, shard):
    """pyarrow counts a blank line as a row to skip: the header two lines down was read as data."""
    path = tmp_path / "blank.csv"
    rows = [["a", "k", "y"], ["1", "u", "0"], ["3.5", "v", "1"], ["2", "v", "0"]]
    path.write_text("\n \n" + "\n".join(sep.join(row) for row in rows))
    table = read_table(path)
    assert table.names == ("a", "k", "y")
    assert_same_as_pandas(table, pd.read_csv(path, sep=r"\s+" if sep == " " else sep))
    dm = ArrayDataModule(path=str(path), shard=shard)
    dm.trainer = tiny_trainer(1)
    dm.setup("fit")
    assert dm.feature_names == ["a", "k=v"]
    assert dm.x.tolist() == [[1.0, 0.0], [3.5, 1.0], [2.0, 1.0]]


def test_a_quoted_field_across_lines_leaves_the_columns_types_alone(tmp_path):
    """The first lines are sampled record by record: a comment written on two lines is one text
    field, and the numbers beside it stay numbers (they were read as text, one-hot)."""
    path = tmp_path / "comments.csv"
    path.write_text('a,comment,y\n1.5,"two\nlines",0\n2,"say ""hi""",1\nNA,"two\nlines",1\n')
    table = read_table(path)
    assert table.numeric(0)
    assert not table.numeric(1)
    assert_same_as_pandas(table, pd.read_csv(path))
    # The record with a missing value starts on line 5 (the file's 5th line, the 3rd record).
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(path))}:5: column 1 \('a'\): a missing value"):
        ArrayDataModule(path=str(path))


@pytest.mark.parametrize("shard", [False, True])
def test_a_parquet_binary_value_that_is_not_utf8_is_named_by_its_row(tmp_path, shard):
    """The CSV reader's "not UTF-8 text", for Parquet: the row (across row groups) and column."""
    path = tmp_path / "bytes.parquet"
    table = pa.table({"x": [1.0, 2.0, 3.0, 4.0], "k": [b"ok", b"ok", b"ok", b"ab\xff"], "y": [0, 1, 0, 1]})
    pq.write_table(table, path, row_group_size=2)
    with pytest.raises(DataFileError, match=r"bytes.parquet: row 4: column 2 \('k'\) is not UTF-8 text: b'ab\\xff'$"):
        ArrayDataModule(path=str(path), shard=shard)


def test_parquet_integers_beyond_float64s_exact_range_round_as_their_csv_digits_do(tmp_path):
    """An id or count above 2**53 (int64, uint64) is a number: it rounds to the nearest float64,
    as the same digits in a CSV do; it is not refused."""
    n, m, y = [2**63 + 1, 2**53 + 1, 7], [2**62 + 3, 1, 2], [0.5, 1.0, 2.0]
    columns = {"n": pa.array(n, pa.uint64()), "m": pa.array(m, pa.int64()), "y": y}
    pq.write_table(pa.table(columns), tmp_path / "big.parquet")
    (tmp_path / "big.csv").write_text("n,m,y\n" + "".join(f"{a},{b},{c}\n" for a, b, c in zip(n, m, y, strict=True)))
    parquet, csv = read_table(tmp_path / "big.parquet"), read_table(tmp_path / "big.csv")
    assert parquet.columns[0].to_pylist() == csv.columns[0].to_pylist() == [float(v) for v in n]
    assert parquet.columns[1].to_pylist() == csv.columns[1].to_pylist() == [float(v) for v in m]


@pytest.mark.parametrize("value", ["ab", "", "1", ".", 3])
def test_an_unknown_delimiter_names_the_argument(value):
    with pytest.raises(ArgumentError) as info:
        check_delimiter(value)
    assert info.value.argument == "delimiter"


def test_delimiter_names():
    assert [check_delimiter(v) for v in ["tab", "\\t", "space", ";", "|", None]] == ["\t", "\t", " ", ";", "|", None]


def test_the_header_is_read_from_the_first_lines_only(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("\n\nx;y\n1;2\n")
    header = read_header(path)
    assert (header.names, header.num_columns, header.delimiter, header.header_line) == (("x", "y"), 2, ";", 3)


@pytest.mark.parametrize(
    "text",
    [
        '"","bill","island","y"\n"1",39.1,"Dream",0\n"2",NA,"Biscoe",1\n',  # R's write.csv
        '"bill" "island" "y"\n"1" 39.1 "Dream" 0\n"2" NA "Biscoe" 1\n',  # R's write.table
    ],
)
def test_row_names_as_r_writes_them_are_skipped_as_pandas_does(tmp_path, text):
    path = tmp_path / "from_r.csv"
    path.write_text(text)
    table = read_table(path)
    assert table.names == ("bill", "island", "y")
    expected = pd.read_csv(path, sep=None if " " in text.splitlines()[1] else ",", engine="python", index_col=0)
    assert_same_as_pandas(table, expected)
    assert table.lines.tolist() == [2, 3]


@pytest.mark.parametrize(
    ("first", "header"),
    [("x1,x2,2020,y", True), ("1,four,0,1", False), ("a,b,c,d", True), ("Adelie,Dream,39.1,0", False)],
)
def test_a_header_is_a_first_line_of_names(tmp_path, first, header):
    path = tmp_path / "h.csv"
    path.write_text(f"{first}\n1,2,3,0\n4,5,6,1\n")
    assert (read_header(path).names is not None) == header


def test_header_can_be_said_when_its_names_are_numbers(tmp_path):
    path = tmp_path / "years.csv"
    path.write_text("country,1960,1961,1962\nAruba,4.8,4.6,4.5\nChad,6.2,6.3,6.3\n")
    assert read_header(path).names is None  # most names are numbers: not detected
    table = read_table(path, header=True)
    assert table.names == ("country", "1960", "1961", "1962")
    assert_same_as_pandas(table, pd.read_csv(path))
    assert read_table(tmp_path / "years.csv", header=False).num_rows == 3


@pytest.mark.parametrize("text", ["a,b,y,\n1,2.5,0,\n3,4,1,\n", "1,2.5,0,\n3,4,1,\n"], ids=["header", "no header"])
def test_a_delimiter_ending_every_line_is_no_column(tmp_path, text):
    path = tmp_path / "trailing.csv"
    path.write_text(text)
    table = read_table(path)
    assert table.num_columns == 3
    assert table.values.tolist() == [[1.0, 2.5, 0.0], [3.0, 4.0, 1.0]]


def test_a_semicolon_table_with_decimal_commas_reads_as_pandas(tmp_path):
    path = tmp_path / "european.csv"
    path.write_text("Gewicht;Länge;Insel\n3,75;39,1;Dream\n-4;40,25;NA\n1,5e3;41;Biscoe\n")
    table = read_table(path)
    assert (table.delimiter, table.names) == (";", ("Gewicht", "Länge", "Insel"))
    assert table.numeric(0)
    assert table.numeric(1)
    expected = pd.read_csv(path, sep=";", decimal=",", keep_default_na=False, na_values=list(MISSING_VALUES))
    assert_same_as_pandas(table, expected)


# --- a CSV parsed in chunks of whole records --------------------------------------------------


CHUNKED_TEXTS = {
    "quoted line breaks": "a,comment,y\n" + '1.5,"two\nlines",0\n2,"say ""hi""",1\n3,"x\r\ny\nz",1\n' * 8,
    "windows line ends": "a,b,y\r\n" + "".join(f"{i},{i % 3}.5,{i % 2}\r\n" for i in range(40)),
    "blank lines": "\n \na;b\n\n1;2\n\n3;4\n" + "5;6\n" * 30,
    "runs of spaces": "a   b  y\n" + "".join(f"  {i}   {i * 2}  {i % 2}\n" for i in range(30)),
    "no final line end": "a,b\n" + "\n".join(f"{i},{i}" for i in range(25)),
}


@pytest.mark.parametrize("name", list(CHUNKED_TEXTS))
@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_a_csv_read_in_small_chunks_reads_as_in_one(tmp_path, monkeypatch, name, chunk):
    """The parallel reader cuts a CSV where a record ends (outside quotes): whatever the size of
    its chunks, the table is the one a single chunk gives, and pandas reads."""
    path = tmp_path / "chunked.csv"
    path.write_bytes(CHUNKED_TEXTS[name].encode())
    whole = read_table(path)
    monkeypatch.setattr("lit_basics.data.csv_reader.CHUNK", chunk)
    table = read_table(path)
    assert table.names == whole.names
    assert {c: v.to_pylist() for c, v in table.columns.items()} == {c: v.to_pylist() for c, v in whole.columns.items()}
    assert table.num_rows > 20


def test_chunks_keep_line_numbers_and_late_text_columns(tmp_path, monkeypatch):
    monkeypatch.setattr("lit_basics.data.csv_reader.CHUNK", 16)
    late = tmp_path / "late.csv"
    late.write_text("a,b\n" + "".join(f"{i},{i}.5\n" for i in range(300)) + "7,oops\n")
    table = read_table(late)
    assert not table.numeric(1)
    assert table.columns[1][-1].as_py() == "oops"
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n" + "".join(f"{i},{i}\n" for i in range(50)) + "1,2,3\n")
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(bad))}:52: expected 2 fields"):
        read_table(bad)
    missing = tmp_path / "missing.csv"
    missing.write_text("a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(50)) + "NA,1\n")
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(missing))}:52: column 1 \('a'\): a missing value"):
        ArrayDataModule(path=str(missing))


def test_a_table_read_in_shards_parses_small_chunks_and_reads_the_same_rows(tmp_path):
    """Under DDP the processes share the cores: a table read in shards is parsed in small chunks
    (each process's memory), and the rows a mask selects are those of the default chunks."""
    from lit_basics.data.pipeline import TableRead
    from lit_basics.data.reader import SHARD_CHUNK, read_batches

    path = tmp_path / "shards.csv"
    path.write_text("a,b,y\n" + "".join(f"{i},{i % 7}.25,{i % 2}\n" for i in range(200)))
    options = {"delimiter": None, "header": None, "target": None, "features": None, "categorical": None}
    options |= {"missing": "error", "scale": "none"}
    assert TableRead.open(str(path), shard=True, **options).chunk == SHARD_CHUNK
    assert TableRead.open(str(path), **options).chunk is None
    rows = np.arange(200) % 3 != 0

    def read(chunk: int | None) -> tuple[np.ndarray, dict[int, list[object]]]:
        batches = list(read_batches(path, columns=[0, 1, 2], rows=rows, chunk=chunk))
        columns = {c: [v for b in batches for v in b.columns[c].to_pylist()] for c in (0, 1, 2)}
        return np.concatenate([b.file_rows for b in batches]), columns

    (small_rows, small), (default_rows, default) = read(16), read(None)
    assert np.array_equal(small_rows, np.flatnonzero(rows))
    assert np.array_equal(small_rows, default_rows)
    assert small == default


@settings(max_examples=60, deadline=None)
@given(
    records=st.lists(
        st.lists(
            st.text('ab"\n\r,', max_size=5).map(lambda v: '"' + v.replace('"', '""') + '"'), min_size=1, max_size=3
        ),
        max_size=12,
    ),
    size=st.integers(1, 40),
    end=st.sampled_from(["\n", "\r\n"]),
)
def test_record_chunks_cut_only_between_records(records, size, end):
    from lit_basics.data.csv_reader import record_chunks

    text = "".join(",".join(fields) + end for fields in records).encode()
    chunks = list(record_chunks(io.BytesIO(text), size))
    assert all(chunk.count(b'"') % 2 == 0 for chunk in chunks)
    assert b"".join(chunks).split() == text.split()


def test_read_ahead_keeps_order_raises_where_the_reader_failed_and_stops_with_its_caller():
    import threading

    from lit_basics.data.ahead import read_ahead

    assert list(read_ahead(iter(range(100)), depth=3)) == list(range(100))

    def failing():
        yield 1
        raise DataFileError("bad.csv:3: broken")

    batches = read_ahead(failing())
    assert next(batches) == 1
    with pytest.raises(DataFileError, match=r"bad\.csv:3: broken"):
        next(batches)

    read = []

    def endless():
        for i in range(10**9):
            read.append(i)
            yield i

    batches = read_ahead(endless(), depth=2)
    assert next(batches) == 0
    batches.close()  # the caller stops early: the reading thread ends, the generator is closed
    assert len(read) < 10
    assert not any(t.name == "lit-basics-read-ahead" for t in threading.enumerate())
