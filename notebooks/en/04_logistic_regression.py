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
# # 4. Logistic regression on `data.txt`
#
# [中文](../zh/04_logistic_regression.ipynb) · [all notebooks](../README.md)
#
# The notes' classifier: 100 students' two exam scores, and whether each was admitted (0 or 1).
# The model is `p = sigmoid(x @ w + b)`, the loss the binary cross-entropy, and this time the
# update is `torch.optim.SGD` rather than a hand-written line. The notes do it twice: with their
# own sigmoid and clamped logarithm, then with `nn.BCEWithLogitsLoss`. We run both, train the same
# model in Lightning (bit for bit again: for logistic regression it is the *automatic* twin that
# does what the notes do, since the notes call `optimizer.step()`), and end with what the model
# says: accuracy, the decision boundary, and each coefficient with its standard error.

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
# ## The data
#
# `data.txt` ships with lit_basics (`lit_basics.notes_loops.DATA_TXT` is its path). The notes read
# it line by line and divide each score by its column's maximum:

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
# ## The sigmoid
#
# `sigmoid(z) = 1 / (1 + e^(−z))` squeezes any number into (0, 1): the model's probability of
# class 1.


# %%
def sigmoid(x):
    return 1 / (1 + np.exp(-x))


plot_x = np.arange(-10, 10.01, 0.01)
plt.plot(plot_x, sigmoid(plot_x), "r")
plt.title("Sigmoid Function")
plt.show()

# %% [markdown]
# ## The notes' first version: sigmoid, clamped log, `torch.optim.SGD`
#
# The loss is `−mean(y·log p + (1 − y)·log(1 − p))`; `clamp(1e-12)` keeps `log` away from
# `log 0 = −∞` when a probability rounds to 0 or 1. `nn.Parameter` makes `w` and `b` tensors that
# require gradients, and the optimizer does the update (`optimizer.zero_grad()`, `loss.backward()`,
# `optimizer.step()`):

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
# (The notes print `loss.data[0]` and `.sum().data[0]`; those are 0-dimensional tensors today, read
# with `.item()`. `F.sigmoid` still works; `torch.sigmoid` is its current name.) The decision
# boundary is where `p = 0.5`, i.e. `x @ w + b = 0`, a line:

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
# ## The notes' second version: `nn.BCEWithLogitsLoss`
#
# `BCEWithLogitsLoss` takes the logit `x @ w + b` and computes the sigmoid and the log together,
# faster and without the clamp (it never forms `log 0`). The notes draw new `w`, `b` and train
# again:

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
# One line of the notes' second version is a bug: `y_pred` is now a *logit*, so `y_pred.ge(0.5)`
# counts class 1 where `p ≥ sigmoid(0.5) = 0.62`, not where `p ≥ 0.5`. The right threshold on a
# logit is 0. The accuracies differ:

# %%
with torch.no_grad():
    logits = logistic_reg(x_data)
print(f"logit >= 0.5 (the notes): {(logits.ge(0.5).float() == y_data).float().mean().item():.2f}")
print(f"logit >= 0   (p >= 0.5):  {(logits.ge(0.0).float() == y_data).float().mean().item():.2f}")

# %% [markdown]
# ## The same models in Lightning
#
# `LogisticRegression(loss="notes")` is the first version (sigmoid and the clamped log);
# `loss="bce_with_logits"` (the default) the second. `forward` returns the logits; `train/acc`
# thresholds them at 0. `LogisticDataModule` reads `data.txt` and divides by the maxima, as the
# notes do. The same seed draws the same `w` (the second version's `w` is the second draw).

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
# The loss and the accuracy of every update, and the notes' picture (the classes and the line
# `p = 0.5`) as the run logged them:

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
# ## How far from the optimum, and what the model says
#
# After 1000 updates the loss is still above its minimum: this problem has κ ≈ 850 at the optimum
# (notebook 3 explains κ), and at `lr = 1` plain gradient descent needs about 17,000 updates to a
# loss gap of 10⁻³. With `lr: auto` and `momentum: auto`, in float64 (`precision="64-true"`), 3000
# updates reach the optimum (the last line says to how many digits, against the exact optimum: with
# κ ≈ 850 a loss gap of 10⁻⁹ still leaves the fourth digit wrong after 1000 updates), and the
# coefficient table is then the answer a statistician expects:
# each coefficient in the units of the scores (the division by the maxima undone), its standard
# error, `z` statistic, p-value and 95 % interval, as R's `glm` and statsmodels' `Logit` print
# them.

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
# Both scores matter (p-values far below 0.05): each point on exam 1 raises the log-odds of
# admission by about 0.21, each point on exam 2 by about 0.20.
#
# To watch the runs live:
#
# ```
# %load_ext tensorboard
# %tensorboard --logdir runs/04_logistic_regression
# ```
#
# From the command line: `lit-basics fit -c configs/logistic.yaml` (the notes' run),
# `lit-basics fit -c configs/logistic.yaml --model.loss=notes`, and
# `lit-basics fit -c configs/logistic.yaml --model.lr=auto --model.momentum=auto --trainer.precision=64-true`.
# Next: [notebook 5](05_a_real_table.ipynb), a real table with text columns and missing values.
