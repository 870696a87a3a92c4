"""The notes' tensor and autograd walkthrough (Tensor & Variable, 自动求导), in today's PyTorch.

One function per section of the notes; each returns the values the notes print or describe, so
the claims can be checked (``tests/test_tour.py``) and shown (``lit-basics tour``). What today's
torch changed: ``Variable`` is gone (tensors with ``requires_grad``), ``F.sigmoid`` is
``torch.sigmoid``, ``loss.data[0]`` is ``loss.item()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import torch

__all__ = [
    "Section",
    "autograd_complex",
    "autograd_exercise",
    "autograd_retain_graph",
    "autograd_simple",
    "jacobian_by_backward",
    "run_tour",
    "sections",
    "tensor_attributes",
    "tensor_numpy_bridge",
    "tensor_operations",
    "tensor_to_gpu",
    "tensors_with_grad",
]


@dataclass
class Section:
    """One section of the notes: its title, what it shows, and the values it produced."""

    title: str
    claim: str
    values: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None


def tensor_numpy_bridge() -> Section:
    """1. ndarray <-> tensor: ``torch.from_numpy`` shares memory, ``torch.Tensor(ndarray)`` copies.

    Example:
        >>> v = tensor_numpy_bridge().values
        >>> v["from_numpy_shares_memory"], v["Tensor_shares_memory"], v["Tensor_dtype"]
        (True, False, torch.float32)
    """
    numpy_tensor = np.random.default_rng(0).standard_normal((10, 20))
    copied = torch.Tensor(numpy_tensor)  # a float32 copy
    shared = torch.from_numpy(numpy_tensor)  # a float64 view of the same memory
    numpy_tensor[0, 0] = 123.0
    back = copied.numpy()
    return Section(
        "Tensor and numpy",
        "torch.from_numpy shares memory with the array; torch.Tensor(ndarray) copies it and casts to float32",
        {
            "from_numpy_shares_memory": bool(shared[0, 0].item() == 123.0),
            "from_numpy_dtype": shared.dtype,
            "Tensor_shares_memory": bool(copied[0, 0].item() == 123.0),
            "Tensor_dtype": copied.dtype,
            "numpy_round_trip_dtype": back.dtype,
        },
    )


def _as_type(tensor: torch.Tensor, tensor_type: Any) -> torch.Tensor:
    """The notes' ``tensor.type(torch.XxxTensor)`` (valid torch, missing from its type stubs)."""
    converted: torch.Tensor = cast(Any, tensor).type(tensor_type)
    return converted


def tensor_to_gpu() -> Section:
    """2. To the GPU: ``.type(torch.cuda.FloatTensor)`` converts the dtype, ``.cuda()`` keeps it.

    Without a GPU the section is skipped, and the dtype half is shown on the CPU with
    ``.type(torch.DoubleTensor)``.
    """
    x = torch.randn(10, 20)
    values: dict[str, Any] = {
        "cpu_type_DoubleTensor_dtype": _as_type(x, torch.DoubleTensor).dtype,
        "cpu_type_string": _as_type(x, torch.DoubleTensor).type(),
    }
    if not torch.cuda.is_available():
        return Section(
            "Tensor to the GPU",
            ".type(torch.cuda.FloatTensor) converts the dtype; .cuda() keeps it",
            values,
            skipped="no CUDA device here: GPU half skipped (the dtype half ran on the CPU)",
        )
    double = torch.randn(10, 20, dtype=torch.float64)
    by_type = _as_type(double, torch.cuda.FloatTensor)  # type: ignore[attr-defined]
    by_cuda = double.cuda(0)
    values.update(
        {
            "type_cuda_FloatTensor_dtype": by_type.dtype,
            "type_cuda_FloatTensor_device": str(by_type.device),
            "cuda_keeps_dtype": by_cuda.dtype,
            "cuda_device": str(by_cuda.device),
            "back_on_cpu": str(by_cuda.cpu().device),
        }
    )
    return Section("Tensor to the GPU", ".type(torch.cuda.FloatTensor) converts the dtype; .cuda() keeps it", values)


def tensor_attributes() -> Section:
    """3. Attributes: shape, size(), type(), dim(), numel().

    Example:
        >>> tensor_attributes().values["numel"]
        200
    """
    x = torch.Tensor(np.zeros((10, 20)))
    return Section(
        "Tensor attributes",
        "shape and size() agree; type() names the tensor type; numel() counts elements",
        {
            "shape": tuple(x.shape),
            "size": tuple(x.size()),
            "type": x.type(),
            "type_after_DoubleTensor": _as_type(x, torch.DoubleTensor).type(),
            "dim": x.dim(),
            "numel": x.numel(),
        },
    )


def tensor_operations() -> Section:
    """4. Operations: dtype casts, max/sum along rows, the shape operations, in-place ``_`` ops.

    The notes apply ``permute(1, 0, 2)`` right after ``squeeze()``, to a 2-D tensor, which raises;
    here the 3-D tensor from ``unsqueeze(0)`` is permuted and transposed.

    Example:
        >>> v = tensor_operations().values
        >>> v["unsqueeze(0)"], v["permute(1, 0, 2)"], v["transpose(0, 2)"], v["view(-1, 5)"]
        ((1, 4, 3), (4, 1, 3), (3, 1, 4), (12, 5))
    """
    ones = torch.ones(2, 2)
    x = torch.randn(4, 3)
    max_value, max_index = torch.max(x, dim=1)
    sum_x = torch.sum(x, dim=1)
    unsqueezed = x.unsqueeze(0)
    permuted = unsqueezed.permute(1, 0, 2)
    transposed = permuted.transpose(0, 2)
    viewed = torch.randn(3, 4, 5).view(-1, 5)
    a, b = torch.randn(3, 4), torch.randn(3, 4)
    out_of_place = a.add(b)
    storage = a.data_ptr()
    in_place = a.add_(b)
    c = torch.randn(3, 4)
    c.unsqueeze_(0)
    c.transpose_(1, 0)
    return Section(
        "Tensor operations",
        "shapes follow unsqueeze/squeeze/permute/transpose/view; ops ending in _ change the tensor itself",
        {
            "long_dtype": ones.long().dtype,
            "float_dtype": ones.long().float().dtype,
            "max_dim1_shapes": (tuple(max_value.shape), tuple(max_index.shape)),
            "sum_dim1_shape": tuple(sum_x.shape),
            "unsqueeze(0)": tuple(unsqueezed.shape),
            "squeeze(0)": tuple(unsqueezed.squeeze(0).shape),
            "squeeze()": tuple(torch.randn(1, 4, 1, 3).squeeze().shape),
            "permute(1, 0, 2)": tuple(permuted.shape),
            "transpose(0, 2)": tuple(transposed.shape),
            "view(-1, 5)": tuple(viewed.shape),
            "add_returns_new_tensor": out_of_place.data_ptr() != storage,
            "add__returns_same_tensor": in_place is a and a.data_ptr() == storage,
            "unsqueeze_then_transpose_": tuple(c.shape),
        },
    )


def tensors_with_grad() -> Section:
    """5. Variable → tensors with ``requires_grad``: ``z = sum(x + y)`` gives gradients of ones.

    Example:
        >>> tensors_with_grad().values["x.grad_all_ones"]
        True
    """
    x = torch.randn(10, 5, requires_grad=True)
    y = torch.randn(10, 5, requires_grad=True)
    z = torch.sum(x + y)
    z.backward()
    assert x.grad is not None
    assert y.grad is not None
    return Section(
        "Variable (now: tensors with requires_grad)",
        "z = sum(x + y): dz/dx and dz/dy are all ones; z.grad_fn records how z was made",
        {
            "z.grad_fn": type(z.grad_fn).__name__,
            "x.grad_all_ones": bool(torch.equal(x.grad, torch.ones(10, 5))),
            "y.grad_all_ones": bool(torch.equal(y.grad, torch.ones(10, 5))),
        },
    )


def autograd_simple() -> Section:
    """6. ``z = (x + 2)^2 + 3`` at ``x = 2``: ``dz/dx = 2(x + 2) = 8``.

    Example:
        >>> autograd_simple().values["x.grad"]
        [8.0]
    """
    x = torch.tensor([2.0], requires_grad=True)
    y = x + 2
    z = y**2 + 3
    z.backward()
    assert x.grad is not None
    return Section("Autograd, simple case", "z = (x + 2)^2 + 3 at x = 2: dz/dx = 8", {"x.grad": x.grad.tolist()})


def autograd_complex() -> Section:
    """7. ``n = [m0^2, m1^3]`` at ``m = [[2, 3]]``, backward with ones: ``m.grad = [[4, 27]]``.

    Example:
        >>> autograd_complex().values["m.grad"]
        [[4.0, 27.0]]
    """
    m = torch.tensor([[2.0, 3.0]], requires_grad=True)
    n = torch.zeros(1, 2)
    n[0, 0] = m[0, 0] ** 2
    n[0, 1] = m[0, 1] ** 3
    n.backward(torch.ones_like(n))
    assert m.grad is not None
    return Section(
        "Autograd, complex case",
        "n = (m0^2, m1^3) with weights (1, 1): m.grad = (2 m0, 3 m1^2) = [[4, 27]]",
        {"m.grad": m.grad.tolist()},
    )


def autograd_retain_graph() -> Section:
    """8. ``y = 2x + x^2 + 3`` at ``x = 3``: ``dy/dx = 8``; a second backward accumulates to 16.

    Example:
        >>> v = autograd_retain_graph().values
        >>> v["after_first_backward"], v["after_second_backward"]
        ([8.0], [16.0])
    """
    x = torch.tensor([3.0], requires_grad=True)
    y = x * 2 + x**2 + 3
    y.backward(retain_graph=True)  # keep the graph for a second backward
    assert x.grad is not None
    first = x.grad.tolist()
    y.backward()  # gradients add up: 8 + 8
    return Section(
        "Autograd, several backward passes",
        "retain_graph=True keeps the graph; a second backward adds its gradient: 8, then 16",
        {"after_first_backward": first, "after_second_backward": x.grad.tolist()},
    )


def jacobian_by_backward(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The Jacobian ``J[i, j] = d f(x)_i / d x_j`` the notes' way: one backward per output row.

    The notes' exercise generalised: build ``f(x)`` once, then for each output ``i`` call
    ``backward`` with the one-hot weight ``e_i`` and ``retain_graph=True``, copy ``x.grad`` into
    row ``i``, and zero the gradient before the next row (it would accumulate otherwise).

    Args:
        f: a function of a 1-D tensor returning a 1-D tensor.
        x: the point, shape ``(n,)``.

    Returns:
        The Jacobian, shape ``(m, n)`` for an output of shape ``(m,)``.

    Example:
        >>> f = lambda x: torch.stack([x[0] ** 2 + 3 * x[1], x[1] ** 2 + 2 * x[0]])
        >>> jacobian_by_backward(f, torch.tensor([2.0, 3.0])).tolist()
        [[4.0, 3.0], [2.0, 6.0]]
    """
    if x.dim() != 1:
        raise ValueError(f"x must be 1-D, got shape {tuple(x.shape)}")
    x = x.detach().clone().requires_grad_(True)
    k = f(x)
    if k.dim() != 1:
        raise ValueError(f"f(x) must be 1-D, got shape {tuple(k.shape)}")
    rows = []
    for i in range(k.shape[0]):
        weight = torch.zeros_like(k)
        weight[i] = 1
        k.backward(weight, retain_graph=i < k.shape[0] - 1)
        assert x.grad is not None
        rows.append(x.grad.clone())
        x.grad.zero_()  # 归零之前求得的梯度
    return torch.stack(rows)


def autograd_exercise() -> Section:
    """9. The exercise: ``k = (x0^2 + 3 x1, x1^2 + 2 x0)`` at ``x = (2, 3)``: ``J = [[4, 3], [2, 6]]``.

    Example:
        >>> autograd_exercise().values["jacobian"]
        [[4.0, 3.0], [2.0, 6.0]]
    """

    def k(x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(2)
        out[0] = x[0] ** 2 + 3 * x[1]
        out[1] = x[1] ** 2 + 2 * x[0]
        return out

    x = torch.tensor([2.0, 3.0])
    by_backward = jacobian_by_backward(k, x)
    by_torch = torch.autograd.functional.jacobian(k, x)
    return Section(
        "Exercise: the Jacobian by backward",
        "one backward per output row with retain_graph, zeroing x.grad between rows",
        {
            "jacobian": by_backward.tolist(),
            "equals_torch_autograd_functional_jacobian": bool(torch.equal(by_backward, by_torch)),
        },
    )


def sections() -> list[Callable[[], Section]]:
    """The sections in the notes' order."""
    return [
        tensor_numpy_bridge,
        tensor_to_gpu,
        tensor_attributes,
        tensor_operations,
        tensors_with_grad,
        autograd_simple,
        autograd_complex,
        autograd_retain_graph,
        autograd_exercise,
    ]


def run_tour(print_fn: Callable[[str], None] = print) -> list[Section]:
    """Run every section, printing its title, claim and values; returns the sections."""
    done = []
    for number, make in enumerate(sections(), start=1):
        section = make()
        print_fn(f"{number}. {section.title}")
        print_fn(f"   {section.claim}")
        for name, value in section.values.items():
            print_fn(f"     {name}: {value}")
        if section.skipped:
            print_fn(f"   skipped: {section.skipped}")
        done.append(section)
    return done
