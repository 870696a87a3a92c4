"""The memory a table's tensors would take, against what this process can still allocate: refused
before anything is allocated, naming the size and the column that one-hot encodes into most inputs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from lit_basics.data.table import DataFileError

__all__ = ["available_memory", "check_room"]


def available_memory() -> int | None:
    """Bytes this process can still allocate: ``MemAvailable`` of ``/proc/meminfo``, less where a
    cgroup (a container's limit) leaves less; ``None`` where neither can be read (not Linux)."""
    room: list[int] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                room.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            room.append(int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text()))
    except (OSError, ValueError):
        pass
    return min(room) if room else None


def _bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # the loop returns at TiB


def check_room(path: Any, rows: int, columns: Sequence[tuple[str, tuple[Any, ...] | None]], dtype: torch.dtype) -> None:
    """Refuse, before allocating it, an encoded table larger than the memory left: a text column
    with a level on almost every row (a name, an id) one-hot encodes into as many inputs as rows,
    and ``rows x inputs`` floats would otherwise end in a MemoryError or the kernel's OOM killer.

    Args:
        path: the table's file, named in the error.
        rows: the rows to hold.
        columns: as :attr:`Encoding.columns`: each feature column's name and levels (``None``: numeric).
        dtype: of the features.

    Raises:
        DataFileError: naming the size, the memory available and the widest one-hot column.
    """
    inputs = sum(1 if levels is None else len(levels) - 1 for _, levels in columns)
    needed = rows * inputs * (8 if dtype == torch.float64 else 4)
    room = available_memory()
    if room is None or needed <= room:
        return
    widest = max(((len(levels), name) for name, levels in columns if levels is not None), default=None)
    hint = ""
    if widest is not None and widest[0] - 1 > inputs // 2:
        hint = (
            f": {widest[1]!r} alone is one-hot encoded into {widest[0] - 1:,} inputs; leave it out "
            "with --data.init_args.features"
        )
    raise DataFileError(
        f"{path}: the encoded features would take {_bytes(needed)} ({rows:,} rows x {inputs:,} inputs, "
        f"{str(dtype).removeprefix('torch.')}) and {_bytes(room)} of memory is available{hint}"
    )
