"""``StepCounter``, kept for code written against lit_basics 0.1; the models no longer use it."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch
from typing_extensions import override

__all__ = ["StepCounter"]


class StepCounter(torch.optim.Optimizer):
    """Deprecated: an optimizer whose ``step`` changes nothing (it only calls the closure).

    lit_basics 0.1's manual twin updated the parameters by hand and stepped this optimizer so that
    Lightning counted the update. The manual twin now steps :class:`~lit_basics.models.NotesSGD`,
    which does the update itself; use that.
    """

    def __init__(self, params: Any, lr: float) -> None:
        warnings.warn(
            "StepCounter is deprecated: step lit_basics.models.NotesSGD, which does the update (p -= lr * p.grad)",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__(params, {"lr": lr})

    @override
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        return closure() if closure is not None else None
