"""Sums over rows that several processes hold a shard of each.

Under DDP a data module made with ``shard=True`` holds only its process's rows. Whatever is
computed from every training row (the scaling statistics, the exact optimum, the diagnosis, the
coefficient table) is then a sum over the processes' shards: :class:`RowShards` does the sums.

Each collective gathers every process's part and adds them in rank order, on every process: the
result is the same to the last bit everywhere (an all-reduce does not promise that), so that every
process takes the same decisions (Newton's steps, a warning) and no collective is left waiting.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["RowShards"]


class RowShards:
    """The processes of a trainer's strategy, as adders of per-shard sums.

    Args:
        strategy: the trainer's strategy (its ``all_gather``, ``world_size``, ``global_rank``).
        total_rows: the number of rows all shards hold together.

    Example (one process: the sums are the process's own):
        >>> from lightning.pytorch.strategies import SingleDeviceStrategy
        >>> shards = RowShards(SingleDeviceStrategy(torch.device("cpu")), total_rows=3)
        >>> shards.sum(torch.tensor([1.0, 2.0])).tolist(), shards.world_size
        ([1.0, 2.0], 1)
    """

    def __init__(self, strategy: Any, total_rows: int) -> None:
        self.strategy = strategy
        self.total_rows = int(total_rows)

    @property
    def world_size(self) -> int:
        return int(getattr(self.strategy, "world_size", 1))

    @property
    def rank(self) -> int:
        return int(getattr(self.strategy, "global_rank", 0))

    def gather(self, tensor: torch.Tensor) -> torch.Tensor:
        """Every process's ``tensor`` (same shape everywhere), stacked in rank order: ``(P, ...)``,
        on ``tensor``'s device, float64 kept (NCCL and Gloo carry it as it is)."""
        if self.world_size == 1:
            return tensor.unsqueeze(0)
        import torch.distributed as dist

        # The process group's own collective (the strategy's all_gather goes through autograd's).
        local = tensor.detach().contiguous().to(self.strategy.root_device)
        parts = [torch.empty_like(local) for _ in range(self.world_size)]
        dist.all_gather(parts, local)
        return torch.stack(parts).to(tensor.device)

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """The sum of every process's ``tensor``, added in rank order (identical on every process)."""
        if self.world_size == 1:
            return tensor
        parts = self.gather(tensor)
        total = parts[0].clone()
        for part in parts[1:]:
            total += part
        return total

    def max(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor if self.world_size == 1 else self.gather(tensor).amax(dim=0)

    def min(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor if self.world_size == 1 else self.gather(tensor).amin(dim=0)

    def sum_longdouble(self, values: np.ndarray) -> np.ndarray:
        """The sum of every process's ``numpy.longdouble`` vector, in extended precision: each
        part is sent as float64 pairs ``hi + lo`` (exact to 106 bits, more than a longdouble's 64)."""
        if self.world_size == 1:
            return values
        hi = values.astype(np.float64)
        lo = (values - hi.astype(np.longdouble)).astype(np.float64)
        parts = self.gather(torch.from_numpy(np.stack([hi, lo])))
        total = np.zeros(values.shape, dtype=np.longdouble)
        for part in parts.numpy():
            total += part[0].astype(np.longdouble) + part[1].astype(np.longdouble)
        return total

    def gather_objects(self, value: Any) -> list[Any]:
        """Every process's picklable ``value``, in rank order."""
        if self.world_size == 1:
            return [value]
        import torch.distributed as dist

        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, value)
        return out


def row_shards(datamodule: Any) -> RowShards | None:
    """``datamodule``'s :class:`RowShards` when it holds a shard of the rows, else ``None``."""
    return getattr(datamodule, "row_shards", None)


def input_extremes(x: torch.Tensor, shards: RowShards | None) -> torch.Tensor:
    """Two rows, each column's minimum and maximum over every shard's ``x`` ``(N, F)``: what a
    map learned from the inputs' range (:meth:`~lit_basics.models.PolynomialRegression.learn_input_map`)
    needs of them. ``x`` itself when it is all the rows."""
    if shards is None:
        return x
    empty = torch.full(x.shape[1:], torch.inf, dtype=x.dtype, device=x.device)  # a shard without rows
    low = shards.min(x.amin(dim=0) if x.shape[0] else empty)
    high = shards.max(x.amax(dim=0) if x.shape[0] else -empty)
    return torch.stack([low, high])
