"""What a data module is given, checked: arrays as ``(N, F)`` tensors, a path, the dtype a
Trainer's precision asks for."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch

from lit_basics.errors import ArgumentError

__all__ = ["as_rows", "check_path", "first_non_finite_row", "precision_dtype"]


def as_rows(name: str, values: Any) -> torch.Tensor:
    """An array-like as a tensor of shape ``(N, F)`` (float32 or float64 as given; integers become
    float64), refusing NaN/inf. The data module rounds it to float32 once, after any scaling.

    A 1-D input of length N becomes ``(N, 1)``.

    Raises:
        ArgumentError: naming ``name``, when the values are not numbers, not 1-D/2-D, empty or non-finite.
    """
    # No float64 detour: a float32 array or tensor is used as it is (held once, not copied).
    if torch.is_tensor(values):
        tensor = values.detach()
    else:
        array = np.asarray(values)
        if array.dtype.kind not in "biuf":
            try:
                array = array.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise ArgumentError(name, f"must be an array of numbers: {exc}") from None
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.ndim == 1:
        tensor = tensor.unsqueeze(1)
    if tensor.ndim != 2:
        raise ArgumentError(name, f"must have shape (N,) or (N, F), got {tuple(tensor.shape)}")
    if tensor.shape[0] == 0 or tensor.shape[1] == 0:
        raise ArgumentError(name, f"is empty, shape {tuple(tensor.shape)}")
    if not tensor.is_floating_point():
        tensor = tensor.double()
    elif tensor.dtype not in (torch.float32, torch.float64):
        tensor = tensor.to(torch.float32)
    row = first_non_finite_row(tensor)
    if row is not None:
        raise ArgumentError(name, f"has a non-finite value (NaN or inf) in row {row}")
    return tensor


def first_non_finite_row(tensor: torch.Tensor) -> int | None:
    """The first row of ``tensor`` ``(N, F)`` holding NaN or inf, or ``None``."""
    # Checked in chunks of rows: a mask of the whole array would cost a quarter of float32 data.
    chunk = 1 << 20
    for start in range(0, tensor.shape[0], chunk):
        finite = torch.isfinite(tensor[start : start + chunk])
        if not bool(finite.all()):
            return start + int((~finite).any(dim=1).nonzero()[0, 0])
    return None


def precision_dtype(trainer: pl.Trainer) -> torch.dtype:
    """The dtype the data follow under ``trainer``'s precision: float64 for ``"64-true"``, float32
    for every other (mixed precisions cast inside autocast; ``"16-true"``/``"bf16-true"`` cast each
    batch as Lightning's precision plugin does)."""
    return torch.float64 if str(trainer.precision) in ("64-true", "64") else torch.float32


def check_path(name: str, value: Any) -> str | None:
    """``value`` as a path string, or ``None``; an empty string names no file.

    Example:
        >>> check_path("path", "")
        Traceback (most recent call last):
        ...
        lit_basics.errors.ArgumentError: path is empty: give a file, or leave it out (null)
    """
    if value is None:
        return None
    if not str(value).strip():
        raise ArgumentError(name, "is empty: give a file, or leave it out (null)")
    return str(value)
