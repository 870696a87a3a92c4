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

    With ``momentum`` β > 0 it keeps a velocity per parameter, as ``torch.optim.SGD`` does:
    ``v = β·v + g`` (``v = g`` at the first update), then ``p -= lr·v``, or with ``nesterov``
    ``p -= lr·(g + β·v)``. The velocity is optimizer state: checkpoints save and restore it.

    Args:
        params: the parameters (``w``, ``b``).
        lr: the learning rate.
        momentum: β in [0, 1); 0 is the notes' update, unchanged.
        nesterov: Nesterov's look-ahead (``momentum > 0``).

    Example:
        >>> w = torch.nn.Parameter(torch.tensor([1.0]))
        >>> w.grad = torch.tensor([0.5])
        >>> NotesSGD([w], lr=0.1).step()
        >>> w.data
        tensor([0.9500])
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "nesterov": nesterov})

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
            lr, beta = group["lr"], group.get("momentum", 0.0)
            for p in group["params"]:
                if p.grad is None:
                    continue
                if not beta:
                    p -= lr * p.grad  # w.data = w.data - lr * w.grad.data
                    continue
                state = self.state[p]
                if "velocity" not in state:
                    state["velocity"] = p.grad.clone()  # v = g at the first update
                else:
                    state["velocity"].mul_(beta).add_(p.grad)  # v = β·v + g
                velocity = state["velocity"]
                # p -= lr·v (or lr·(g + β·v)), each rounded as torch.optim.SGD rounds it: the
                # automatic twin's momentum, bit for bit.
                step = p.grad.add(velocity, alpha=beta) if group.get("nesterov") else velocity
                p.add_(step, alpha=-lr)
        return loss
