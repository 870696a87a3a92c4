"""Per-update training metrics, kept on the device and written to the logger in bulk.

``self.log`` in every ``training_step`` costs ~450 µs here, more than the notes' whole update, and
``TensorBoardLogger.log_metrics`` costs ~40 µs per tag per update. :class:`UpdateTrace` keeps each
update's values as the 0-d tensors the step produced (no copy, no host sync), and turns them into
numbers with one stack per metric, one collective under DDP, and one host transfer;
:func:`write_rows` then writes one TensorBoard event per update holding all its tags.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import torch

__all__ = ["Reduction", "UpdateTrace", "append_events", "masked_crc32c", "tensorboard_file_writer", "write_rows"]

#: How a recorded value combines over samples: ``"mean"`` is a batch mean (a loss), ``"count"`` a
#: batch total (a count of correct predictions). Either way the logged value is the mean over all
#: samples of the update, across every process.
Reduction = Literal["mean", "count"]

Rows = list[tuple[int, dict[str, float]]]


class UpdateTrace:
    """Every update's metric values, until drained.

    Args:
        names: the metric tags, e.g. ``["train/loss", "train/acc"]``.
        reductions: per metric, ``"mean"`` or ``"count"`` (see :data:`Reduction`).
        capacity: updates held before :attr:`full` says it is time to drain.

    Example:
        >>> trace = UpdateTrace(["loss", "acc"], ["mean", "count"], capacity=4)
        >>> trace.record(0, [torch.tensor(2.0), torch.tensor(7)], weight=10)
        >>> trace.record(1, [torch.tensor(1.0), torch.tensor(9)], weight=10)
        >>> trace.drain()
        [(0, {'loss': 2.0, 'acc': 0.7}), (1, {'loss': 1.0, 'acc': 0.9})]
    """

    def __init__(self, names: Sequence[str], reductions: Sequence[Reduction], capacity: int) -> None:
        if len(names) != len(reductions):
            raise ValueError(f"names and reductions differ in length: {len(names)} and {len(reductions)}")
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.names = list(names)
        self.reductions = list(reductions)
        self.capacity = capacity
        self._columns: list[list[torch.Tensor]] = [[] for _ in self.names]
        self._weights: list[int] = []
        self._steps: list[int] = []

    def __len__(self) -> int:
        return len(self._steps)

    @property
    def full(self) -> bool:
        return len(self._steps) >= self.capacity

    def record(self, step: int, values: Sequence[torch.Tensor], weight: int) -> None:
        """Keep one update's values (0-d tensors, on their device) for the samples ``weight``."""
        for column, value in zip(self._columns, values, strict=True):
            column.append(value.detach())
        self._weights.append(weight)
        self._steps.append(step)

    def drain(self, all_reduce_sum: Callable[[torch.Tensor], torch.Tensor] | None = None) -> Rows:
        """Return ``[(step, {name: value}), ...]`` for every kept update and empty the trace.

        Args:
            all_reduce_sum: sums a tensor over processes (DDP); every process must drain at the
                same update. ``None`` in a single process.
        """
        if not self._steps:
            return []
        weights = torch.tensor(self._weights, dtype=torch.float64, device=self._columns[0][0].device)
        # Per-sample totals, (updates, metrics + 1): the last column is the sample count.
        totals = torch.stack(
            [
                torch.stack(column).to(torch.float64) * (weights if reduction == "mean" else 1.0)
                for column, reduction in zip(self._columns, self.reductions, strict=True)
            ]
            + [weights],
            dim=1,
        )
        if all_reduce_sum is not None:
            totals = all_reduce_sum(totals)  # one collective for all metrics of all updates
        means = (totals[:, :-1] / totals[:, -1:]).tolist()  # the one host sync per drain
        rows = [(step, dict(zip(self.names, row, strict=True))) for step, row in zip(self._steps, means, strict=True)]
        for column in self._columns:
            column.clear()
        self._weights.clear()
        self._steps.clear()
        return rows


def write_rows(logger: Any, rows: Rows) -> None:
    """Write ``rows`` to a Lightning logger, one update per event (step per row).

    For a ``TensorBoardLogger`` on a local disk the rows become one TensorBoard event each,
    appended to the writer's event file in one write (:func:`append_events`); elsewhere each
    update is one ``add_summary`` holding all its tags (a third of the cost of ``log_metrics``,
    which writes one event per tag); other loggers get ``log_metrics``.
    """
    file_writer = tensorboard_file_writer(logger)
    if file_writer is None:
        for step, metrics in rows:
            logger.log_metrics(metrics, step=step)
        return
    if append_events(file_writer, rows):
        return
    from tensorboard.compat.proto.summary_pb2 import Summary

    for step, metrics in rows:
        summary = Summary(value=[Summary.Value(tag=tag, simple_value=value) for tag, value in metrics.items()])
        file_writer.add_summary(summary, step)


def append_events(file_writer: Any, rows: Rows) -> bool:
    """Append ``rows`` to the event file of ``file_writer`` (torch's ``FileWriter``) in one write.

    TensorBoard's writer hands every event to a thread through a queue of ten, which opens the
    file, appends one record (its checksums computed byte by byte in Python) and closes it again:
    measured here ~94 µs per event, the largest part of logging every update. The writer's queue
    is drained first (its records are on disk, in order), then the records are framed as its
    ``RecordWriter`` frames them (length, masked CRC-32C of the length, the event, masked CRC-32C
    of the event) and written with one ``write`` — the same bytes in the same file, a reader sees
    no difference. Only for a local file (``False``: nothing written, use the writer).
    """
    # A private attribute, kept on purpose (reviewed: no public route costs the same). The writer's
    # own add_summary is the public route, at ~94 µs per event; an event file of our own beside it
    # (the TFRecord format is public) would need no private name, but TensorBoard polls only the
    # newest event file of a run directory, so the hparams, figures and coefficients the writer's
    # file gets afterwards would not show while the run is live. Missing or remote: the writer.
    path = getattr(getattr(file_writer, "event_writer", None), "_file_name", None)
    if not isinstance(path, str) or "://" in path or not os.path.isfile(path):
        return False
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary

    file_writer.flush()  # the writer thread's queue is empty and its records are on disk
    wall_time = time.time()
    chunks: list[bytes] = []
    for step, metrics in rows:
        summary = Summary(value=[Summary.Value(tag=tag, simple_value=value) for tag, value in metrics.items()])
        data = Event(wall_time=wall_time, step=int(step), summary=summary).SerializeToString()
        header = struct.pack("<Q", len(data))
        chunks += [header, struct.pack("<I", masked_crc32c(header)), data, struct.pack("<I", masked_crc32c(data))]
    with open(path, "ab") as f:
        f.write(b"".join(chunks))
    return True


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC-32C of ``data``: google-crc32c's C code where it is installed (a
    dependency), else TensorBoard's own (pure Python).

    Example:
        >>> masked_crc32c(b"lit_basics") == _tensorboard_masked_crc32c(b"lit_basics")
        True
    """
    if _crc32c is None:
        return _tensorboard_masked_crc32c(data)
    crc = _crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


try:
    from google_crc32c import value as _crc32c
except ImportError:  # pragma: no cover - a dependency; TensorBoard's is the fallback
    _crc32c = None

from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as _tensorboard_masked_crc32c  # noqa: E402


def tensorboard_file_writer(logger: Any) -> Any:
    """The open TensorBoard event writer behind a ``TensorBoardLogger`` (None for other loggers)."""
    from lightning.pytorch.loggers import TensorBoardLogger

    if not isinstance(logger, TensorBoardLogger):
        return None
    # torch's SummaryWriter keeps its FileWriter public (None once the writer is closed).
    return getattr(logger.experiment, "file_writer", None)
