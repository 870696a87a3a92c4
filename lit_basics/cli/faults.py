"""Faults during a run that are the user's to fix: a disk that fills up."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.callbacks import ModelCheckpoint

__all__ = ["DISK_FULL", "disk_full_report"]

#: ``errno`` values of a write that found no room: no space, over quota, over the file-size limit.
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def disk_full_report(exc: OSError, trainer: Any) -> str:
    """One line: where the write failed, how far the run got, and what it left readable.

    A checkpoint the failed write left incomplete is removed (Lightning writes a checkpoint to a
    temporary file and then moves it: across file systems a move is a copy, which can stop half
    way), so every checkpoint left behind loads.
    """
    where = exc.filename or exc.filename2
    reason = exc.strerror or str(exc)
    updates = int(getattr(trainer, "global_step", 0) or 0)
    removed: list[str] = []
    complete: list[tuple[int, Path]] = []
    for callback in getattr(trainer, "callbacks", []):
        if isinstance(callback, ModelCheckpoint) and callback.dirpath and Path(callback.dirpath).is_dir():
            for path in Path(callback.dirpath).glob("*.ckpt"):
                if path.is_symlink():
                    continue
                try:
                    step = int(torch.load(path, map_location="cpu", weights_only=True).get("global_step", -1))
                except Exception:  # a truncated file: any error of the unpickler
                    path.unlink(missing_ok=True)
                    removed.append(str(path))
                    continue
                complete.append((step, path))
    if removed:  # the write that failed was that checkpoint's (the error may name a temporary file)
        where = removed[0]
    log_dir = getattr(trainer, "log_dir", None)
    parts = [f"the run stopped after {updates} update(s)"]
    if log_dir:
        parts.append(f"its logs up to then are in {log_dir}")
    if complete:
        step, path = max(complete)
        parts.append(f"the last complete checkpoint is {path} (update {step})")
    else:
        parts.append("no checkpoint was saved")
    if removed:
        parts.append(f"removed the incomplete {', '.join(removed)}")
    return f"{where or 'writing'}: {reason}: " + "; ".join(parts) + ": free some space and resume with --ckpt_path last"
