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
# # 1. 张量与自动求导
#
# [English](../en/01_tensors_and_autograd.ipynb) · [全部 notebook](../README.md)
#
# 笔记的前半部分——“Tensor & Variable”和“自动求导”——逐个单元格重现：每个单元格先是笔记的代码，再是今天的 PyTorch 打印的结果。笔记写于 PyTorch 0.3 时代；凡是今天的 PyTorch 与笔记不同的地方（`Variable`、`.data`、几个现在会报错的调用），正文都会指出，并给出替代的写法。
#
# 随机数都设了种子，所以本页每次运行打印的数字都相同。

# %%
import numpy as np
import torch

torch.manual_seed(2017)
np.random.seed(2017)

# %% [markdown]
# ## 张量与 numpy
#
# PyTorch 是一个拥有强力 GPU 加速的张量（n 维数组）和动态构建网络的库。numpy 数组可以转换成张量，张量也可以转换回 numpy 数组：

# %%
numpy_tensor = np.random.randn(10, 20)
pytorch_tensor = torch.randn(3, 2)

pytorch_tensor1 = torch.Tensor(numpy_tensor)
pytorch_tensor2 = torch.from_numpy(numpy_tensor)

numpy_array = pytorch_tensor1.numpy()
numpy_array = pytorch_tensor1.cpu().numpy()

print(numpy_tensor.dtype, pytorch_tensor1.dtype, pytorch_tensor2.dtype)

# %% [markdown]
# 这两种转换并不相同：`torch.Tensor(ndarray)` 把数组**复制**到一个新的 `float32` 张量中，而 `torch.from_numpy(ndarray)` 与数组**共享**内存，并保持它的 `float64`。修改数组，看看哪个张量会跟着变：

# %%
numpy_tensor[0, 0] = 123.0
print("torch.Tensor:    ", pytorch_tensor1[0, 0].item())
print("torch.from_numpy:", pytorch_tensor2[0, 0].item())

# %% [markdown]
# 同样，`.numpy()` 与 CPU 上的张量共享内存；`.cpu().numpy()` 对 GPU 上的张量也适用（它先把张量复制到 CPU）。
#
# ## 把张量放到 GPU 上
#
# 笔记给出两种方式：转换成 CUDA 张量类型，或者用 `.cuda()` 移动。第一种会把数据类型转换成该类型的（`torch.cuda.FloatTensor` 是 `float32`）；第二种保持原来的数据类型。两者今天的写法都是 `.to(...)`：`x.to("cuda", torch.float32)` 和 `x.to("cuda")`。这个单元格只在有 GPU 的机器上运行 GPU 部分；数据类型部分在任何机器上都会运行。

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
# ## 访问张量的属性

# %%
print(pytorch_tensor1.shape)
print(pytorch_tensor1.size())
print(pytorch_tensor1.type())
print(pytorch_tensor1.type(torch.DoubleTensor).type())
print(pytorch_tensor1.dim())
print(pytorch_tensor1.numel())

# %% [markdown]
# `shape` 和 `size()` 是一回事；`type()` 给出张量类型的名字，`type(T)` 返回转换后的副本（`torch.DoubleTensor` 即 `float64`；今天的写法是 `.to(torch.float64)` 或 `.double()`）。
#
# ## 张量操作

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
# 增加和减少维度。`unsqueeze(0)` 在最前面加一个大小为 1 的维度；`squeeze(0)` 再把它去掉，`squeeze()` 去掉所有大小为 1 的维度：

# %%
x = x.unsqueeze(0)
print(x.shape)
x = x.squeeze(0)
print(x.shape)
x = x.squeeze()
print(x.shape)

# %% [markdown]
# 笔记接着调用 `x.permute(1, 0, 2)`，但此时 `x` 只有两个维度，而 `permute` 必须给出每一个维度的新位置，所以会报错：

# %%
try:
    x.permute(1, 0, 2)
except RuntimeError as error:
    print("RuntimeError:", error)

# %% [markdown]
# 在三维张量上，它做的正是笔记想做的：`permute` 重新排列所有维度，`transpose` 交换其中两个维度。

# %%
x = torch.randn(3, 4, 5)
print(x.permute(1, 0, 2).shape)
print(x.transpose(0, 2).shape)
x = x.view(-1, 5)
print(x.shape)

# %% [markdown]
# `view(-1, 5)`：`-1` 表示这一维的大小由 PyTorch 自己算出（3 × 4 × 5 / 5 = 12）。两个张量相加，以及名字以 `_` 结尾的 inplace（原地）操作：

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
# 笔记的最后一行也会失败：经过 `unsqueeze_` 和 `transpose_` 之后，`x` 的形状是 `(3, 1, 4)`。`x + y` 会广播成 `(3, 3, 4)`，而原地操作不能改变它所写入的张量的形状。形状相同时，`add_` 没有问题：

# %%
x = torch.randn(3, 4)
before = x.clone()
x.add_(y)
print(torch.equal(x, before + y))

# %% [markdown]
# ## Variable
#
# 在笔记中，`Variable` 是对张量的封装，包含三个属性：`.data`（张量本身）、`.grad`（它的梯度）和 `.grad_fn`（得到它的操作）。从 PyTorch 0.4 起，张量自己就有这三个属性，`Variable(t, requires_grad=True)` 直接返回一个张量（为了兼容旧代码，它仍然可以用）。笔记的这个单元格在今天的运行结果：

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
# `z` 是 `x + y` 所有元素之和，所以它对 `x`（以及 `y`）每个元素的梯度都是 1。今天的写法是 `x = x_tensor.requires_grad_()` 或 `torch.randn(10, 5, requires_grad=True)`，并用 `z.detach()` 代替 `z.data`（`.data` 绕过了自动求导：通过它做的修改，梯度看不到）。
#
# ## 自动求导
#
# ### 简单情况
#
# `z = (x + 2)² + 3`，所以 `dz/dx = 2(x + 2)`，在 `x = 2` 处为 8：

# %%
x = Variable(torch.Tensor([2]), requires_grad=True)
y = x + 2
z = y**2 + 3

z.backward()
print(x.grad)

# %% [markdown]
# ### 复杂情况
#
# `n` 是一个 1 × 2 的矩阵：`n = (m₀², m₁³)`。`n` 不是一个数，所以 `backward` 需要一组权重 `(w₀, w₁)`，对 `n` 的各元素求加权和；取 `(1, 1)` 时，在 `m = (2, 3)` 处的梯度是 `(2·m₀, 3·m₁²) = (4, 27)`：

# %%
m = Variable(torch.FloatTensor([[2, 3]]), requires_grad=True)
n = Variable(torch.zeros(1, 2))

n[0, 0] = m[0, 0] ** 2
n[0, 1] = m[0, 1] ** 3

n.backward(torch.ones_like(n))
print(m.grad)

# %% [markdown]
# ### 多次自动求导
#
# 一次反向传播会释放它经过的计算图，除非用 `retain_graph=True` 保留计算图。梯度会在 `.grad` 中**累加**：`y = 2x + x² + 3` 在 `x = 3` 处 `dy/dx = 2 + 2x = 8`，第二次反向传播再加上 8：

# %%
x = Variable(torch.FloatTensor([3]), requires_grad=True)
y = x * 2 + x**2 + 3

y.backward(retain_graph=True)
print(x.grad)

y.backward()
print(x.grad)

# %% [markdown]
# 这就是为什么每个训练循环都要在反向传播之前把梯度归零（notebook 2：`w.grad.zero_()`；用优化器时：`optimizer.zero_grad()`）。
#
# ### 练习：雅可比矩阵
#
# `k = (x₀² + 3x₁, x₁² + 2x₀)`。雅可比矩阵的第 `i` 行是 `kᵢ` 的梯度：先用权重 `(1, 0)` 做一次反向传播，把梯度归零后，再用 `(0, 1)` 做一次。在 `x = (2, 3)` 处，它是 `[[2x₀, 3], [2, 2x₁]] = [[4, 3], [2, 6]]`。笔记用 `x.grad.data.zero_()` 把梯度归零；今天用 `x.grad.zero_()` 效果相同。

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
# PyTorch 也能一次算出整个雅可比矩阵，可以用来检验练习的结果：

# %%
from torch.autograd.functional import jacobian


def k_of(x):
    return torch.stack([x[0] ** 2 + 3 * x[1], x[1] ** 2 + 2 * x[0]])


print(jacobian(k_of, torch.tensor([2.0, 3.0])))
print(torch.equal(jacobian(k_of, torch.tensor([2.0, 3.0])), j))

# %% [markdown]
# `lit-basics tour` 在终端里打印这些小节，`tests/test_tour.py` 检查其中的每一个结论。下一篇：[notebook 2](02_linear_regression.ipynb)，先手写梯度下降，再用 Lightning。
