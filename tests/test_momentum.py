"""Momentum in both twins, the diagnosis with momentum against float64 simulations, lr/momentum "auto"."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lit_basics.callbacks import AutomaticStep
from lit_basics.callbacks.automatic_step import resolve_automatic_step
from lit_basics.data import IrisDataModule, LinearDataModule, LogisticDataModule, PolynomialDataModule
from lit_basics.diagnostics import diagnose
from lit_basics.errors import ArgumentError
from lit_basics.models import LinearRegression, LogisticRegression, PolynomialRegression, SoftmaxRegression
from tests.helpers import ParamRecorder, tiny_trainer

REPO = Path(__file__).resolve().parents[1]

FAMILIES = {
    "linear": (LinearRegression, LinearDataModule, {"lr": 0.01}),
    "polynomial": (PolynomialRegression, PolynomialDataModule, {"lr": 0.001}),
    "logistic": (LogisticRegression, LogisticDataModule, {"lr": 1.0}),
    "softmax": (SoftmaxRegression, IrisDataModule, {"lr": 0.1, "l2": 0.01}),
}


def trajectory(family, updates, **kwargs):
    model_cls, dm_cls, defaults = FAMILIES[family]
    torch.manual_seed(2017)
    model = model_cls(**{**defaults, **kwargs})
    recorder = ParamRecorder()
    tiny_trainer(updates, callbacks=[recorder]).fit(model, dm_cls(passes_per_epoch=100))
    return torch.stack([torch.cat([w.flatten(), b.flatten()]) for w, b in zip(recorder.w, recorder.b, strict=True)])


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("nesterov", [False, True])
def test_both_twins_take_the_same_momentum_updates_bit_for_bit(family, nesterov):
    automatic = trajectory(family, 150, momentum=0.8, nesterov=nesterov, optimization="automatic")
    manual = trajectory(family, 150, momentum=0.8, nesterov=nesterov, optimization="manual")
    assert torch.equal(automatic, manual)
    plain = trajectory(family, 150, optimization="manual")
    assert not torch.equal(manual, plain)


def test_notes_sgd_is_torch_sgd_with_momentum_and_keeps_its_velocity():
    from lit_basics.models import NotesSGD

    torch.manual_seed(0)
    for nesterov in (False, True):
        a, b = torch.nn.Parameter(torch.randn(5)), None
        b = torch.nn.Parameter(a.detach().clone())
        ours, theirs = (
            NotesSGD([a], lr=0.1, momentum=0.9, nesterov=nesterov),
            torch.optim.SGD([b], lr=0.1, momentum=0.9, nesterov=nesterov),
        )
        for step in range(20):
            grad = torch.randn(5)
            a.grad, b.grad = grad.clone(), grad.clone()
            ours.step()
            theirs.step()
            assert torch.equal(a, b), step
        state = ours.state_dict()["state"][0]["velocity"]
        assert torch.equal(state, theirs.state_dict()["state"][0]["momentum_buffer"])


def simulate(diagnosis, objective, start, lr, beta, nesterov, tol, limit=20000):
    """Gradient descent with momentum on the parameters themselves, float64, torch's update.

    The objective is quadratic: it is written once as ``½θᵀHθ - cᵀθ + f(0)`` from its own Hessian
    and gradient at zero (not from the diagnosis' recurrences), and stepped in numpy on it."""
    hessian = objective.hessian(start).numpy()
    zero = torch.zeros_like(start)
    c, constant = -objective.gradient(zero).numpy(), objective.value(zero)
    theta, velocity = start.numpy().copy(), np.zeros(start.numel())
    best, last_above = diagnosis.optimum.loss, -1
    for t in range(limit + 1):
        grad = hessian @ theta - c
        gap = 0.5 * theta @ (grad - c) + constant - best
        if gap > tol:
            last_above = t  # the count is the update from which on the gap stays <= tol
        elif gap < tol * 1e-9:  # a convergent linear recurrence does not climb back from here
            break
        velocity = beta * velocity + grad if t else grad.copy()
        theta = theta - lr * (grad + beta * velocity if nesterov else velocity)
    return last_above + 1 if last_above < limit else None


@pytest.mark.parametrize("family", ["linear", "polynomial"])
def test_predicted_counts_equal_a_float64_simulation_for_every_variant(family):
    """Squared error: the 2×2 recurrences are exact; every variant's count is the simulation's."""
    model_cls, dm_cls, defaults = FAMILIES[family]
    torch.manual_seed(2017)
    model, dm = model_cls(**defaults), dm_cls()
    diagnosis = diagnose(model, dm.x, dm.y)
    objective = model.reference_objective(dm.x, dm.y)
    start = objective.join(model.w, model.b)
    lam = diagnosis.curved
    variants = {
        "notes": (model.lr, 0.0, False),
        "textbook": (2 / float(lam[0] + lam[-1]), 0.0, False),
        "best step": (diagnosis.best_step()[0], 0.0, False),
        "polyak": (*diagnosis.polyak(), False),
        "nesterov": (*diagnosis.nesterov_settings(), True),
        "heavy ball 0.5": (diagnosis.max_stable_lr / 2, 0.5, False),
        "best heavy ball": (*diagnosis.best_momentum()[:2], False),
    }
    for name, (lr, beta, nesterov) in variants.items():
        predicted = diagnosis.at(lr, beta, nesterov).updates_to_gap(1e-3)
        simulated = simulate(diagnosis, objective, start, lr, beta, nesterov, 1e-3)
        assert predicted is not None, name
        assert abs(predicted - simulated) <= 1, (name, predicted, simulated)


@pytest.mark.slow  # 10 s (the momentum grid searches); the simulation tests check the counts in the test command
def test_the_issue_table_for_the_notes_problems():
    """The counts the design was made from (cubic and linear, updates to a gap <= 1e-3)."""
    expected = {"polynomial": (4042, 955, 478, 102, 78), "linear": (954, 1005, 417, 104, 72)}
    for family, (notes, textbook, best, polyak, nesterov) in expected.items():
        model_cls, dm_cls, defaults = FAMILIES[family]
        torch.manual_seed(2017)
        model, dm = model_cls(**defaults), dm_cls()
        d = diagnose(model, dm.x, dm.y)
        lam = d.curved
        assert d.updates_to_gap(1e-3) == notes
        assert d.at(2 / float(lam[0] + lam[-1])).updates_to_gap(1e-3) == textbook
        assert d.best_step()[1] == best
        assert d.at(*d.polyak()).updates_to_gap(1e-3) == polyak
        assert d.at(*d.nesterov_settings(), nesterov=True).updates_to_gap(1e-3) == nesterov
        assert d.best_momentum()[2] <= polyak


def test_stability_regions():
    torch.manual_seed(2017)
    model, dm = LinearRegression(), LinearDataModule()
    d = diagnose(model, dm.x, dm.y)
    lam_max = float(d.eigenvalues[-1])
    for beta in (0.0, 0.5, 0.9):
        heavy = d.at(1.0, beta)
        assert heavy.max_stable_lr == pytest.approx(2 * (1 + beta) / lam_max)
        assert heavy.at(heavy.max_stable_lr * 0.999, beta).spectral_radius() < 1
        assert heavy.at(heavy.max_stable_lr * 1.001, beta).spectral_radius() > 1
        if beta:
            nesterov = d.at(1.0, beta, nesterov=True)
            assert nesterov.max_stable_lr == pytest.approx(2 * (1 + beta) / ((1 + 2 * beta) * lam_max))
            assert nesterov.at(nesterov.max_stable_lr * 0.999, beta, True).spectral_radius() < 1
            assert nesterov.at(nesterov.max_stable_lr * 1.001, beta, True).spectral_radius() > 1
            assert d.at(nesterov.max_stable_lr * 1.01, beta, True).updates_to_gap(1e-3) is None


def test_lr_auto_is_the_best_step_and_a_checkpoint_holds_numbers(tmp_path):
    torch.manual_seed(2017)
    model, dm = PolynomialRegression(lr="auto"), PolynomialDataModule(passes_per_epoch=100)
    message = resolve_automatic_step(model, dm)
    assert message.startswith("Automatic: lr = 0.00843354 (the step that reaches a loss gap <= 0.001")
    assert model.hparams["lr"] == model.lr
    torch.manual_seed(2017)
    model = PolynomialRegression(lr="auto", momentum="auto")
    step = AutomaticStep()
    trainer = tiny_trainer(100, default_root_dir=str(tmp_path), enable_checkpointing=True, callbacks=[step])
    trainer.fit(model, dm)  # resolved by the callback at setup, outside the CLI
    assert step.chosen.startswith("Automatic: lr = ")
    assert isinstance(model.lr, float)
    assert 0 < model.momentum < 1
    [ckpt] = tmp_path.rglob("*.ckpt")
    hparams = torch.load(ckpt, weights_only=True)["hyper_parameters"]
    assert (hparams["lr"], hparams["momentum"]) == (model.lr, model.momentum)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    scale=st.sampled_from([1.0, 10.0, 100.0]),
    family=st.sampled_from(["logistic", "softmax"]),
)
def test_lr_auto_never_increases_the_loss_from_any_start(seed, scale, family):
    """Logistic and softmax: lr = 1/L decreases the loss at every update, from any start (float64)."""
    model_cls, dm_cls, defaults = FAMILIES[family]
    torch.manual_seed(seed)
    model = model_cls(**{**defaults, "lr": "auto"})
    with torch.no_grad():
        model.w.mul_(scale)
        model.b.normal_(0, scale)
    dm = dm_cls()
    resolve_automatic_step(model, dm)
    objective = model.reference_objective(dm.x, dm.y)
    theta = objective.join(model.w, model.b)
    value = objective.value(theta)
    for _ in range(200):
        theta = theta - model.lr * objective.gradient(theta)
        new = objective.value(theta)
        assert new <= value + 1e-12 * max(1.0, abs(value))
        value = new
    assert math.isfinite(value)


@pytest.mark.parametrize(
    ("kwargs", "argument", "message"),
    [
        ({"momentum": -0.1}, "momentum", "must be a finite number >= 0"),
        ({"momentum": 1.0}, "momentum", "must be in [0, 1)"),
        ({"nesterov": True}, "nesterov", "needs momentum > 0"),
        ({"momentum": "auto"}, "momentum", "'auto' needs lr='auto' too"),
        ({"lr": "auto", "optimizer": "Adam"}, "lr", "'auto' is a step of gradient descent"),
        ({"momentum": 0.9, "optimizer_kwargs": {"momentum": 0.5}}, "momentum", "is given twice"),
        ({"momentum": 0.9, "optimizer": "Adam"}, "momentum", "is SGD's"),
    ],
)
def test_bad_momentum_values_name_the_argument(kwargs, argument, message):
    with pytest.raises(ArgumentError) as info:
        LinearRegression(**kwargs)
    assert info.value.argument == argument
    assert message in str(info.value)


@pytest.mark.usefixtures("plain_argv")
def test_an_unstable_momentum_is_warned_and_stopped_with_its_own_bound(tmp_path, monkeypatch, capsys):
    from lit_basics.cli import cli_main

    monkeypatch.chdir(tmp_path)
    args = ["fit", "-c", "configs/linear.yaml", "--model.lr=0.05", "--model.momentum=0.5", "--trainer.max_steps=500"]
    with pytest.raises(SystemExit) as info:
        cli_main([*[a.replace("configs/", f"{REPO}/configs/") for a in args], "--trainer.enable_progress_bar=false"])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert "Heavy-ball momentum β=0.5: lr=0.05, stable below 2(1+β)/λmax = 0.03472" in captured.out
    lines = captured.err.rstrip().splitlines()
    assert any(
        line.startswith("warning: model.init_args.lr=0.05 is not below 2(1+β)/λmax = 0.03472")
        and "spectral radius" in line
        for line in lines
    )
    assert "(gradient descent is stable below 2(1+β)/λmax = 0.03472)" in lines[-1]
    assert lines[-1].startswith("error: update ")


def test_lr_auto_without_the_callback_is_one_error_naming_lr():
    model = LinearRegression(lr="auto")
    with pytest.raises(ArgumentError, match=r"^lr 'auto' is resolved at the start of a fit by the AutomaticStep"):
        tiny_trainer(5).fit(model, LinearDataModule())


def test_the_models_do_not_import_the_diagnostics():
    # The one import circle there was (models/base.py <-> diagnostics.py): lr="auto" is the
    # callback's now. No model file imports either module, at the top or inside a function.
    imports = re.compile(r"^\s*(from|import) lit_basics\.(diagnostics|callbacks)\b", re.MULTILINE)
    for path in (Path(__file__).resolve().parents[1] / "lit_basics" / "models").glob("*.py"):
        assert not imports.search(path.read_text()), path.name
