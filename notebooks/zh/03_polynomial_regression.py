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
# # 3. 多项式回归：一个三次函数，以及为什么它需要几千次更新
#
# [English](../en/03_polynomial_regression.ipynb) · [全部 notebook](../README.md)
#
# 笔记用特征 `[x, x², x³]` 和与 notebook 2 相同的手写梯度下降拟合 `y = 0.9 + 0.5x + 3x² + 2.4x³`，学习率为 `1e-3`。笔记更新 100 次之后，曲线已经接近，但还没有到位。本 notebook 先运行笔记的循环，再在 Lightning 中训练同一个模型（同样逐位相同），然后追问：*为什么*普通的梯度下降在这个问题上需要大约 4,000 次更新？并实测三种可以少用很多次更新的办法：最佳步长（`lr: auto`）、动量，以及正交的（勒让德，Legendre）基。

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
RUNS = Path("runs/03_polynomial_regression")
shutil.rmtree(RUNS, ignore_errors=True)
shutil.rmtree("runs/polynomial-compare", ignore_errors=True)

# %% [markdown]
# ## 笔记的循环
#
# 目标三次函数，在 −3 到 3 之间取 61 个点：

# %%
w_target = np.array([0.5, 3, 2.4])
b_target = np.array([0.9])

x_sample = np.arange(-3, 3.1, 0.1)
y_sample = b_target[0] + w_target[0] * x_sample + w_target[1] * x_sample**2 + w_target[2] * x_sample**3

plt.plot(x_sample, y_sample, label="real curve")
plt.legend()
plt.show()

# %% [markdown]
# 特征 `[x, x², x³]`（每个样本一行）、参数和模型 `x @ w + b`：

# %%
x_train = np.stack([x_sample**i for i in range(1, 4)], axis=1)
x_train = torch.from_numpy(x_train).float()
y_train = torch.from_numpy(y_sample).float().unsqueeze(1)

torch.manual_seed(2017)
w = torch.randn(3, 1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)


def multi_linear(x):
    return torch.mm(x, w) + b


def get_loss(y_, y):
    return torch.mean((y_ - y) ** 2)


print(x_train.shape, w.shape)

# %% [markdown]
# 先更新一次，再更新 100 次，和笔记一样每 20 次打印一次损失：

# %%
y_pred = multi_linear(x_train)
loss = get_loss(y_pred, y_train)
loss.backward()
w.data = w.data - 0.001 * w.grad.data
b.data = b.data - 0.001 * b.grad.data
notes_losses = [loss.item()]

for e in range(100):
    y_pred = multi_linear(x_train)
    loss = get_loss(y_pred, y_train)

    w.grad.data.zero_()
    b.grad.data.zero_()
    loss.backward()

    w.data = w.data - 0.001 * w.grad.data
    b.data = b.data - 0.001 * b.grad.data
    notes_losses.append(loss.item())
    if (e + 1) % 20 == 0:
        print("epoch {}, Loss: {:.5f}".format(e + 1, loss.item()))

# %%
y_pred = multi_linear(x_train)
plt.plot(x_train[:, 0].numpy(), y_pred.detach().numpy(), label="fitting curve", color="r")
plt.plot(x_train[:, 0].numpy(), y_sample, label="real curve", color="b")
plt.legend()
plt.show()
notes_w, notes_b = w.detach().clone(), b.detach().clone()
print("w =", notes_w.flatten().tolist(), " b =", notes_b.item())
print("target: w =", w_target.tolist(), " b =", b_target.item())

# %% [markdown]
# ## 在 Lightning 中的同一个模型
#
# `PolynomialRegression(degree=3)` 从原始的 `x` 构造笔记的特征（先用 float64 计算，再一次性舍入为 float32，和 `np.stack(...)` 之后 `.float()` 一样）；`PolynomialDataModule` 持有这 61 个样本。手动孪生就是笔记的循环，与 notebook 2 相同：

# %%
from lightning.pytorch.loggers import TensorBoardLogger

from lit_basics.callbacks import AutomaticStep, NotesInspector, UpdateLog
from lit_basics.data import PolynomialDataModule
from lit_basics.models import PolynomialRegression


def fit(model, name, updates):
    trainer = pl.Trainer(
        max_steps=updates,
        max_epochs=-1,
        accelerator="cpu",
        logger=TensorBoardLogger(RUNS, name=name, version=0, default_hp_metric=False),
        callbacks=[AutomaticStep(), UpdateLog(), NotesInspector(figure_every_n_updates=50)],
        enable_progress_bar=False,
        enable_checkpointing=False,
        enable_model_summary=False,
    )
    trainer.fit(model, PolynomialDataModule(passes_per_epoch=100))
    return model


torch.manual_seed(2017)
manual = fit(PolynomialRegression(degree=3, lr=1e-3, optimization="manual"), "manual", 101)

# %%
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def scalars(directory, tag):
    events = EventAccumulator(str(directory), size_guidance={"scalars": 0})
    events.Reload()
    return [(event.step, event.value) for event in events.Scalars(tag)]


lightning_losses = [value for _, value in scalars(RUNS / "manual" / "version_0", "train/loss")]
print("losses equal, all 101:", lightning_losses == notes_losses)
print("w equal:", torch.equal(manual.w.detach(), notes_w), " b equal:", torch.equal(manual.b.detach(), notes_b))

# %% [markdown]
# ## 为什么需要几千次更新：条件数 κ
#
# 损失是 `θ = (w, b)` 的二次函数：`f(θ) = f* + ½ (θ − θ*)ᵀ H (θ − θ*)`，其中黑塞矩阵（Hessian）`H = (2/N) XᵀX`（X：特征再加一列 1）。每次更新把误差在 `H` 的每个特征向量方向（特征值为 `λ`）上乘以 `1 − lr·λ`。所以
#
# - 只有当 `lr < 2/λmax` 时梯度下降才收敛（最陡的方向不能越过头）；
# - 在最平坦的方向上，误差每次更新只缩小到原来的 `1 − lr·λmin`：当 `lr` 接近 `2/λmax` 时，大约是 `1 − 2/κ`，其中 **κ = λmax/λmin** 就是条件数。
#
# 在 [−3, 3] 上，特征 `x`、`x²` 和 `x³` 的大小相差很多（`x³` 可达 27），所以 `H` 的条件很差。`lit_basics.diagnostics.diagnose` 计算这一切，并给出达到任意损失差距所需的精确更新次数：

# %%
from lit_basics.diagnostics import diagnose

data = PolynomialDataModule()
torch.manual_seed(2017)
diagnosis = diagnose(PolynomialRegression(lr=1e-3), data.x, data.y)
print(diagnosis.summary())
print("eigenvalues of H:", [f"{v:.4g}" for v in diagnosis.eigenvalues.tolist()])
print("updates to a loss gap <= 1e-3 at the notes' lr:", diagnosis.updates_to_gap(1e-3))

# %% [markdown]
# 笔记的 `lr = 1e-3` 只有最大稳定步长的 12 %，即使用最佳的固定步长，梯度下降也需要几百次更新。`lit-basics compare` 用每一种办法运行同一个问题，在开始之前预测每次运行达到损失差距 ≤ 10⁻³ 所需的更新次数，再实测：
#
# - `best_step`：`lr: auto`，从这个起点出发所需更新次数最少的固定步长；
# - `heavy_ball` 和 `nesterov`：`lr: auto` 加 `momentum: auto`（`v = β·v + g`，`p -= lr·v`），把“大约 κ 次更新”变成“大约 √κ 次”；
# - `adam`：学习率与笔记相同的 `torch.optim.Adam`（没有预测：它不是梯度下降）；
# - `standardized`：把每个特征标准化为均值 0、标准差 1。

# %%
from lit_basics.cli import cli_main

cli_main(
    [
        "compare",
        "--model=PolynomialRegression",
        "--model.optimization=manual",
        "--data=PolynomialDataModule",
        "--trainer.max_steps=4100",
        "--trainer.enable_checkpointing=false",
    ]
)

# %% [markdown]
# 每个预测都等于实测的次数：对于平方误差，诊断是精确的。每次运行的损失差距，从各自的事件文件中读回：

# %%
compare_runs = Path("runs/polynomial-compare")
for variant in ["config", "best_step", "heavy_ball", "nesterov", "adam", "standardized"]:
    steps, gaps = zip(*scalars(compare_runs / variant, "train/loss_gap"), strict=True)
    plt.semilogy(steps, np.maximum(gaps, 1e-12), label=variant)
plt.axhline(1e-3, color="gray", linestyle=":")
plt.xlabel("update")
plt.ylabel("loss gap")
plt.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 勒让德基
#
# 另一种办法改变的是特征而不是步长：`t`（把 `x` 映射到 [−1, 1]）的勒让德多项式 `P₁(t), P₂(t), P₃(t)` 在这个区间上正交，所以黑塞矩阵接近对角矩阵。它们张成的是同一组三次多项式，因此最佳拟合相同，只是换了坐标。`basis="legendre"` 在这组基上训练，并把系数换算回 `x` 的幂次来报告：

# %%
torch.manual_seed(2017)
legendre = PolynomialRegression(degree=3, basis="legendre")
legendre.learn_input_map(data.x)
in_legendre = diagnose(legendre, data.x, data.y)
print(f"powers of x:    κ = {diagnosis.condition_number:.4g}, 2/λmax = {diagnosis.max_stable_lr:.4g}")
print(f"Legendre basis: κ = {in_legendre.condition_number:.4g}, 2/λmax = {in_legendre.max_stable_lr:.4g}")

torch.manual_seed(2017)
legendre = fit(PolynomialRegression(degree=3, basis="legendre", lr="auto", optimization="manual"), "legendre", 60)
print(f"lr = {legendre.lr:.4g} (auto); after 60 updates, in powers of x:")
table = legendre.coefficients(PolynomialDataModule())
for term, estimate in zip(table.column("term"), table.column("estimate"), strict=True):
    print(f"  {term:12} {estimate:.6g}")

# %% [markdown]
# κ 从 273 降到大约 6，60 次更新就在 float32 的精度内还原出三次函数的系数（0.9、0.5、3、2.4）。这 60 次更新之后笔记的图，取自运行的记录：

# %%
from IPython.display import Image, display

events = EventAccumulator(str(RUNS / "legendre" / "version_0"), size_guidance={"images": 0})
events.Reload()
display(Image(events.Images("figure/PolynomialRegression")[-1].encoded_image_string, width=420))

# %% [markdown]
# 要实时查看所有运行：
#
# ```
# %load_ext tensorboard
# %tensorboard --logdir runs
# ```
#
# 在命令行中：`lit-basics fit -c configs/polynomial.yaml --model.lr=auto --model.momentum=auto` 和 `lit-basics compare -c configs/polynomial.yaml --trainer.max_steps=5000`。下一篇：[notebook 4](04_logistic_regression.ipynb)，Logistic 回归（逻辑回归）。
