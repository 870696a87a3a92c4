# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 1. Tensors and autograd
#
# [中文](../zh/01_tensors_and_autograd.ipynb) · [all notebooks](../README.md)
#
# The first half of the notes, "Tensor & Variable" and "自动求导" (autograd), cell by cell: each
# cell is the notes' code, then what today's PyTorch prints. The notes were written for PyTorch
# 0.3; where today's PyTorch differs (`Variable`, `.data`, a few calls that now raise), the text
# says so and shows the call that replaces it.
#
# Random numbers are seeded, so this page prints the same numbers every time it runs.

# %%
import numpy as np
import torch

torch.manual_seed(2017)
np.random.seed(2017)

# %% [markdown]
# ## Tensors and numpy
#
# PyTorch is a library of tensors (n-dimensional arrays) with GPU acceleration and networks built
# dynamically. A numpy array becomes a tensor and back:

# %%
numpy_tensor = np.random.randn(10, 20)
pytorch_tensor = torch.randn(3, 2)

pytorch_tensor1 = torch.Tensor(numpy_tensor)
pytorch_tensor2 = torch.from_numpy(numpy_tensor)

numpy_array = pytorch_tensor1.numpy()
numpy_array = pytorch_tensor1.cpu().numpy()

print(numpy_tensor.dtype, pytorch_tensor1.dtype, pytorch_tensor2.dtype)

# %% [markdown]
# The two conversions are not the same: `torch.Tensor(ndarray)` **copies** the array into a new
# `float32` tensor, while `torch.from_numpy(ndarray)` **shares** the array's memory and keeps its
# `float64`. Change the array and see which tensor follows:

# %%
numpy_tensor[0, 0] = 123.0
print("torch.Tensor:    ", pytorch_tensor1[0, 0].item())
print("torch.from_numpy:", pytorch_tensor2[0, 0].item())

# %% [markdown]
# `.numpy()` likewise shares memory with a tensor on the CPU; `.cpu().numpy()` is the form that
# also works for a tensor on the GPU (it first copies it to the CPU).
#
# ## Tensors on the GPU
#
# The notes give two ways: convert to a CUDA tensor type, or move with `.cuda()`. The first
# converts the dtype to the type's (`torch.cuda.FloatTensor` is `float32`); the second keeps the
# dtype. Today's spelling of both is `.to(...)`: `x.to("cuda", torch.float32)` and `x.to("cuda")`.
# This cell runs the GPU half only where there is a GPU; the dtype half runs everywhere.

# %%
x = torch.randn(10, 20, dtype=torch.float64)
print("on the CPU, .type(torch.FloatTensor):", x.type(torch.FloatTensor).dtype)
if torch.cuda.is_available():
    dtype = torch.cuda.FloatTensor
    gpu_tensor = x.type(dtype)
    print(".type(torch.cuda.FloatTensor):", gpu_tensor.dtype, gpu_tensor.device)
    gpu_tensor = x.cuda(0)
    print(".cuda(0):                     ", gpu_tensor.dtype, gpu_tensor.device)
    cpu_tensor = gpu_tensor.cpu()
    print(".cpu():                       ", cpu_tensor.dtype, cpu_tensor.device)
else:
    print("no GPU here (torch.cuda.is_available() is False): the GPU half did not run")

# %% [markdown]
# ## A tensor's attributes

# %%
print(pytorch_tensor1.shape)
print(pytorch_tensor1.size())
print(pytorch_tensor1.type())
print(pytorch_tensor1.type(torch.DoubleTensor).type())
print(pytorch_tensor1.dim())
print(pytorch_tensor1.numel())

# %% [markdown]
# `shape` and `size()` are the same thing; `type()` names the tensor type, and `type(T)` returns
# a converted copy (`torch.DoubleTensor` is `float64`; today: `.to(torch.float64)` or `.double()`).
#
# ## Operations

# %%
x = torch.ones(2, 2)
print(x.dtype)
x = x.long()
print(x.dtype)
x = x.float()
print(x.dtype)

x = torch.randn(4, 3)
max_value, max_index = torch.max(x, dim=1)
print(max_value, max_index)
sum_x = torch.sum(x, dim=1)
print(sum_x)

# %% [markdown]
# Adding and removing dimensions. `unsqueeze(0)` adds a dimension of size 1 in front;
# `squeeze(0)` removes it again, and `squeeze()` removes every dimension of size 1:

# %%
x = x.unsqueeze(0)
print(x.shape)
x = x.squeeze(0)
print(x.shape)
x = x.squeeze()
print(x.shape)

# %% [markdown]
# The notes then call `x.permute(1, 0, 2)`, but `x` has two dimensions by now, and a permutation
# must name every dimension, so it raises:

# %%
try:
    x.permute(1, 0, 2)
except RuntimeError as error:
    print("RuntimeError:", error)

# %% [markdown]
# On a tensor with three dimensions it does what the notes mean: `permute` reorders all the
# dimensions, `transpose` swaps two of them.

# %%
x = torch.randn(3, 4, 5)
print(x.permute(1, 0, 2).shape)
print(x.transpose(0, 2).shape)
x = x.view(-1, 5)
print(x.shape)

# %% [markdown]
# `view(-1, 5)`: `-1` lets PyTorch work that size out (3 × 4 × 5 / 5 = 12). Adding two tensors,
# and the in-place operations, whose names end in `_`:

# %%
x = torch.randn(3, 4)
y = torch.randn(3, 4)
z = x + y
print(torch.equal(z, torch.add(x, y)))

x.unsqueeze_(0)
print(x.shape)
x.transpose_(1, 0)
print(x.shape)
try:
    x.add_(y)
except RuntimeError as error:
    print("RuntimeError:", error)

# %% [markdown]
# The notes' last line fails too: after `unsqueeze_` and `transpose_`, `x` has shape `(3, 1, 4)`.
# `x + y` would broadcast to `(3, 3, 4)`, and an in-place operation cannot change the shape of
# the tensor it writes into. On tensors of the same shape `add_` works:

# %%
x = torch.randn(3, 4)
before = x.clone()
x.add_(y)
print(torch.equal(x, before + y))

# %% [markdown]
# ## Variable
#
# In the notes, a `Variable` wraps a tensor and has three attributes: `.data` (the tensor),
# `.grad` (its gradient) and `.grad_fn` (the operation that produced it). Since PyTorch 0.4
# tensors have all three themselves, and `Variable(t, requires_grad=True)` simply returns a tensor
# (it still works, for old code). The notes' cell, as it runs today:

# %%
from torch.autograd import Variable

x_tensor = torch.randn(10, 5)
y_tensor = torch.randn(10, 5)

x = Variable(x_tensor, requires_grad=True)
y = Variable(y_tensor, requires_grad=True)
print(type(x), x.requires_grad)

z = torch.sum(x + y)

print(z.data)
print(z.grad_fn)

z.backward()

print(x.grad)
print(y.grad)

# %% [markdown]
# `z` is the sum of every element of `x + y`, so its gradient with respect to each element of `x`
# (and of `y`) is 1. Today one writes `x = x_tensor.requires_grad_()` or
# `torch.randn(10, 5, requires_grad=True)`, and `z.detach()` rather than `z.data` (`.data`
# bypasses autograd: a change made through it is invisible to the gradient).
#
# ## Autograd
#
# ### The simple case
#
# `z = (x + 2)² + 3`, so `dz/dx = 2(x + 2)`, which is 8 at `x = 2`:

# %%
x = Variable(torch.Tensor([2]), requires_grad=True)
y = x + 2
z = y**2 + 3

z.backward()
print(x.grad)

# %% [markdown]
# ### The complex case
#
# `n` is a 1 × 2 matrix: `n = (m₀², m₁³)`. `n` is not a number, so `backward` needs the weights
# `(w₀, w₁)` of a weighted sum of its elements; with `(1, 1)` the gradient is
# `(2·m₀, 3·m₁²) = (4, 27)` at `m = (2, 3)`:

# %%
m = Variable(torch.FloatTensor([[2, 3]]), requires_grad=True)
n = Variable(torch.zeros(1, 2))

n[0, 0] = m[0, 0] ** 2
n[0, 1] = m[0, 1] ** 3

n.backward(torch.ones_like(n))
print(m.grad)

# %% [markdown]
# ### Several backward passes
#
# A backward pass frees the graph it went through, unless `retain_graph=True` keeps it. Gradients
# **add up** in `.grad`: `y = 2x + x² + 3` has `dy/dx = 2 + 2x = 8` at `x = 3`, and the second
# backward adds another 8:

# %%
x = Variable(torch.FloatTensor([3]), requires_grad=True)
y = x * 2 + x**2 + 3

y.backward(retain_graph=True)
print(x.grad)

y.backward()
print(x.grad)

# %% [markdown]
# That is why every training loop zeroes the gradients before each backward pass (notebook 2:
# `w.grad.zero_()`; with an optimizer: `optimizer.zero_grad()`).
#
# ### Exercise: the Jacobian
#
# `k = (x₀² + 3x₁, x₁² + 2x₀)`. Row `i` of the Jacobian is the gradient of `kᵢ`: one backward pass
# with the weights `(1, 0)`, then, after zeroing the gradient, one with `(0, 1)`. At `x = (2, 3)`
# it is `[[2x₀, 3], [2, 2x₁]] = [[4, 3], [2, 6]]`. The notes zero the gradient with
# `x.grad.data.zero_()`; `x.grad.zero_()` does the same today.

# %%
x = Variable(torch.FloatTensor([2, 3]), requires_grad=True)
k = Variable(torch.zeros(2))

k[0] = x[0] ** 2 + 3 * x[1]
k[1] = x[1] ** 2 + 2 * x[0]

j = torch.zeros(2, 2)

k.backward(torch.FloatTensor([1, 0]), retain_graph=True)
j[0] = x.grad.data

x.grad.data.zero_()

k.backward(torch.FloatTensor([0, 1]))
j[1] = x.grad.data
print(j)

# %% [markdown]
# PyTorch computes the whole Jacobian in one call too, which checks the exercise:

# %%
from torch.autograd.functional import jacobian


def k_of(x):
    return torch.stack([x[0] ** 2 + 3 * x[1], x[1] ** 2 + 2 * x[0]])


print(jacobian(k_of, torch.tensor([2.0, 3.0])))
print(torch.equal(jacobian(k_of, torch.tensor([2.0, 3.0])), j))

# %% [markdown]
# `lit-basics tour` prints these sections in a terminal, and `tests/test_tour.py` checks each
# claim. Next: [notebook 2](02_linear_regression.ipynb), gradient descent by hand, then in
# Lightning.
