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
# # 3. Polynomial regression: a cubic, and why it needs thousands of updates
#
# [中文](../zh/03_polynomial_regression.ipynb) · [all notebooks](../README.md)
#
# The notes fit `y = 0.9 + 0.5x + 3x² + 2.4x³` with the features `[x, x², x³]` and the same
# hand-written gradient descent as notebook 2, at learning rate `1e-3`. After the notes' 100
# updates the curve is close, but not there. This notebook runs the notes' loop, trains the same
# model in Lightning (bit for bit again), then asks *why* plain gradient descent needs about 4,000
# updates on this problem, and measures three ways to need far fewer: the best step (`lr: auto`),
# momentum, and an orthogonal (Legendre) basis.

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
# ## The notes' loop
#
# The target cubic, sampled at 61 points from −3 to 3:

# %%
w_target = np.array([0.5, 3, 2.4])
b_target = np.array([0.9])

x_sample = np.arange(-3, 3.1, 0.1)
y_sample = b_target[0] + w_target[0] * x_sample + w_target[1] * x_sample**2 + w_target[2] * x_sample**3

plt.plot(x_sample, y_sample, label="real curve")
plt.legend()
plt.show()

# %% [markdown]
# The features `[x, x², x³]` (one row per sample), the parameters, and the model `x @ w + b`:

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
# One update, then 100 more, printing every 20th loss as the notes do:

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
# ## The same model in Lightning
#
# `PolynomialRegression(degree=3)` builds the notes' features from the raw `x` (in float64, rounded
# once to float32, as `np.stack(...)` then `.float()` does); `PolynomialDataModule` holds the 61
# samples. The manual twin is the notes' loop, as in notebook 2:

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
# ## Why thousands of updates: the condition number κ
#
# The loss is a quadratic function of `θ = (w, b)`: `f(θ) = f* + ½ (θ − θ*)ᵀ H (θ − θ*)`, with the
# Hessian `H = (2/N) XᵀX` (X: the features with a column of ones). One update multiplies the error
# along each eigenvector of `H` (eigenvalue `λ`) by `1 − lr·λ`. So
#
# - gradient descent converges only when `lr < 2/λmax` (the steepest direction must not overshoot);
# - along the flattest direction the error shrinks by only `1 − lr·λmin` per update: with `lr`
#   near `2/λmax`, about `1 − 2/κ`, where **κ = λmax/λmin** is the condition number.
#
# The features `x`, `x²` and `x³` have very different sizes on [−3, 3] (`x³` reaches 27), so `H` is
# badly conditioned. `lit_basics.diagnostics.diagnose` computes all of it, and the exact number of
# updates to any loss gap:

# %%
from lit_basics.diagnostics import diagnose

data = PolynomialDataModule()
torch.manual_seed(2017)
diagnosis = diagnose(PolynomialRegression(lr=1e-3), data.x, data.y)
print(diagnosis.summary())
print("eigenvalues of H:", [f"{v:.4g}" for v in diagnosis.eigenvalues.tolist()])
print("updates to a loss gap <= 1e-3 at the notes' lr:", diagnosis.updates_to_gap(1e-3))

# %% [markdown]
# The notes' `lr = 1e-3` is 12 % of the largest stable step, and even at the best constant step
# gradient descent would need hundreds of updates. `lit-basics compare` runs the same problem with
# each remedy, predicts each run's updates to a loss gap ≤ 10⁻³ before it starts, and measures
# them:
#
# - `best_step`: `lr: auto`, the constant step that needs the fewest updates from this start;
# - `heavy_ball` and `nesterov`: `lr: auto` with `momentum: auto` (`v = β·v + g`, `p -= lr·v`),
#   which turns "about κ updates" into "about √κ";
# - `adam`: `torch.optim.Adam` at the notes' `lr` (no prediction: it is not gradient descent);
# - `standardized`: each feature scaled to mean 0 and standard deviation 1.

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
# Every prediction is the measured count: for squared error the diagnosis is exact. The loss gap
# of each run, read back from its event file:

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
# ## The Legendre basis
#
# Another remedy changes the features, not the step: the Legendre polynomials `P₁(t), P₂(t), P₃(t)`
# of `t`, `x` mapped onto [−1, 1], are orthogonal there, so the Hessian is nearly diagonal. It is
# the same set of cubics, so the same best fit, in other coordinates. `basis="legendre"`
# trains on them and reports the coefficients in powers of `x` again:

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
# κ drops from 273 to about 6, and 60 updates recover the cubic's coefficients (0.9, 0.5, 3, 2.4)
# to float32's precision. The notes' picture after those 60 updates, as the run logged it:

# %%
from IPython.display import Image, display

events = EventAccumulator(str(RUNS / "legendre" / "version_0"), size_guidance={"images": 0})
events.Reload()
display(Image(events.Images("figure/PolynomialRegression")[-1].encoded_image_string, width=420))

# %% [markdown]
# To watch every run live:
#
# ```
# %load_ext tensorboard
# %tensorboard --logdir runs
# ```
#
# From the command line: `lit-basics fit -c configs/polynomial.yaml --model.lr=auto --model.momentum=auto`
# and `lit-basics compare -c configs/polynomial.yaml --trainer.max_steps=5000`. Next:
# [notebook 4](04_logistic_regression.ipynb), logistic regression.
