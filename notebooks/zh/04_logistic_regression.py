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
# # 4. 在 `data.txt` 上做 Logistic 回归
#
# [English](../en/04_logistic_regression.ipynb) · [全部 notebook](../README.md)
#
# 笔记的分类器：100 名学生的两门考试成绩，以及每人是否被录取（0 或 1）。模型是 `p = sigmoid(x @ w + b)`，损失函数是二元交叉熵，这一次的更新由 `torch.optim.SGD` 完成，而不是手写的一行代码。笔记做了两遍：先用自己写的 sigmoid 和截断（clamp）的对数，再用 `nn.BCEWithLogitsLoss`。我们两遍都运行，再在 Lightning 中训练同一个模型（同样逐位相同：对 Logistic 回归，做笔记所做之事的是*自动*孪生，因为笔记调用的是 `optimizer.step()`），最后看模型给出的回答：准确率、决策边界，以及每个系数和它的标准误。

# %%
import shutil
import time
from pathlib import Path

import lightning.pytorch as pl
import matplotlib.pyplot as plt
import numpy as np
import torch

from lit_basics.cli import filter_known_warnings

filter_known_warnings()
plt.rcParams.update({"figure.figsize": (5, 3.4), "figure.dpi": 80})
RUNS = Path("runs/04_logistic_regression")
shutil.rmtree(RUNS, ignore_errors=True)

# %% [markdown]
# ## 数据
#
# `data.txt` 随 lit_basics 一起发布（它的路径是 `lit_basics.notes_loops.DATA_TXT`）。笔记逐行读入，并把每门成绩除以该列的最大值：

# %%
from lit_basics.notes_loops import DATA_TXT

torch.manual_seed(2017)

with open(DATA_TXT) as f:
    data_list = [i.split("\n")[0].split(",") for i in f.readlines()]
    data = [(float(i[0]), float(i[1]), float(i[2])) for i in data_list]

x0_max = max([i[0] for i in data])
x1_max = max([i[1] for i in data])
data = [(i[0] / x0_max, i[1] / x1_max, i[2]) for i in data]

x0 = list(filter(lambda x: x[-1] == 0.0, data))
x1 = list(filter(lambda x: x[-1] == 1.0, data))

plot_x0 = [i[0] for i in x0]
plot_y0 = [i[1] for i in x0]
plot_x1 = [i[0] for i in x1]
plot_y1 = [i[1] for i in x1]

plt.plot(plot_x0, plot_y0, "ro", label="x_0")
plt.plot(plot_x1, plot_y1, "bo", label="x_1")
plt.legend(loc="best")
plt.show()

np_data = np.array(data, dtype="float32")
x_data = torch.from_numpy(np_data[:, 0:2])
y_data = torch.from_numpy(np_data[:, -1]).unsqueeze(1)
print(x_data.shape, y_data.shape, "admitted:", int(y_data.sum().item()))

# %% [markdown]
# ## Sigmoid 函数
#
# `sigmoid(z) = 1 / (1 + e^(−z))` 把任何数压缩到 (0, 1) 之间：模型认为属于第 1 类的概率。


# %%
def sigmoid(x):
    return 1 / (1 + np.exp(-x))


plot_x = np.arange(-10, 10.01, 0.01)
plt.plot(plot_x, sigmoid(plot_x), "r")
plt.title("Sigmoid Function")
plt.show()

# %% [markdown]
# ## 笔记的第一版：sigmoid、截断的对数、`torch.optim.SGD`
#
# 损失是 `−mean(y·log p + (1 − y)·log(1 − p))`；当概率舍入成 0 或 1 时，`clamp(1e-12)` 让 `log` 避开 `log 0 = −∞`。`nn.Parameter` 使 `w` 和 `b` 成为需要梯度的张量，由优化器完成更新（`optimizer.zero_grad()`、`loss.backward()`、`optimizer.step()`）：

# %%
import torch.nn.functional as F
from torch import nn


def binary_loss(y_pred, y):
    logits = (y * y_pred.clamp(1e-12).log() + (1 - y) * (1 - y_pred).clamp(1e-12).log()).mean()
    return -logits


w = nn.Parameter(torch.randn(2, 1))
b = nn.Parameter(torch.zeros(1))


def logistic_regression(x):
    return F.sigmoid(torch.mm(x, w) + b)


optimizer = torch.optim.SGD([w, b], lr=1.0)

notes_losses = []
start = time.time()
for e in range(1000):
    y_pred = logistic_regression(x_data)
    loss = binary_loss(y_pred, y_data)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    mask = y_pred.ge(0.5).float()
    acc = (mask == y_data).sum().item() / y_data.shape[0]
    notes_losses.append(loss.item())
    if (e + 1) % 200 == 0:
        print("epoch: {}, Loss: {:.5f}, Acc: {:.5f}".format(e + 1, loss.item(), acc))
during = time.time() - start
print()
print("During Time: {:.3f} s".format(during))
notes_w, notes_b = w.detach().clone(), b.detach().clone()

# %% [markdown]
# （笔记打印 `loss.data[0]` 和 `.sum().data[0]`；今天它们是 0 维张量，要用 `.item()` 读取。`F.sigmoid` 仍然可以用；它现在的名字是 `torch.sigmoid`。）决策边界是 `p = 0.5` 的地方，即 `x @ w + b = 0`，是一条直线：

# %%
w0, w1 = w[0].item(), w[1].item()
b0 = b.item()
plot_x = np.arange(0.2, 1, 0.01)
plot_y = (-w0 * plot_x - b0) / w1

plt.plot(plot_x, plot_y, "g", label="cutting line")
plt.plot(plot_x0, plot_y0, "ro", label="x_0")
plt.plot(plot_x1, plot_y1, "bo", label="x_1")
plt.legend(loc="best")
plt.show()

# %% [markdown]
# ## 笔记的第二版：`nn.BCEWithLogitsLoss`
#
# `BCEWithLogitsLoss` 接收 logit `x @ w + b`，把 sigmoid 和对数放在一起计算，速度更快，也不需要截断（它从不计算 `log 0`）。笔记重新初始化 `w`、`b`，再训练一遍：

# %%
criterion = nn.BCEWithLogitsLoss()

w = nn.Parameter(torch.randn(2, 1))
b = nn.Parameter(torch.zeros(1))


def logistic_reg(x):
    return torch.mm(x, w) + b


optimizer = torch.optim.SGD([w, b], 1.0)

y_pred = logistic_reg(x_data)
loss = criterion(y_pred, y_data)
print(loss.data)

bce_losses = []
start = time.time()
for e in range(1000):
    y_pred = logistic_reg(x_data)
    loss = criterion(y_pred, y_data)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    mask = y_pred.ge(0.5).float()
    acc = (mask == y_data).sum().item() / y_data.shape[0]
    bce_losses.append(loss.item())
    if (e + 1) % 200 == 0:
        print("epoch: {}, Loss: {:.5f}, Acc: {:.5f}".format(e + 1, loss.item(), acc))
during = time.time() - start
print()
print("During Time: {:.3f} s".format(during))
bce_w, bce_b = w.detach().clone(), b.detach().clone()

# %% [markdown]
# 笔记第二版中有一行是错的：`y_pred` 现在是 *logit*，所以 `y_pred.ge(0.5)` 把 `p ≥ sigmoid(0.5) = 0.62` 的点算作第 1 类，而不是 `p ≥ 0.5` 的点。logit 上正确的阈值是 0。两者的准确率不同：

# %%
with torch.no_grad():
    logits = logistic_reg(x_data)
print(f"logit >= 0.5 (the notes): {(logits.ge(0.5).float() == y_data).float().mean().item():.2f}")
print(f"logit >= 0   (p >= 0.5):  {(logits.ge(0.0).float() == y_data).float().mean().item():.2f}")

# %% [markdown]
# ## 在 Lightning 中的同样两个模型
#
# `LogisticRegression(loss="notes")` 是第一版（sigmoid 和截断的对数）；`loss="bce_with_logits"`（默认值）是第二版。`forward` 返回 logit；`train/acc` 以 0 为阈值。`LogisticDataModule` 读入 `data.txt` 并除以最大值，和笔记一样。同样的随机种子初始化出同样的 `w`（第二版的 `w` 是第二次抽取的）。

# %%
from lightning.pytorch.loggers import TensorBoardLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lit_basics.callbacks import AutomaticStep, NotesInspector, UpdateLog
from lit_basics.data import LogisticDataModule
from lit_basics.models import LogisticRegression


def fit(model, name, updates=1000, **trainer_options):
    trainer = pl.Trainer(
        max_steps=updates,
        max_epochs=-1,
        accelerator="cpu",
        logger=TensorBoardLogger(RUNS, name=name, version=0, default_hp_metric=False),
        callbacks=[AutomaticStep(), UpdateLog(), NotesInspector(figure_every_n_updates=500)],
        enable_progress_bar=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        **trainer_options,
    )
    trainer.fit(model, LogisticDataModule(passes_per_epoch=100))
    return model


def scalars(name, tag):
    events = EventAccumulator(str(RUNS / name / "version_0"), size_guidance={"scalars": 0})
    events.Reload()
    return [(event.step, event.value) for event in events.Scalars(tag)]


torch.manual_seed(2017)
notes_loss = fit(LogisticRegression(loss="notes"), "notes_loss")
torch.manual_seed(2017)
torch.randn(2, 1)
bce = fit(LogisticRegression(loss="bce_with_logits"), "bce_with_logits")

for name, model, losses, w_, b_ in [
    ("notes_loss", notes_loss, notes_losses, notes_w, notes_b),
    ("bce_with_logits", bce, bce_losses, bce_w, bce_b),
]:
    logged = [value for _, value in scalars(name, "train/loss")]
    same = logged == losses and torch.equal(model.w.detach(), w_) and torch.equal(model.b.detach(), b_)
    print(f"{name}: 1000 losses, w and b equal to the notes' bit for bit: {same}")

# %% [markdown]
# 每次更新的损失和准确率，以及运行记录下的笔记的图（两类点和 `p = 0.5` 的直线）：

# %%
from IPython.display import Image, display

steps, losses = zip(*scalars("bce_with_logits", "train/loss"), strict=True)
_, accuracies = zip(*scalars("bce_with_logits", "train/acc"), strict=True)
figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
left.plot(steps, losses)
left.set(xlabel="update", ylabel="train/loss")
right.plot(steps, accuracies)
right.set(xlabel="update", ylabel="train/acc")
figure.tight_layout()
plt.show()

events = EventAccumulator(str(RUNS / "bce_with_logits" / "version_0"), size_guidance={"images": 0})
events.Reload()
display(Image(events.Images("figure/LogisticRegression")[-1].encoded_image_string, width=420))

# %% [markdown]
# ## 离最优还有多远，以及模型给出的回答
#
# 1000 次更新之后，损失仍然高于它的最小值：这个问题在最优点处 κ ≈ 850（notebook 3 解释了 κ），在 `lr = 1` 时普通的梯度下降需要大约 17,000 次更新才能使损失差距降到 10⁻³。用 `lr: auto` 和 `momentum: auto`，并在 float64 下训练（`precision="64-true"`），3000 次更新就能到达最优（最后一行说明与精确最优解相比有几位有效数字是对的：κ ≈ 850 时，即使损失差距只有 10⁻⁹，1000 次更新之后第四位数字仍然不对），这时的系数表就是统计学家期待的回答：每个系数都以成绩的单位表示（除以最大值的缩放已经还原），附上它的标准误、`z` 统计量、p 值和 95 % 置信区间，和 R 的 `glm`、statsmodels 的 `Logit` 打印的一样。

# %%
from lit_basics.diagnostics import diagnose

data = LogisticDataModule()
torch.manual_seed(2017)
print(diagnose(LogisticRegression(), data.x, data.y).summary())

torch.manual_seed(2017)
fast = fit(LogisticRegression(lr="auto", momentum="auto"), "auto", updates=3000, precision="64-true")
print(f"lr = {fast.lr:.4g}, momentum = {fast.momentum:.3g}")
# The gap's last digits are float64 roundoff and differ between CPUs: only its size is printed.
gap = scalars("auto", "train/loss_gap")[-1][1]
print("final loss gap:", f"{gap:.3g}" if abs(gap) > 1e-12 else "0 to float64 roundoff (|gap| < 1e-12)")
table = fast.coefficients(LogisticDataModule())
print(table.to_text())
print(table.accuracy.line())

# %% [markdown]
# 两门成绩都有影响（p 值远小于 0.05）：考试 1 每多一分，录取的对数几率增加约 0.21，考试 2 每多一分增加约 0.20。
#
# 要实时查看这些运行：
#
# ```
# %load_ext tensorboard
# %tensorboard --logdir runs/04_logistic_regression
# ```
#
# 在命令行中：`lit-basics fit -c configs/logistic.yaml`（笔记的运行）、`lit-basics fit -c configs/logistic.yaml --model.loss=notes`，以及 `lit-basics fit -c configs/logistic.yaml --model.lr=auto --model.momentum=auto --trainer.precision=64-true`。下一篇：[notebook 5](05_a_real_table.ipynb)，一张含有文本列和缺失值的真实数据表。
