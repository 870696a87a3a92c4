"""The automatic and the manual twin: same seed, lr, objective and data give the same parameters."""

from __future__ import annotations

import pytest
import torch

from lit_basics.data import IrisDataModule, LinearDataModule, LogisticDataModule, PolynomialDataModule
from lit_basics.models import LinearRegression, LogisticRegression, PolynomialRegression, SoftmaxRegression
from tests.helpers import params_of, tiny_trainer

MODEL_KEYS = ("loss", "degree", "l2", "l1", "lr")
CASES = [
    (LinearRegression, LinearDataModule, {}, 11),
    (PolynomialRegression, PolynomialDataModule, {}, 101),
    (LogisticRegression, LogisticDataModule, {}, 1000),
    (LogisticRegression, LogisticDataModule, {"loss": "notes"}, 1000),
    # Penalties: both twins train the same objective.
    (LinearRegression, LinearDataModule, {"l2": 0.5, "l1": 0.05}, 200),
    (LogisticRegression, LogisticDataModule, {"l2": 0.01, "l1": 0.001}, 500),
    (SoftmaxRegression, IrisDataModule, {"l2": 0.01, "lr": 0.02}, 300),
    # Shuffled mini-batches: the order is seeded independently of the model, so both twins see it.
    (LogisticRegression, LogisticDataModule, {"batch_size": 16, "shuffle": True}, 300),
    (PolynomialRegression, PolynomialDataModule, {"batch_size": 8, "shuffle": True, "degree": 2}, 200),
]


def trained(model_cls, dm_cls, kwargs, updates, optimization, per_step=1):
    model_kwargs = {k: v for k, v in kwargs.items() if k in MODEL_KEYS}
    dm_kwargs = {k: v for k, v in kwargs.items() if k in ("batch_size", "shuffle")}
    torch.manual_seed(2017)
    model = model_cls(optimization=optimization, updates_per_step=per_step, **model_kwargs)
    trainer = tiny_trainer(updates)
    trainer.fit(model, dm_cls(passes_per_epoch=10, **dm_kwargs))
    assert trainer.global_step == updates
    return params_of(model)


@pytest.mark.parametrize(("model_cls", "dm_cls", "kwargs", "updates"), CASES)
def test_twins_agree(model_cls, dm_cls, kwargs, updates):
    automatic = trained(model_cls, dm_cls, kwargs, updates, "automatic")
    manual = trained(model_cls, dm_cls, kwargs, updates, "manual", per_step=50)
    relative = ((automatic - manual).abs() / automatic.abs().clamp_min(1e-3)).max().item()
    assert relative <= 1e-5, f"relative difference {relative:.3g}"
    # And they trained: far from the initial weights.
    torch.manual_seed(2017)
    initial = model_cls(**{k: v for k, v in kwargs.items() if k in MODEL_KEYS})
    assert not torch.allclose(automatic[: initial.w.numel()], initial.w.detach().flatten())


@pytest.mark.parametrize(
    "dm_kwargs", [{}, {"batch_size": 16, "shuffle": True}], ids=["full-batch", "shuffled-minibatch"]
)
def test_updates_per_step_changes_nothing_but_the_step_count(dm_kwargs):
    """1 and 100 updates per Lightning step: identical parameters after the same number of updates."""
    results = []
    for per_step in (1, 100):
        torch.manual_seed(2017)
        model = LogisticRegression(optimization="manual", updates_per_step=per_step, l2=0.01)
        trainer = tiny_trainer(437)
        trainer.fit(model, LogisticDataModule(passes_per_epoch=100, **dm_kwargs))
        assert trainer.global_step == 437
        results.append(params_of(model))
    assert torch.equal(results[0], results[1])
