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
# # 2. 线性回归与梯度下降：先手写循环，再用 Lightning
#
# [English](../en/02_linear_regression.ipynb) · [全部 notebook](../README.md)
#
# 笔记用手写的梯度下降把一条直线 `y = w·x + b` 拟合到 15 个点上：计算损失，`loss.backward()`，然后 `w.data = w.data - 1e-2 * w.grad.data`。本 notebook 先照笔记原样运行这个循环（只改动今天的 PyTorch 要求改的地方），再用 PyTorch Lightning 训练同一个模型，训练两次：
#
# - **手动孪生**（`optimization="manual"`）：Lightning 调用我们的 `training_step`，由它自己执行笔记的循环——梯度归零、反向传播、`p -= lr * p.grad`；
# - **自动孪生**（`optimization="automatic"`）：由 Lightning 调用 `backward` 和 `torch.optim.SGD`。
#
# 然后检验手动孪生是否**逐位**（bit for bit）重现笔记的数字，并从这次运行的 TensorBoard 事件文件中读回曲线和图。

# %%
import shutil
from pathlib import Path

import lightning.pytorch as pl
import matplotlib.pyplot as plt
import numpy as np
import torch

from lit_basics.cli import filter_known_warnings

filter_known_warnings()
plt.rcParams.update({"figure.figsize": (5, 3.4), "figure.dpi": 80})
RUNS = Path("runs/02_linear_regression")
shutil.rmtree(RUNS, ignore_errors=True)

# %% [markdown]
# `filter_known_warnings()` 屏蔽的正是 `lit-basics` 命令也会屏蔽的内容：Lightning 关于硬件的提示（“GPU available: False, ...”），以及两条读者无法处理的上游警告（`lit_basics/cli/known_warnings.py` 逐条列出，并写明理由）。最后两行给本 notebook 一个全新的日志文件夹：下面的每次运行都写到那里，也只写到那里。
#
# ## 笔记的循环
#
# 数据，和笔记里输入的一样：15 个点，`float32`。

# %%
torch.manual_seed(2017)

x_train = np.array([[3.3], [4.4], [5.5], [6.71], [6.93], [4.168],
                    [9.779], [6.182], [7.59], [2.167], [7.042],
                    [10.791], [5.313], [7.997], [3.1]], dtype=np.float32)  # fmt: skip

y_train = np.array([[1.7], [2.76], [2.09], [3.19], [1.694], [1.573],
                    [3.366], [2.596], [2.53], [1.221], [2.827],
                    [3.465], [1.65], [2.904], [1.3]], dtype=np.float32)  # fmt: skip

plt.plot(x_train, y_train, "bo")
plt.show()

# %% [markdown]
# 参数和模型。笔记用 `Variable(..., requires_grad=True)` 封装张量；从 PyTorch 0.4 起 `Variable` 已经取消，张量自己带有 `requires_grad`（notebook 1 演示过）。其余都是笔记的代码。

# %%
x_train = torch.from_numpy(x_train)
y_train = torch.from_numpy(y_train)

w = torch.randn(1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)


def linear_model(x):
    return x * w + b


def get_loss(y_, y):
    return torch.mean((y_ - y) ** 2)


y_ = linear_model(x_train)
plt.plot(x_train.numpy(), y_train.numpy(), "bo", label="real")
plt.plot(x_train.numpy(), y_.detach().numpy(), "ro", label="estimated")
plt.legend()
plt.show()
print("w =", w.item(), " b =", b.item())

# %% [markdown]
# 先更新一次，再更新十次。笔记打印 `loss.data[0]`：今天损失是一个 0 维张量，没有第 0 个元素，所以要写 `loss.item()`（同一个数，变成 Python 的 float）。笔记的 `get_loss(y_, y)` 用的是全局变量 `y_train` 而不是参数 `y`；这里两者是同一个张量，所以结果不变。

# %%
loss = get_loss(y_, y_train)
loss.backward()
w.data = w.data - 1e-2 * w.grad.data
b.data = b.data - 1e-2 * b.grad.data
notes_losses = [loss.item()]

for e in range(10):
    y_ = linear_model(x_train)
    loss = get_loss(y_, y_train)

    w.grad.zero_()
    b.grad.zero_()
    loss.backward()

    w.data = w.data - 1e-2 * w.grad.data
    b.data = b.data - 1e-2 * b.grad.data
    print("epoch: {}, loss: {}".format(e, loss.item()))
    notes_losses.append(loss.item())

# %%
y_ = linear_model(x_train)
plt.plot(x_train.numpy(), y_train.numpy(), "bo", label="real")
plt.plot(x_train.numpy(), y_.detach().numpy(), "ro", label="estimated")
plt.legend()
plt.show()
notes_w, notes_b = w.detach().clone(), b.detach().clone()
print("after 11 updates: w =", notes_w.item(), " b =", notes_b.item())

# %% [markdown]
# ## 在 Lightning 中的同一个模型
#
# `lit_basics.models.LinearRegression` 持有笔记的 `w`（用 `torch.randn` 初始化）和 `b`（初始化为 0），它的 `forward` 就是笔记的 `x * w + b`。`LinearDataModule` 持有同样的 15 个点。手动孪生的 `training_step` 逐行对应笔记的循环（注释写出了对应的笔记代码）：

# %%
import inspect

from lit_basics.models.base import GradientDescentModule
from lit_basics.models.sgd import NotesSGD

source = inspect.getsource(GradientDescentModule.training_step)
print(source[source.index("        # The notes' loop") :])

# %% [markdown]
# `optimizer.step()` 是 `NotesSGD`，它的更新就是笔记的 `w.data = w.data - lr * w.grad.data`：先对 `lr * grad` 舍入，再对差舍入，和笔记的两行代码一样。它经由 `self.optimizers()` 调用，因此 Lightning 会数到每一次更新：`global_step`、`max_steps`、TensorBoard 的步数坐标和检查点都正常工作，而直接写 `p -= lr * p.grad` 会让它们失效。

# %%
source = inspect.getsource(NotesSGD.step)
print(source[source.index("        for group") :])

# %% [markdown]
# 训练：同样的随机种子，所以初始化出同样的 `w`；和笔记一样更新 11 次。`Trainer` 在 CPU 上运行（15 个点太少，GPU 帮不上忙）。`UpdateLog` 把每次更新的损失写入 TensorBoard，`NotesInspector` 画出笔记的图和损失在 `(w, b)` 上的等高线。

# %%
from lightning.pytorch.loggers import TensorBoardLogger

from lit_basics.callbacks import NotesInspector, UpdateLog
from lit_basics.data import LinearDataModule
from lit_basics.models import LinearRegression


def fit(model, name, updates=11):
    trainer = pl.Trainer(
        max_steps=updates,
        max_epochs=-1,
        accelerator="cpu",
        logger=TensorBoardLogger(RUNS, name=name, version=0, default_hp_metric=False),
        callbacks=[UpdateLog(), NotesInspector(figure_every_n_updates=5)],
        enable_progress_bar=False,
        enable_checkpointing=False,
        enable_model_summary=False,
    )
    trainer.fit(model, LinearDataModule(passes_per_epoch=100))
    print(f"{name}: {trainer.global_step} updates, w = {model.w.item()}, b = {model.b.item()}")
    return model


torch.manual_seed(2017)
manual = fit(LinearRegression(lr=1e-2, optimization="manual"), "manual")
torch.manual_seed(2017)
automatic = fit(LinearRegression(lr=1e-2, optimization="automatic"), "automatic")

# %% [markdown]
# ## 逐位相同
#
# 从这次运行的事件文件（也就是 TensorBoard 显示的内容）中读回每次更新的损失，和笔记循环的损失并排放在一起：

# %%
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def scalars(name, tag):
    events = EventAccumulator(str(RUNS / name / "version_0"), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    return [(event.step, event.value) for event in events.Scalars(tag)]


manual_losses = [value for _, value in scalars("manual", "train/loss")]
automatic_losses = [value for _, value in scalars("automatic", "train/loss")]
print(f"{'update':>6}  {'the notes':>20}  {'manual twin':>20}  {'automatic twin':>20}")
for update, (notes, ours, auto) in enumerate(zip(notes_losses, manual_losses, automatic_losses, strict=True)):
    print(f"{update + 1:>6}  {notes!r:>20}  {ours!r:>20}  {auto!r:>20}")

# %%
print("losses equal, all 11:  ", manual_losses == notes_losses)
print("w equal:               ", torch.equal(manual.w.detach().view(1), notes_w))
print("b equal:               ", torch.equal(manual.b.detach(), notes_b))
relative = max(
    ((automatic.w.detach().view(1) - notes_w).abs() / notes_w.abs()).item(),
    ((automatic.b.detach() - notes_b).abs() / notes_b.abs()).item(),
)
print(f"automatic twin: w and b within {relative:.1e} of the notes' (relative)")

# %% [markdown]
# 手动孪生与笔记的循环完全相同，直到最后一位。自动孪生在最后几位上有差别：`torch.optim.SGD` 一步算出 `p + (-lr)·grad`，而笔记先对 `lr·grad` 舍入，再对差舍入。两者在 float32 的精度内都是正确的；只有手动孪生执行的是*笔记的计算*。
#
# ## 运行记录下的曲线和图
#
# 静态页面无法嵌入实时的 TensorBoard，所以这里从事件文件中读回这次运行的标量和图像，再画出来：

# %%
steps, losses = zip(*scalars("manual", "train/loss"), strict=True)
_, gaps = zip(*scalars("manual", "train/loss_gap"), strict=True)
figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
left.plot(steps, losses, "o-")
left.set(xlabel="update", ylabel="train/loss")
right.semilogy(steps, gaps, "o-")
right.set(xlabel="update", ylabel="train/loss_gap (loss - optimum)")
figure.tight_layout()
plt.show()

# %%
from IPython.display import Image, display

events = EventAccumulator(str(RUNS / "manual" / "version_0"), size_guidance={"images": 0})
events.Reload()
print(events.Tags()["images"])
for tag in events.Tags()["images"]:
    display(Image(events.Images(tag)[-1].encoded_image_string, width=420))

# %% [markdown]
# 损失差距（loss gap）是损失减去这个最小二乘问题的精确最优值（在第一次更新之前算出）：笔记的 11 次更新之后，它离 0 还很远。为什么梯度下降在这里需要大约 950 次更新，以及怎样少用很多次，是 notebook 3 的内容。
#
# 要在 TensorBoard 中实时查看这些运行，在 notebook 的单元格中运行：
#
# ```
# %load_ext tensorboard
# %tensorboard --logdir runs/02_linear_regression
# ```
#
# 或者在终端中运行 `lit-basics tensorboard --logdir runs/02_linear_regression`。在命令行中训练同一个模型：`lit-basics fit -c configs/linear.yaml --model.optimization=manual`。
