"""The notes' update as a ``torch.optim`` optimizer: ``p -= lr * p.grad``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from typing_extensions import override

__all__ = ["NotesSGD"]


class NotesSGD(torch.optim.Optimizer):
    """Plain gradient descent, written as the notes write it: ``w.data = w.data - lr * w.grad.data``.

    The manual twin steps through this optimizer (``self.optimizers().step()``), as d2l's
    ``SGD.step`` does, so that Lightning counts every update (``global_step``, ``max_steps``,
    checkpoints). ``lr * p.grad`` is rounded, then the difference: the notes' two roundings, so the
    manual twin reproduces the notes' hand-written loops bit for bit.

    Args:
        params: the parameters (``w``, ``b``).
        lr: the learning rate.

    Example:
        >>> w = torch.nn.Parameter(torch.tensor([1.0]))
        >>> w.grad = torch.tensor([0.5])
        >>> NotesSGD([w], lr=0.1).step()
        >>> w.data
        tensor([0.9500])
    """

    def __init__(self, params: Iterable[torch.Tensor] | Iterable[dict[str, Any]], lr: float) -> None:
        super().__init__(params, {"lr": lr})

    @override
    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        # The closure contract of torch.optim: Lightning passes one that runs its
        # on_before_optimizer_step hooks.
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p -= group["lr"] * p.grad
        return loss
