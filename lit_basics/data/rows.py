"""Reading the rows a process holds into the tensors a model trains on, a batch at a time: the
stage after the layout (:mod:`~lit_basics.data.layout`), for a whole table and for a DDP process's
shard alike.

The features are allocated once (``rows x inputs``, checked against the memory left first) and
each batch of the file is encoded into its rows (:func:`~lit_basics.data.encoding.encode_table`
with the layout's levels): the table is never held whole, as read or as float64. The numeric
inputs are scaled as they are written, in float64 and rounded once, with the training rows'
statistics: the layout pass's when every used row trains, else those of one more pass over the
training rows (summed over every process's shard).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from lit_basics.data.encoding import Encoded, Encoding, encode_table
from lit_basics.data.layout import Layout
from lit_basics.data.memory import check_room
from lit_basics.data.scaling import ColumnMoments, FeatureScaling
from lit_basics.data.shards import RowShards
from lit_basics.data.table import Table
from lit_basics.errors import ArgumentError

__all__ = ["HeldRows", "encode_rows", "training_scaling"]


@dataclasses.dataclass(frozen=True)
class HeldRows:
    """The file's data rows a process holds, in the order of its tensors' rows.

    Attributes:
        file_rows: ``(M,)`` int64: the file's data row of each tensor row.
        training: ``(M,)`` bool: which of them are training rows.
        total_rows: the file's data rows.
    """

    file_rows: np.ndarray
    training: np.ndarray
    total_rows: int

    @classmethod
    def whole(cls, layout: Layout) -> HeldRows:
        """Every used row, in file order (one process holds the table)."""
        training = np.ones(layout.rows.size, dtype=bool)
        if layout.train_index is not None:
            training[:] = False
            training[layout.train_index.numpy()] = True
        return cls(layout.rows, training, layout.table.num_rows)

    @classmethod
    def shard(cls, layout: Layout, held_out: np.ndarray | None, rank: int, world: int) -> HeldRows:
        """Process ``rank``'s block of the training rows, then its block of the held-out rows (the
        blocks the loaders would cut): both splits are blocks of its tensors' rows, views.

        Raises:
            ArgumentError: naming ``shard``: fewer rows than processes.
        """
        n = int(layout.rows.size)
        train = np.arange(n) if layout.train_index is None else layout.train_index.numpy()

        def block(index: np.ndarray) -> np.ndarray:
            if index.size < world:
                raise ArgumentError(
                    "shard", f"{index.size} row(s) cannot be shared by {world} processes (one each at least)"
                )
            return index[rank * index.size // world : (rank + 1) * index.size // world]

        train_rows = layout.rows[block(train)]
        val_rows = np.zeros(0, dtype=np.int64) if held_out is None else layout.rows[block(held_out)]
        training = np.concatenate([np.ones(train_rows.size, dtype=bool), np.zeros(val_rows.size, dtype=bool)])
        return cls(np.concatenate([train_rows, val_rows]), training, layout.table.num_rows)

    def mask(self) -> np.ndarray:
        """A bool per file row: held here."""
        held = np.zeros(self.total_rows, dtype=bool)
        held[self.file_rows] = True
        return held


def training_scaling(
    layout: Layout,
    held: HeldRows,
    batches: Callable[[np.ndarray], Iterator[Table]],
    *,
    scale: str,
    features: list[int],
    shards: RowShards | None = None,
) -> FeatureScaling:
    """The training rows' scaling: the layout's (every used row trains), or, where rows are held
    out, from one more pass over this process's training rows, summed over every process's shard
    (a collective): what the encoding needs before it writes a row, each rounded once."""
    known = layout.training_scaling(scale)
    if known is not None:
        return known
    encoding = layout.encoding
    numeric = [c for c, (_, levels) in zip(features, encoding.columns, strict=True) if levels is None]
    moments = ColumnMoments.empty(len(numeric))
    training = HeldRows(held.file_rows[held.training], held.training[held.training], held.total_rows)
    for table in batches(training.mask()) if numeric else ():
        moments.update_columns([table.columns[c].to_numpy() for c in numeric])
    merged = moments if shards is None else moments.across(shards)
    return FeatureScaling.from_moments(scale, merged, encoding.numeric_inputs, encoding.input_names)


def encode_rows(
    layout: Layout,
    held: HeldRows,
    batches: Callable[[np.ndarray], Iterator[Table]],
    *,
    encoding: Encoding,
    encode_options: dict[str, Any],
    dtype: torch.dtype,
) -> Encoded:
    """The held rows as tensors, encoded with ``encoding`` (its levels, classes and scaling): ``x``
    ``(M, the model's inputs)``, each value scaled in float64 and rounded once, and ``y`` ``(M, 1)``.

    Args:
        layout: what the layout pass learned (the used rows, the split).
        held: the rows this process holds.
        batches: given a bool mask over the file's rows, the file's batches holding those rows
            (:func:`~lit_basics.data.reader.read_batches`).
        encoding: the encoding (:func:`training_scaling`'s scaling, or a checkpoint's).
        encode_options: :func:`~lit_basics.data.encoding.encode_table`'s columns and options.
        dtype: of the features and real-valued targets.

    Raises:
        DataFileError: a value the features cannot hold once scaled (naming file, line and column),
            or tensors larger than the memory left.
    """
    check_room(layout.table.path, held.file_rows.size, encoding.columns, dtype)
    x = torch.empty(held.file_rows.size, len(encoding.kept), dtype=dtype)
    labels = encoding.classes is not None or encode_options.get("num_classes") is not None
    y = torch.empty(held.file_rows.size, 1, dtype=torch.int64 if labels else dtype)
    destination = np.full(held.total_rows, -1, dtype=np.int64)
    destination[held.file_rows] = np.arange(held.file_rows.size)
    array = x.numpy()
    for table in batches(held.mask()):
        where = destination[table.file_rows]
        first, count = int(where[0]), int(where.size)
        block = bool((np.diff(where) == 1).all())  # consecutive rows (a whole table's always): written in place
        out = array[first : first + count] if block else None
        part = encode_table(table, fixed=encoding, dtype=dtype, room_checked=True, out=out, **encode_options)
        assert part.y is not None
        if block:
            y[first : first + count] = part.y
        else:
            index = torch.from_numpy(where)
            x[index], y[index] = part.x, part.y
    return Encoded(x, y, encoding, held.file_rows, layout.dropped, layout.table.num_rows, layout.train_index)
