"""From a table file to the tensors a model trains on, in one straight line, for a whole table and
for a DDP process's shard alike:

1. **read** the file's first lines (:func:`~lit_basics.data.reader.read_header`) and choose the
   columns (:mod:`~lit_basics.data.columns`): :class:`TableRead`;
2. **learn the layout** in a streaming pass that keeps no rows (:func:`learn`,
   :mod:`~lit_basics.data.layout`): the used rows (missing values), the split, levels, classes,
   every check;
3. **encode** the rows a process holds, a batch at a time, into tensors allocated once
   (:func:`encode`, :mod:`~lit_basics.data.rows`), scaled with the training rows' statistics;
4. the data module leaves the **aliased** inputs out (:mod:`~lit_basics.data.aliasing`) and holds
   the tensors.

Each stage is a module with a small public surface; this one only calls them in order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import torch

from lit_basics.data.aliasing import Aliasing, check_inputs_left, find_aliasing, fold_r, tolerance_for
from lit_basics.data.columns import ColumnRef, select_categorical, select_columns
from lit_basics.data.encoding import Encoded, Encoding, Missing, encode_table
from lit_basics.data.layout import Layout, learn_layout
from lit_basics.data.reader import SHARD_CHUNK, read_batches, read_header, scan_table
from lit_basics.data.rows import HeldRows, encode_rows, training_scaling
from lit_basics.data.shards import RowShards
from lit_basics.data.sniff import one_column_hint
from lit_basics.data.table import DataFileError, Table

__all__ = ["TableRead", "encode", "learn", "training_aliasing"]


@dataclass(frozen=True)
class TableRead:
    """A table file and the columns a data module reads from it, with how it encodes them.

    Attributes:
        path: the file.
        delimiter: its delimiter (``None``: Parquet).
        header: whether its first line names the columns (``None``: detected).
        feature_columns: the features' 0-based columns, in the model's order.
        target_column: the target's.
        categorical: feature columns one-hot encoded although they hold numbers.
        missing: ``"error"`` or ``"drop"``.
        scale: the scaling's kind.
        names: the header's column names, or ``None``.
        chunk: bytes of a CSV parsed at a time (``None``: the default, parsed on threads; a table
            read in shards: :data:`~lit_basics.data.reader.SHARD_CHUNK`, each process's memory).
    """

    path: str
    delimiter: str | None
    header: bool | None
    feature_columns: list[int]
    target_column: int
    categorical: list[int]
    missing: Missing
    scale: str
    names: tuple[str, ...] | None
    chunk: int | None = None

    @classmethod
    def open(
        cls,
        path: str,
        *,
        delimiter: str | None,
        header: bool | None,
        target: ColumnRef | None,
        features: list[ColumnRef] | None,
        categorical: list[ColumnRef] | None,
        missing: Missing,
        scale: str,
        shard: bool = False,
    ) -> TableRead:
        """The file's first lines read and the columns chosen.

        Raises:
            DataFileError: a file of one column; ArgumentError: naming ``target``, ``features`` or
                ``categorical``.
        """
        head = read_header(path, delimiter=delimiter, header=header)
        if head.num_columns < 2:
            raise DataFileError(
                f"{path}: expected at least one feature and a target per line, found 1 column" + one_column_hint(head)
            )
        target_column, feature_columns = select_columns(head, target, features)
        chosen = select_categorical(head, categorical, feature_columns)
        # In shards the processes share the cores: a chunk parsed on threads gains nothing, and
        # every process would hold its chunks.
        chunk = SHARD_CHUNK if shard else None
        return cls(
            path, head.delimiter, header, feature_columns, target_column, chosen, missing, scale, head.names, chunk
        )

    @property
    def columns(self) -> list[int]:
        return [*self.feature_columns, self.target_column]

    def scan(self, start: Callable[[Table], Callable[[int, dict[int, pa.Array]], None]]) -> Table:
        """One streaming pass over the columns read (:func:`~lit_basics.data.reader.scan_table`)."""
        return scan_table(
            self.path, start, delimiter=self.delimiter, columns=self.columns, header=self.header, chunk=self.chunk
        )

    def batches(self, layout: Layout) -> Callable[[np.ndarray], Iterator[Table]]:
        """Given a bool mask over the file's rows, the batches holding them (the layout knows
        which columns hold text)."""
        text = [c for c in self.columns if not layout.table.numeric(c)]

        def rows(mask: np.ndarray) -> Iterator[Table]:
            return read_batches(
                self.path,
                delimiter=self.delimiter,
                columns=self.columns,
                text=text,
                header=self.header,
                rows=mask,
                chunk=self.chunk,
            )

        return rows

    def encode_options(self, num_classes: int | None) -> dict[str, Any]:
        """:func:`~lit_basics.data.encoding.encode_table`'s columns and options."""
        return {
            "feature_columns": self.feature_columns,
            "target_column": self.target_column,
            "categorical": self.categorical,
            "missing": self.missing,
            "num_classes": num_classes,
        }


def learn(read: TableRead, num_classes: int | None, split: Callable[[int], torch.Tensor | None]) -> Layout:
    """Stage 2: the layout, from one streaming pass (:func:`~lit_basics.data.layout.learn_layout`)."""
    return learn_layout(
        read.scan,
        feature_columns=read.feature_columns,
        target_column=read.target_column,
        categorical=read.categorical,
        missing=read.missing,
        num_classes=num_classes,
        scale=read.scale,
        split=split,
    )


def encode(
    read: TableRead,
    layout: Layout,
    held: HeldRows,
    *,
    num_classes: int | None,
    dtype: torch.dtype,
    fixed: Encoding | None = None,
    shards: RowShards | None = None,
    problems: Callable[[str | None], None] | None = None,
) -> Encoded:
    """Stage 3: the rows ``held`` as tensors, scaled with the training rows' statistics (summed over
    ``shards``) or as ``fixed`` says. ``problems``: under DDP, every process says whether reading
    its rows failed before any goes on to a collective (none is left waiting in one)."""
    batches = read.batches(layout)
    encoding = fixed
    if encoding is None:
        scaling = training_scaling(
            layout, held, batches, scale=read.scale, features=read.feature_columns, shards=shards
        )
        encoding = dataclasses.replace(layout.encoding, scaling=scaling)
    failure: str | None = None
    encoded: Encoded | None = None
    try:
        encoded = encode_rows(
            layout, held, batches, encoding=encoding, encode_options=read.encode_options(num_classes), dtype=dtype
        )
    except DataFileError as exc:
        if problems is None:
            raise
        failure = str(exc)
    if problems is not None:
        problems(failure)
    assert encoded is not None
    return encoded


def training_aliasing(read: TableRead, layout: Layout, num_classes: int | None) -> Aliasing:
    """The aliased inputs of the training rows, before any process holds its rows (a table read in
    shards: the model's ``in_features`` must be known now): one more streaming pass folds the ``R``
    factor of their design, batch by batch, in the columns' units.

    Raises:
        DataFileError: no input left.
    """
    held = HeldRows.whole(layout)
    r: torch.Tensor | None = None
    for table in read.batches(layout)(HeldRows(held.file_rows[held.training], held.training[held.training],
                                               held.total_rows).mask()):  # fmt: skip
        part = encode_table(table, fixed=layout.encoding, room_checked=True, **read.encode_options(num_classes))
        ones = torch.ones(part.x.shape[0], 1, dtype=torch.float64)
        r = fold_r(r, torch.cat([ones, part.x.to(torch.float64)], dim=1))
    assert r is not None
    aliasing = find_aliasing(r, tolerance=tolerance_for(torch.float32), names=layout.encoding.input_names)
    check_inputs_left(aliasing, layout.table.path)
    return aliasing
