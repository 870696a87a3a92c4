"""A DataModule over the user's own arrays, tensors or CSV file."""

from __future__ import annotations

from typing import Any

from lit_basics.data.base import InMemoryDataModule, as_float32_rows
from lit_basics.data.parse import DataFileError, parse_csv

__all__ = ["ArrayDataModule"]


class ArrayDataModule(InMemoryDataModule):
    """Your own data: arrays/tensors ``x`` (N, F) and ``y`` (N,) or (N, 1), or a CSV file ``path``.

    In a CSV file each line is one sample, comma-separated numbers, the target last.

    Args:
        x: features, array-like of shape (N,) or (N, F); give ``x`` and ``y`` or ``path``, not both.
        y: targets, array-like of shape (N,) or (N, 1).
        path: a CSV file of numbers, target in the last column.

    Example:
        >>> dm = ArrayDataModule(x=[[1.0], [2.0], [3.0]], y=[2.0, 4.0, 6.0])
        >>> dm.num_features, dm.y.squeeze(1).tolist()
        (1, [2.0, 4.0, 6.0])
    """

    def __init__(
        self,
        x: Any = None,
        y: Any = None,
        path: str | None = None,
        *,
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
        if path is not None:
            if x is not None or y is not None:
                raise ValueError("path and x, y are exclusive: give a CSV path or arrays, not both")
            table = parse_csv(path)
            if table.shape[1] < 2:
                raise DataFileError(f"{path}:1: expected at least one feature and a target per line, found 1 field")
            x, y = table[:, :-1], table[:, -1]
        elif x is None or y is None:
            raise ValueError("path or x and y must be given: a CSV file, or arrays or tensors")
        self.path = path
        features, targets = as_float32_rows("x", x), as_float32_rows("y", y)
        if targets.shape[1] != 1:
            raise ValueError(f"y must have shape (N,) or (N, 1), got {tuple(targets.shape)}")
        if features.shape[0] != targets.shape[0]:
            raise ValueError(f"x has {features.shape[0]} rows but y has {targets.shape[0]}")
        self._set_data(features, targets)
