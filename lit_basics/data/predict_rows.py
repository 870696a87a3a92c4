"""New rows to predict (``predict_path``, or arrays given to ``transform``): the feature columns
only, checked against the training columns and encoded, scaled and rounded as the training rows were."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from lit_basics.data.encoding import Encoding, Missing, encode_table
from lit_basics.data.given import as_rows
from lit_basics.data.reader import DataFileError, Table, read_header, read_table
from lit_basics.data.scaling import FeatureScaling
from lit_basics.data.serving import ResidentRows
from lit_basics.errors import ArgumentError

if TYPE_CHECKING:
    from lit_basics.data.aliasing import Aliasing

__all__ = ["NewRows", "PredictRows", "read_predict_rows"]


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


class NewRows(ResidentRows):
    """The rows a data module is asked to predict: those of ``predict_path``, read once the
    training rows are encoded, or arrays given to :meth:`transform`; encoded, scaled and rounded
    with what the training rows taught (a subclass holds that: :attr:`encoding`, :attr:`scaling`)."""

    predict_path: str | None
    feature_names: list[str] | None
    missing: Missing
    scaling: FeatureScaling
    _dtype: torch.dtype
    _predict_table: Table | None
    _predict_inputs: dict[int, Any] | None
    _predict_kept: np.ndarray | None

    if TYPE_CHECKING:  # the subclass's: what the training rows taught, and their rounding check

        @property
        def encoding(self) -> Encoding: ...

        @property
        def aliasing(self) -> Aliasing: ...

        def _rounded(self, what: str, raw: torch.Tensor, rounded: torch.Tensor) -> torch.Tensor: ...

    def _read_predict_rows(self, path: str) -> None:
        """The new rows of ``path`` (:func:`~lit_basics.data.predict_rows.read_predict_rows`), on the data's device."""
        rows = read_predict_rows(
            path,
            self.encoding,
            header=getattr(self, "header", None),
            delimiter=getattr(self, "delimiter", None),
            named_features=self.feature_names is not None,
            missing=self.missing,
            dtype=self._dtype,
        )
        self._predict_table, self._predict_inputs, self._predict_kept = rows.table, rows.inputs, rows.kept
        self._predict_x = rows.x.to(self.x.device)

    @property
    def predict_rows(self) -> Table | None:
        """The table of new rows read from ``predict_path`` (its columns are in :meth:`predict_inputs`)."""
        return self._predict_table

    def predict_inputs(self) -> tuple[list[str], list[Any], np.ndarray | None] | None:
        """The new rows of ``predict_path`` as read: column names, each column's values (a pyarrow
        array, missing values null) and which rows have a prediction (``None``: all); or ``None``."""
        table, inputs = self._predict_table, self._predict_inputs
        if table is None or inputs is None:
            return None
        names = list(table.names) if table.names is not None else [name for name, _ in self.encoding.columns]
        return names, [inputs[c] for c in sorted(inputs)], self._predict_kept

    def transform(self, x: Any) -> torch.Tensor:
        """New rows ``x`` ``(N, F)`` (array-like, as read: unscaled) as the model sees them: scaled
        with the statistics learned from the training rows, rounded to the data's dtype.

        Raises:
            ArgumentError: naming ``x``: the wrong number of columns, or data with categorical
                columns (give their new rows as a file: ``predict_path``).

        Example:
            >>> from lit_basics.data import ArrayDataModule
            >>> x = [[1.0, 10.0], [3.0, 10.0], [1.0, 30.0], [3.0, 30.0]]
            >>> dm = ArrayDataModule(x=x, y=[0, 1, 0, 1], scale="standardize")
            >>> dm.transform([[2.0, 40.0]]).tolist()
            [[0.0, 2.0]]
        """
        if self.encoding.categorical:
            raise ArgumentError(
                "x", "the data has categorical columns: give new rows as a file (predict_path), to be encoded"
            )
        rows = as_rows("x", x)
        inputs = len(self.encoding.input_names)
        if rows.shape[1] != inputs:
            raise ArgumentError("x", f"has {rows.shape[1]} columns, the data has {inputs} features")
        return self.aliasing.drop(self._rounded("x", rows, self.scaling.apply(rows.cpu(), self._dtype)))
