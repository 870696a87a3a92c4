"""New rows to predict (``predict_path``): the feature columns only, checked against the training
columns and encoded as the training rows were."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lit_basics.data.encoding import Encoding, Missing, encode_table
from lit_basics.data.reader import DataFileError, Table, read_header, read_table

__all__ = ["PredictRows", "read_predict_rows"]


@dataclass(frozen=True)
class PredictRows:
    """The new rows: the table as read, its columns (pyarrow, missing values null), the encoded
    features ``(rows kept, inputs)`` and which rows were kept (``None``: all)."""

    table: Table
    inputs: dict[int, Any]
    x: torch.Tensor
    kept: np.ndarray | None


def read_predict_rows(
    path: str,
    encoding: Encoding,
    *,
    header: bool | None,
    delimiter: str | None,
    named_features: bool,
    missing: Missing,
    dtype: torch.dtype,
) -> PredictRows:
    """Read ``path``'s feature columns (named as the training features when ``named_features``,
    else in their order) and encode them with ``encoding``.

    Raises:
        DataFileError: naming the file (and its header line): missing, extra or reordered columns,
            or a column count that is not the features'.
    """
    columns = [name for name, _ in encoding.columns]
    head = read_header(path, delimiter=delimiter, header=header)
    if head.names is not None and named_features:
        if list(head.names) != columns:
            where = f"{path}:{head.header_line}" if head.header_line is not None else str(path)
            raise DataFileError(f"{where}: the header's columns: {_difference(list(head.names), columns)}")
    elif head.num_columns != len(columns):
        what = "the target too?" if head.num_columns == len(columns) + 1 else "one per feature"
        raise DataFileError(
            f"{path}: {head.num_columns} column(s), the model has {len(columns)} feature column(s) "
            f"({what}): a predict file holds the feature columns only"
        )
    text = [c for c, (_, levels) in enumerate(encoding.columns) if levels and isinstance(levels[0], str)]
    table = read_table(path, delimiter=head.delimiter or delimiter, text=text, header=header)
    inputs = dict(table.columns)
    encoded = encode_table(
        table, feature_columns=range(len(columns)), target_column=None, missing=missing, fixed=encoding, dtype=dtype
    )
    return PredictRows(table, inputs, encoded.x, None if encoded.dropped == 0 else encoded.rows)


def _difference(names: list[str], columns: list[str]) -> str:
    """How a header's ``names`` differ from the training feature ``columns``."""
    missing = [n for n in columns if n not in names]
    extra = [n for n in names if n not in columns]
    parts = []
    if missing:
        parts.append(f"missing {', '.join(map(repr, missing))}")
    if extra:
        parts.append(f"not features of the training data: {', '.join(map(repr, extra))}")
    if not parts:
        parts.append(f"the columns are in another order; expected {', '.join(map(repr, columns))}")
    return "; ".join(parts)
