"""The shared base of every lit_basics DataModule: a data set held in memory, served without copies."""

from __future__ import annotations

import math
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from typing_extensions import override

from lit_basics.data.loader import ResidentBatches, ShuffleOrder
from lit_basics.errors import ArgumentError
from lit_basics.validation import check_positive_int

__all__ = ["InMemoryDataModule", "as_float32_rows"]


def as_float32_rows(name: str, values: Any) -> torch.Tensor:
    """Convert an array-like to a float32 tensor of shape ``(N, F)``, refusing NaN/inf.

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
    # Checked in chunks of rows: a mask of the whole array would cost a quarter of float32 data.
    chunk = 1 << 20
    for start in range(0, tensor.shape[0], chunk):
        finite = torch.isfinite(tensor[start : start + chunk])
        if not bool(finite.all()):
            row = start + int((~finite).any(dim=1).nonzero()[0, 0])
            raise ArgumentError(name, f"has a non-finite value (NaN or inf) in row {row}")
    return tensor.to(torch.float32).contiguous()


class InMemoryDataModule(pl.LightningDataModule):
    """Full-batch gradient descent data, held once, sliced in place.

    Subclasses load their data in ``__init__`` (eagerly, so errors surface before a run starts and
    ``num_features`` is known when the CLI links it to the model) and call :meth:`_set_data`.

    Splits: with ``val_fraction > 0`` a seeded random ``round(N * val_fraction)`` rows (at least one)
    are held out for validation and test; otherwise validation is off and ``test`` evaluates on the
    whole data set (as the notes report accuracy on the data they train on). ``predict`` always
    runs over every row in file order.

    Args:
        batch_size: samples per update; ``None`` (default) is the full batch, as in the notes.
        shuffle: reshuffle the training rows every pass (seeded); default file order.
        val_fraction: share of rows held out, in ``[0, 1)``.
        seed: seed of the split and of the shuffle order (never the global RNG).
        passes_per_epoch: passes over the training data per Lightning epoch. Full-batch runs do one
            update per pass; serving many passes per epoch saves Lightning's per-epoch overhead.
            Epoch numbers in logs count Lightning epochs: one Lightning epoch = this many passes.
    """

    def __init__(
        self,
        *,
        batch_size: int | None = None,
        shuffle: bool = False,
        val_fraction: float = 0.0,
        seed: int = 2017,
        passes_per_epoch: int = 1,
    ) -> None:
        super().__init__()
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
        ):
            raise ArgumentError("batch_size", f"must be a positive integer or null (full batch), got {batch_size!r}")
        if not (
            not isinstance(val_fraction, bool) and isinstance(val_fraction, (int, float)) and 0.0 <= val_fraction < 1.0
        ):
            raise ArgumentError("val_fraction", f"must be in [0, 1), got {val_fraction!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ArgumentError("seed", f"must be an integer, got {seed!r}")
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.val_fraction = float(val_fraction)
        self.seed = seed
        self.passes_per_epoch = check_positive_int("passes_per_epoch", passes_per_epoch)
        self.x = self.y = torch.empty(0, 1)
        # Pass p is always shuffled the same way (see ShuffleOrder).
        self._order = ShuffleOrder(seed)
        self._train_index: torch.Tensor | None = None
        self._val_index: torch.Tensor | None = None

    def _set_data(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Install the data set: ``x`` of shape ``(N, F)`` (float32, or float64 where the model wants
        more precision before its own cast) and ``y`` of shape ``(N, 1)``: float targets, or int64
        class labels ``0..C-1`` for a classifier (then :attr:`num_classes` is ``C``)."""
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"x and y must have the same number of rows, got {x.shape[0]} and {y.shape[0]}")
        if y.ndim != 2 or y.shape[1] != 1:
            raise ValueError(f"y must have one column, got shape {tuple(y.shape)}")
        if not x.is_floating_point() or not (y.is_floating_point() or y.dtype == torch.int64):
            raise ValueError(f"x must be floating point and y floating point or int64, got {x.dtype} and {y.dtype}")
        self.x, self.y = x, y
        n = x.shape[0]
        if self.val_fraction > 0:
            n_val = max(1, round(n * self.val_fraction))
            if n_val >= n:
                raise ArgumentError(
                    "val_fraction", f"must leave training rows, got {self.val_fraction}: all {n} rows would be held out"
                )
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed))
            # Sorted, so both splits keep file order.
            self._val_index = order[:n_val].sort().values
            self._train_index = order[n_val:].sort().values
        else:
            # No validation split: shadow val_dataloader with the base hook so that Lightning sees
            # it as not overridden and skips validation (an empty loader would warn every run).
            self.val_dataloader = super().val_dataloader  # type: ignore[method-assign]

    @property
    def num_classes(self) -> int | None:
        """``C`` when the targets are class labels ``0..C-1`` (the CLI passes it to a classifier's
        ``num_classes``); ``None`` for real-valued targets."""
        return None

    @property
    def num_features(self) -> int:
        """Number of input features ``F``; the CLI passes it to the model's ``in_features``."""
        return int(self.x.shape[1])

    @property
    def num_samples(self) -> int:
        return int(self.x.shape[0])

    @override
    def setup(self, stage: str) -> None:
        # Move the data to the training device once; batches are then views, never per-step copies.
        if self.trainer is not None:
            device = self.trainer.strategy.root_device
            self.x, self.y = self.x.to(device), self.y.to(device)
            for name in ("_train_index", "_val_index"):
                index = getattr(self, name)
                if index is not None:
                    setattr(self, name, index.to(device))

    def training_rows(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All training rows ``(x, y)`` (every rank's shard together), on the data's device."""
        return self._rows(self._train_index)

    def _rows(self, index: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        if index is None:
            return self.x, self.y
        return self.x.index_select(0, index), self.y.index_select(0, index)

    def _loader(self, split: tuple[torch.Tensor, torch.Tensor], *, train: bool) -> ResidentBatches:
        rank, world_size = 0, 1
        progress = None
        trainer = self.trainer
        if trainer is not None:
            rank, world_size = trainer.global_rank, trainer.world_size

            def progress() -> int:
                return int(trainer.global_step)

        return ResidentBatches(
            *split,
            batch_size=self.batch_size,
            shuffle=self.shuffle and train,
            seed=self.seed,
            passes=self.passes_per_epoch if train else 1,
            rank=rank,
            world_size=world_size,
            order=self._order,
            progress=progress if train else None,
        )

    @override
    def train_dataloader(self) -> ResidentBatches:
        return self._loader(self._rows(self._train_index), train=True)

    @override
    def val_dataloader(self) -> ResidentBatches:
        return self._loader(self._rows(self._val_index), train=False)

    @override
    def test_dataloader(self) -> ResidentBatches:
        return self._loader(self._rows(self._val_index), train=False)

    @override
    def predict_dataloader(self) -> ResidentBatches:
        return self._loader((self.x, self.y), train=False)

    @property
    def num_training_rows(self) -> int:
        return self.num_samples if self._train_index is None else int(self._train_index.numel())

    @property
    def full_batch(self) -> bool:
        """Every training batch is all training rows in a fixed order (see :class:`~lit_basics.data.FullBatch`)."""
        return not self.shuffle and (self.batch_size is None or self.batch_size >= self.num_training_rows)

    def describe(self) -> str:
        """One line saying what the training loop will see."""
        rows = self.num_training_rows
        batches = 1 if self.batch_size is None else math.ceil(rows / self.batch_size)
        batch = "full batch" if self.batch_size is None else f"batch_size={self.batch_size}"
        order = ", shuffled" if self.shuffle else ""
        classes = f", {self.num_classes} classes" if self.num_classes is not None else ""
        return (
            f"{type(self).__name__}: {rows} training rows x {self.num_features} features{classes}, {batch}{order}, "
            f"one Lightning epoch = {self.passes_per_epoch} pass(es) = {self.passes_per_epoch * batches} batch(es)"
        )
