"""The data line: what the training loop will see, in one line."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from lit_basics.data.encoding import level_name

if TYPE_CHECKING:
    from lit_basics.data.base import InMemoryDataModule

__all__ = ["describe"]


def describe(data: InMemoryDataModule) -> str:
    """One line: the training rows and features, scaling, classes, rows dropped, aliased inputs,
    one-hot columns (flagging an identifier), batches and passes per Lightning epoch."""
    rows = data.num_training_rows
    batches = 1 if data.batch_size is None else math.ceil(rows / data.batch_size)
    batch = "full batch" if data.batch_size is None else f"batch_size={data.batch_size}"
    order = ", shuffled" if data.shuffle else ""
    classes = f", {data.num_classes} classes" if data.num_classes is not None else ""
    if data.classes is not None:
        shown = ", ".join(map(repr, data.classes[:10])) + (", ..." if len(data.classes) > 10 else "")
        positive = f"; LogisticRegression's positive class: {data.classes[1]!r}" if len(data.classes) == 2 else ""
        classes = f", {len(data.classes)} classes ({shown}{positive})"
    scaled = {"none": "", "max": " (divided by their maxima)", "standardize": " (standardized)"}[data.scale]
    categorical = [
        f"{name} ({len(levels)} levels, reference {level_name(levels[0])!r}"
        # Its one-hot inputs fit each training row by itself, and no new row's level is known.
        + ("; one per training row: an identifier? leave it out with features=" if len(levels) == rows > 2 else "")
        + ")"
        for name, levels in data.encoding.columns
        if levels is not None
    ]
    onehot = f"; one-hot: {', '.join(categorical)}" if categorical else ""
    dropped = ""
    if data.dropped_rows:
        total = data.dropped_rows + data.num_samples
        dropped = f", dropped {data.dropped_rows} of {total} rows with a missing value"
    aliased = data.aliasing.aliased
    if aliased:
        dropped += f", {len(aliased)} aliased input(s) left out"
    return (
        f"{type(data).__name__}: {rows} training rows x {data.num_features} features{scaled}{classes}"
        f"{dropped}{onehot}; {batch}{order}, "
        f"one Lightning epoch = {data.passes_per_epoch} pass(es) = {data.passes_per_epoch * batches} batch(es)"
    )
