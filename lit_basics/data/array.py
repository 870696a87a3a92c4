"""A DataModule over the user's own arrays, tensors or CSV file."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lit_basics.data.base import InMemoryDataModule, as_float32_rows
from lit_basics.data.parse import DataFileError, class_labels, parse_csv
from lit_basics.errors import ArgumentError

__all__ = ["ArrayDataModule"]


class ArrayDataModule(InMemoryDataModule):
    """Your own data: arrays/tensors ``x`` (N, F) and ``y`` (N,) or (N, 1), or a CSV file ``path``.

    In a CSV file each line is one sample, comma-separated numbers, the target last.

    Args:
        x: features, array-like of shape (N,) or (N, F); give ``x`` and ``y`` or ``path``, not both.
        y: targets, array-like of shape (N,) or (N, 1).
        path: a CSV file of numbers, target in the last column.
        num_classes: ``None`` (default) for real-valued targets (regression, or 0/1 labels for
            logistic regression); ``C >= 2`` when the targets are class labels, integers ``0..C-1``
            (for :class:`~lit_basics.models.SoftmaxRegression`). Any other target is an error naming
            the file and line.

    Example:
        >>> dm = ArrayDataModule(x=[[1.0], [2.0], [3.0]], y=[2.0, 4.0, 6.0])
        >>> dm.num_features, dm.y.squeeze(1).tolist()
        (1, [2.0, 4.0, 6.0])
        >>> ArrayDataModule(x=[[0.5], [1.5], [2.5]], y=[0, 2, 1], num_classes=3).y.squeeze(1).tolist()
        [0, 2, 1]
    """

    def __init__(
        self,
        x: Any = None,
        y: Any = None,
        path: str | None = None,
        *,
        num_classes: int | None = None,
        batch_size: int | None = None,
        shuffle: bool = False,
        val_fraction: float = 0.0,
        seed: int = 2017,
        passes_per_epoch: int = 1,
    ) -> None:
        super().__init__(
            batch_size=batch_size,
            shuffle=shuffle,
            val_fraction=val_fraction,
            seed=seed,
            passes_per_epoch=passes_per_epoch,
        )
        if num_classes is not None and (
            isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2
        ):
            raise ArgumentError(
                "num_classes", f"must be null (real-valued targets) or an integer >= 2, got {num_classes!r}"
            )
        self._num_classes = num_classes
        labels: np.ndarray | None = None
        if path is not None:
            if x is not None or y is not None:
                raise ArgumentError("path", "and x, y are exclusive: give a CSV path or arrays, not both")
            table = parse_csv(path)
            if table.shape[1] < 2:
                raise DataFileError(f"{path}:1: expected at least one feature and a target per line, found 1 field")
            x, y = table[:, :-1], table[:, -1]
            if num_classes is not None:
                labels = class_labels(path, y, num_classes)
        elif x is None or y is None:
            raise ArgumentError("path", "or x and y must be given: a CSV file, or arrays or tensors")
        self.path = path
        features, targets = as_float32_rows("x", x), as_float32_rows("y", y)
        if targets.shape[1] != 1:
            raise ArgumentError("y", f"must have shape (N,) or (N, 1), got {tuple(targets.shape)}")
        if features.shape[0] != targets.shape[0]:
            raise ArgumentError("x", f"has {features.shape[0]} rows but y has {targets.shape[0]}")
        if num_classes is not None:
            if labels is None:
                column = targets.double().numpy().ravel()
                bad = np.flatnonzero((column != np.round(column)) | (column < 0) | (column >= num_classes))
                if bad.size:
                    raise ArgumentError(
                        "y", f"must hold class labels 0..{num_classes - 1}; row {bad[0]} holds {column[bad[0]]:g}"
                    )
                labels = column.astype(np.int64)
            targets = torch.from_numpy(labels).unsqueeze(1)
        self._set_data(features, targets)

    @property
    def num_classes(self) -> int | None:
        return self._num_classes
