"""Rows held in memory served as batches: the training, validation, test and predict loaders of a
data module that holds its rows (all, or with DDP its shard) once, on the training device."""

from __future__ import annotations

from typing import TYPE_CHECKING

import lightning.pytorch as pl
import torch
from typing_extensions import override

from lit_basics.data.loader import ResidentBatches, ShuffleOrder
from lit_basics.errors import ArgumentError

if TYPE_CHECKING:
    from lit_basics.data.shards import RowShards

__all__ = ["ResidentRows"]


class ResidentRows(pl.LightningDataModule):
    """The loaders over :attr:`x` and :attr:`y` (a subclass fills them and the split's indices):
    slices of the held tensors, never per-step copies; with DDP each process serves its share of
    rows it holds whole, or its shard as it is (:attr:`row_shards`)."""

    x: torch.Tensor
    y: torch.Tensor
    batch_size: int | None
    shuffle: bool
    seed: int
    passes_per_epoch: int
    row_shards: RowShards | None
    _train_index: torch.Tensor | None
    _val_index: torch.Tensor | None
    _predict_x: torch.Tensor | None
    _order: ShuffleOrder

    def move_to(self, device: torch.device) -> None:
        """Move the rows (and the split's indices, the new rows) to the training device once:
        batches are then views, never per-step copies."""
        self.x, self.y = self.x.to(device), self.y.to(device)
        if self._predict_x is not None:
            self._predict_x = self._predict_x.to(device)
        for name in ("_train_index", "_val_index"):
            index = getattr(self, name)
            if index is not None:
                setattr(self, name, index.to(device))

    def training_rows(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The training rows ``(x, y)`` this process holds, on the data's device: all of them, or
        with :attr:`row_shards` its shard (sums over all of them: :class:`~lit_basics.data.shards.RowShards`)."""
        return self._rows(self._train_index)

    def _rows(self, index: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        if index is None:
            return self.x, self.y
        start, count = int(index[0]) if index.numel() else 0, int(index.numel())
        if count and int(index[-1]) - start + 1 == count:  # sorted and unique: a block of rows, a view
            return self.x[start : start + count], self.y[start : start + count]
        return self.x.index_select(0, index), self.y.index_select(0, index)

    def _loader(self, split: tuple[torch.Tensor, torch.Tensor], *, train: bool, held: bool = False) -> ResidentBatches:
        rank, world_size = 0, 1
        progress = None
        trainer = self.trainer
        if trainer is not None:
            if not (held and self.row_shards is not None):  # a shard held is this process's already
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
        return self._loader(self._rows(self._train_index), train=True, held=True)

    @override
    def val_dataloader(self) -> ResidentBatches:
        return self._loader(self._rows(self._val_index), train=False, held=True)

    @override
    def test_dataloader(self) -> ResidentBatches:
        return self._loader(self._rows(self._val_index), train=False, held=True)

    @override
    def predict_dataloader(self) -> ResidentBatches:
        if self._predict_x is not None:  # new rows: no targets
            return self._loader((self._predict_x, self._predict_x.new_empty(len(self._predict_x), 0)), train=False)
        if self.row_shards is not None and self.row_shards.world_size > 1:
            raise ArgumentError(
                "shard",
                "each process holds a shard of the rows: predict over the data file needs them all in order; "
                "predict in one process, or give the rows as predict_path",
            )
        return self._loader((self.x, self.y), train=False, held=True)
