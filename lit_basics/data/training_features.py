"""The training rows' features as the diagnosis wants them: before scaling, and standardized
(whatever the data module's own ``scale``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from lit_basics.data.scaling import ColumnMoments, FeatureScaling

if TYPE_CHECKING:
    from lit_basics.data.base import InMemoryDataModule

__all__ = ["raw_training_features", "standardized_training_features"]


def raw_training_features(data: InMemoryDataModule) -> torch.Tensor:
    """The training rows' features before scaling, on the host: as given for arrays; for a
    table, the scaling undone in float64 (exact to the float32 rounding of the features)."""
    index = None if data._train_index is None else data._train_index.cpu()
    if data._raw_x is not None:
        return data.aliasing.drop(data._raw_x if index is None else data._raw_x.index_select(0, index))
    x = data.x.cpu() if index is None else data.x.cpu().index_select(0, index)
    kept = torch.tensor(data.encoding.kept)
    return x.to(torch.float64) * data.scaling.divisor[kept] + data.scaling.offset[kept]


def standardized_training_features(data: InMemoryDataModule) -> torch.Tensor:
    """The training rows' features as ``scale="standardize"`` would give them (numeric inputs
    standardized, one-hot inputs left 0/1), in the data's dtype, on the host."""
    raw = raw_training_features(data)
    numeric = data.encoding.model_numeric_inputs
    if data.row_shards is not None:  # the moments of every shard's rows
        moments = ColumnMoments.empty(sum(numeric))
        moments.update(raw[:, torch.tensor(numeric)].to(torch.float64).numpy())
        scaling = FeatureScaling.from_moments("standardize", moments.across(data.row_shards), numeric)
        return scaling.apply(raw, data.x.dtype)
    columns = (raw[:, j].to(torch.float64).numpy() if numeric[j] else None for j in range(raw.shape[1]))
    return FeatureScaling.fit_columns("standardize", columns).apply(raw, data.x.dtype)
