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
# # 2. Linear regression and gradient descent: the notes' loop, then Lightning
#
# [中文](../zh/02_linear_regression.ipynb) · [all notebooks](../README.md)
#
# The notes fit a line `y = w·x + b` to 15 points by gradient descent written out by hand:
# compute the loss, `loss.backward()`, then `w.data = w.data - 1e-2 * w.grad.data`. This notebook
# runs that loop exactly as the notes write it (only what today's PyTorch requires is changed), then
# trains the same model with PyTorch Lightning, twice:
#
# - the **manual twin** (`optimization="manual"`): Lightning calls our `training_step`, which runs the
#   notes' loop itself — zero the gradients, backward, `p -= lr * p.grad`;
# - the **automatic twin** (`optimization="automatic"`): Lightning calls `backward` and
#   `torch.optim.SGD`.
#
# Then we check that the manual twin reproduces the notes' numbers **bit for bit**, and read the
# curves and figures back from the run's TensorBoard event file.

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
# `filter_known_warnings()` silences what the `lit-basics` command silences too: Lightning's notices
# about the hardware ("GPU available: False, ...") and two upstream warnings a reader cannot act on
# (`lit_basics/cli/known_warnings.py` lists each, with its reason). The last two lines give this
# notebook a fresh folder of its own for the logs: every run below writes there, and only there.
#
# ## The notes' loop
#
# The data, as the notes type it: 15 points, `float32`.

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
# The parameters and the model. The notes wrap tensors in `Variable(..., requires_grad=True)`;
# since PyTorch 0.4 `Variable` is gone and a tensor carries `requires_grad` itself (notebook 1
# shows it). Everything else is the notes' code.

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
# One update, then ten more. The notes print `loss.data[0]`: a loss is a 0-dimensional tensor
# today, which has no element 0, so it is `loss.item()` (the same number, as a Python float). The
# notes' `get_loss(y_, y)` reads the global `y_train` instead of its argument `y`; here they are
# the same tensor, so nothing changes.

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
# ## The same model in Lightning
#
# `lit_basics.models.LinearRegression` holds the notes' `w` (drawn with `torch.randn`) and `b`
# (zeros), and its `forward` is the notes' `x * w + b`. `LinearDataModule` holds the same 15
# points. The manual twin's `training_step` is the notes' loop, line by line (the comments name the
# notes' lines):

# %%
import inspect

from lit_basics.models.base import GradientDescentModule
from lit_basics.models.sgd import NotesSGD

source = inspect.getsource(GradientDescentModule.training_step)
print(source[source.index("        # The notes' loop") :])

# %% [markdown]
# `optimizer.step()` is `NotesSGD`, whose update is the notes' `w.data = w.data - lr * w.grad.data`:
# it rounds `lr * grad` first and then the difference, as the notes' two lines do. It goes through
# `self.optimizers()` so that Lightning counts every update: `global_step`, `max_steps`, the step
# axis of TensorBoard and checkpoints all work, which a bare `p -= lr * p.grad` would break.

# %%
source = inspect.getsource(NotesSGD.step)
print(source[source.index("        for group") :])

# %% [markdown]
# Train it: the same seed, so the same `w` is drawn; 11 updates, as the notes do. The `Trainer`
# runs on the CPU (15 points are far too few for a GPU to help). `UpdateLog` writes every update's
# loss to TensorBoard, and `NotesInspector` draws the notes' picture and the loss over `(w, b)`.

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
# ## Bit for bit
#
# Read each update's loss back from the run's event file (what TensorBoard shows) and put it next
# to the notes' loop:

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
# The manual twin is the notes' loop to the last bit. The automatic twin differs in the last bits:
# `torch.optim.SGD` computes `p + (-lr)·grad` in one step, where the notes round `lr·grad` first
# and then the difference. Both are correct to float32's precision; only the manual twin is *the
# notes' computation*.
#
# ## The curves and figures the run logged
#
# A static page cannot hold a live TensorBoard, so here are the run's scalars and images read back
# from its event file and drawn:

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
# The loss gap is the loss minus the exact optimum of the least-squares problem (computed before
# the first update): after the notes' 11 updates it is still far from 0. Why gradient descent needs
# about 950 updates here, and how to need far fewer, is the subject of notebook 3.
#
# To watch the runs live, in TensorBoard, run this in a notebook cell:
#
# ```
# %load_ext tensorboard
# %tensorboard --logdir runs/02_linear_regression
# ```
#
# or `lit-basics tensorboard --logdir runs/02_linear_regression` in a terminal. The same model from
# the command line: `lit-basics fit -c configs/linear.yaml --model.optimization=manual`.
