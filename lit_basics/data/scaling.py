"""Feature scaling learned from the training rows: ``(x - offset) / divisor`` per column.

- ``"none"``: the features as they are;
- ``"max"``: each feature divided by its maximum over the training rows (the notes' logistic
  regression divides ``data.txt``'s scores by their column maxima);
- ``"standardize"``: mean 0 and standard deviation 1 over the training rows (``ddof = 0``, as
  scikit-learn's ``StandardScaler``; a constant column is only centred, as there).

The statistics are float64 and the scaled features are computed in float64 and rounded once,
so the notes' ``data / max`` then ``float32`` is reproduced bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from lit_basics.errors import ArgumentError

__all__ = ["SCALES", "FeatureScaling", "Scale"]

Scale = Literal["none", "max", "standardize"]
SCALES: tuple[str, ...] = ("none", "max", "standardize")


@dataclass(frozen=True)
class FeatureScaling:
    """A per-column affine map ``(x - offset) / divisor`` (float64 statistics of shape ``(F,)``).

    Example:
        >>> x = torch.tensor([[1.0, 10.0], [3.0, 30.0]], dtype=torch.float64)
        >>> s = FeatureScaling.fit("standardize", x)
        >>> s.offset.tolist(), s.divisor.tolist(), s.apply(x).tolist()
        ([2.0, 20.0], [1.0, 10.0], [[-1.0, -1.0], [1.0, 1.0]])
        >>> FeatureScaling.fit("max", x).apply(x).tolist()
        [[0.3333333432674408, 0.3333333432674408], [1.0, 1.0]]
    """

    kind: str
    offset: torch.Tensor
    divisor: torch.Tensor

    @classmethod
    def fit(cls, kind: str, x: torch.Tensor, names: list[str] | None = None) -> FeatureScaling:
        """The statistics of ``kind`` over the training rows ``x`` ``(N, F)``.

        Raises:
            ArgumentError: naming ``scale``: ``"max"`` with a feature whose maximum is not positive.
        """
        x = x.detach().to("cpu")
        return cls.fit_columns(kind, (x[:, j].to(torch.float64).numpy() for j in range(x.shape[1])), names)

    @classmethod
    def fit_columns(
        cls, kind: str, columns: Iterable[np.ndarray | None], names: list[str] | None = None
    ) -> FeatureScaling:
        """The statistics of ``kind`` column by column (each a float64 array of the training rows'
        values; ``None``: a column left as it is, such as a one-hot column), so that a table's
        statistics never need a float64 copy of all its columns at once.

        Raises:
            ArgumentError: naming ``scale``: ``"max"`` with a feature whose maximum is not positive.
        """
        if kind not in SCALES:
            raise ArgumentError("scale", f"must be one of {', '.join(map(repr, SCALES))}; got {kind!r}")
        offsets, divisors = [], []
        for column, values in enumerate(columns):
            offset, divisor = 0.0, 1.0
            if values is not None and kind == "max":
                divisor = float(values.max())
                if not divisor > 0:
                    name = f" ({names[column]!r})" if names else ""
                    raise ArgumentError(
                        "scale",
                        f"'max' divides each feature by its maximum over the training rows, and feature {column + 1}"
                        f"{name} has maximum {divisor:g}: use 'standardize'",
                    )
            elif values is not None and kind == "standardize":
                offset = float(values.mean())
                std = float(np.sqrt(np.mean((values - offset) ** 2)))  # ddof = 0, as StandardScaler
                # A constant column is only centred (StandardScaler's scale_ is 1 there).
                divisor = std if std > 10 * np.finfo(np.float64).eps * abs(offset) else 1.0
            offsets.append(offset)
            divisors.append(divisor)
        return cls(kind, torch.tensor(offsets, dtype=torch.float64), torch.tensor(divisors, dtype=torch.float64))

    def apply_column(self, column: int, values: np.ndarray) -> np.ndarray:
        """Column ``column``'s float64 values scaled (float64; rounding is the caller's)."""
        if self.identity:
            return values
        divisor = float(self.divisor[column])
        if self.kind == "max":  # the notes divide, nothing else: keep their one rounding
            return values / divisor
        return (values - float(self.offset[column])) / divisor

    @property
    def identity(self) -> bool:
        return self.kind == "none"

    def apply(self, x: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """``(x - offset) / divisor`` in float64, rounded once to ``dtype``; ``x`` itself (no copy)
        when there is nothing to do."""
        if self.identity:
            return x if x.dtype == dtype else x.to(dtype)
        offset, divisor = self.offset.to(x.device), self.divisor.to(x.device)
        scaled = x.to(torch.float64)
        if self.kind != "max":  # the notes divide, nothing else: keep their one rounding
            scaled = scaled - offset
        return (scaled / divisor).to(dtype)

    def state_dict(self) -> dict[str, Any]:
        """Plain values (a checkpoint holds nothing else)."""
        return {"kind": self.kind, "offset": self.offset.tolist(), "divisor": self.divisor.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> FeatureScaling:
        return cls(
            str(state["kind"]),
            torch.tensor(state["offset"], dtype=torch.float64),
            torch.tensor(state["divisor"], dtype=torch.float64),
        )
