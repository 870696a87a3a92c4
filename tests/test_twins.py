"""The automatic and the manual twin: same seed, lr and data give the same parameters."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_trainer

from lit_basics.data import LinearDataModule, LogisticDataModule, PolynomialDataModule
from lit_basics.models import LinearRegression, LogisticRegression, PolynomialRegression

CASES = [
    (LinearRegression, LinearDataModule, {}, 11),
    (PolynomialRegression, PolynomialDataModule, {}, 101),
    (LogisticRegression, LogisticDataModule, {}, 1000),
    (LogisticRegression, LogisticDataModule, {"loss": "notes"}, 1000),
    # Shuffled mini-batches: the order is seeded independently of the model, so both twins see it.
    (LogisticRegression, LogisticDataModule, {"batch_size": 16, "shuffle": True}, 300),
    (PolynomialRegression, PolynomialDataModule, {"batch_size": 8, "shuffle": True, "degree": 2}, 200),
]


def trained(model_cls, dm_cls, kwargs, updates, optimization):
    model_kwargs = {k: v for k, v in kwargs.items() if k in ("loss", "degree")}
    dm_kwargs = {k: v for k, v in kwargs.items() if k in ("batch_size", "shuffle")}
    torch.manual_seed(2017)
    model = model_cls(optimization=optimization, **model_kwargs)
    trainer = tiny_trainer(updates)
    trainer.fit(model, dm_cls(passes_per_epoch=10, **dm_kwargs))
    assert trainer.global_step == updates
    return torch.cat([model.w.detach().flatten(), model.b.detach()])


@pytest.mark.parametrize(("model_cls", "dm_cls", "kwargs", "updates"), CASES)
def test_twins_agree(model_cls, dm_cls, kwargs, updates):
    automatic = trained(model_cls, dm_cls, kwargs, updates, "automatic")
    manual = trained(model_cls, dm_cls, kwargs, updates, "manual")
    relative = ((automatic - manual).abs() / automatic.abs().clamp_min(1e-12)).max().item()
    assert relative <= 1e-6, f"relative difference {relative:.3g}"
    # And they trained: far from the initial weights.
    torch.manual_seed(2017)
    initial = model_cls(**{k: v for k, v in kwargs.items() if k in ("loss", "degree")})
    assert not torch.allclose(automatic[:-1], initial.w.detach().flatten())
