"""PolynomialRegression(basis="legendre"): the features, the learned map of x, the exact change to
powers of x, checkpoints, and the diagnosis' advice."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from lit_basics.data import ArrayDataModule, PolynomialDataModule
from lit_basics.diagnostics import diagnose
from lit_basics.errors import ArgumentError
from lit_basics.models import PolynomialRegression
from lit_basics.models.legendre import legendre_features, legendre_to_power, power_to_legendre
from lit_basics.reference import Objective, optimum
from tests.helpers import tiny_trainer
from tests.nist_strd import PROBLEMS


def test_features_are_numpys_legendre_polynomials_of_the_mapped_x():
    x = torch.linspace(-3.0, 5.0, 17, dtype=torch.float64).reshape(-1, 1)
    model = PolynomialRegression(degree=6, basis="legendre").double()
    model.learn_input_map(x)
    assert model.input_map == (1.0, 4.0)
    t = ((x - 1.0) / 4.0).flatten().numpy()
    expected = np.polynomial.legendre.legvander(t, 6)[:, 1:]
    np.testing.assert_allclose(model.features(x).numpy(), expected, rtol=0, atol=1e-15)


def test_the_map_is_learned_once_and_errors_name_basis():
    model = PolynomialRegression(degree=2, basis="legendre")
    with pytest.raises(ArgumentError, match=r"^basis 'legendre' needs the map of x"):
        model(torch.zeros(3, 1))
    with pytest.raises(ArgumentError, match="every x is 2"):
        model.learn_input_map(torch.full((4, 1), 2.0))
    model.learn_input_map(torch.tensor([[0.0], [4.0]]))
    model.learn_input_map(torch.tensor([[-10.0], [10.0]]))  # kept: the first one's
    assert model.input_map == (2.0, 2.0)
    with pytest.raises(ArgumentError, match=r"^basis"):
        PolynomialRegression(basis="chebyshev")  # type: ignore[arg-type]


def test_the_power_basis_state_is_unchanged():
    assert set(PolynomialRegression().state_dict()) == {"w", "b"}
    assert set(PolynomialRegression(basis="legendre").state_dict()) == {"w", "b", "x_center", "x_half_range"}


@pytest.mark.parametrize("degree", [1, 3, 7])
def test_conversion_to_powers_and_back_is_the_same_polynomial(degree):
    generator = torch.Generator().manual_seed(degree)
    coefficients = torch.randn(degree + 1, generator=generator, dtype=torch.float64)
    center, half_range = -5.9, 2.7
    power = legendre_to_power(coefficients, center, half_range)
    x = torch.linspace(-8.6, -3.2, 11, dtype=torch.float64).reshape(-1, 1)
    in_legendre = coefficients[0] + legendre_features((x - center) / half_range, degree) @ coefficients[1:]
    in_powers = x.pow(torch.arange(degree + 1, dtype=torch.float64)) @ power
    # Evaluating in powers of x cancels (8.6⁷ ≈ 3.5e6 against values near 1): a loose check there,
    # a tight one on the way back.
    torch.testing.assert_close(in_powers, in_legendre.flatten(), rtol=1e-8, atol=1e-8)
    # Back: exact arithmetic on the rounded power coefficients, whose rounding is all that is lost.
    torch.testing.assert_close(power_to_legendre(power, center, half_range), coefficients, rtol=1e-8, atol=1e-9)
    # With a map and coefficients that make every step exact, the conversion is exact both ways.
    exact = torch.tensor([1.0, -2.0, 0.5, 0.25][: degree + 1] + [0.0] * max(0, degree - 3), dtype=torch.float64)
    assert torch.equal(power_to_legendre(legendre_to_power(exact, 2.0, 0.5), 2.0, 0.5), exact)


#: Certified digits, the Legendre-basis optimum converted to powers of x (measured): Filip 14.0,
#: Pontius 13.0, Norris 13.4, Wampler1-5 10.4 ... 8.7 (the power coefficients are 1 where the
#: polynomial's values reach 10⁶-10⁷: their conversion cancels that much).
@pytest.mark.parametrize(
    "name", ["Norris", "Pontius", "Filip", "Wampler1", "Wampler2", "Wampler3", "Wampler4", "Wampler5"]
)
def test_nist_polynomials_in_the_legendre_basis_convert_to_the_certified_values(name):
    problem = PROBLEMS[name]
    x = torch.tensor(problem.x, dtype=torch.float64)
    y = torch.tensor(problem.y, dtype=torch.float64).reshape(-1, 1)
    model = PolynomialRegression(degree=problem.degree, basis="legendre").double()
    model.learn_input_map(x)
    best = model.optimum(x, y)
    estimates = model.power_coefficients(torch.cat([best.b, best.w.flatten()])).tolist()
    digits = min(
        16.0 if a == c else -math.log10(abs(a - c) / abs(c)) for a, c in zip(estimates, problem.estimates, strict=True)
    )
    assert digits >= (13 if name == "Filip" else 8)


def test_legendre_and_power_bases_have_one_optimum():
    dm = PolynomialDataModule()
    power = PolynomialRegression().double()
    legendre = PolynomialRegression(basis="legendre").double()
    legendre.learn_input_map(dm.x)
    a = power.optimum(dm.x, dm.y)
    b = legendre.optimum(dm.x, dm.y)
    assert a.loss == pytest.approx(b.loss, rel=1e-12)
    converted = legendre.power_coefficients(torch.cat([b.b, b.w.flatten()]))
    torch.testing.assert_close(converted, torch.cat([a.b, a.w.flatten()]), rtol=1e-9, atol=1e-12)


def test_a_fit_learns_the_training_rows_range_and_a_checkpoint_resumes_bitwise(tmp_path):
    x = np.linspace(10.0, 30.0, 40)
    y = 0.5 + 0.01 * (x - 20) ** 2
    dm_kwargs = {"x": x.reshape(-1, 1), "y": y, "val_fraction": 0.25, "seed": 1, "passes_per_epoch": 10}

    def fit(steps, ckpt_path=None, callbacks=()):
        torch.manual_seed(0)
        model = PolynomialRegression(degree=2, basis="legendre", lr=0.3, optimization="manual", updates_per_step=7)
        trainer = tiny_trainer(
            steps, callbacks=list(callbacks), enable_checkpointing=bool(callbacks), default_root_dir=str(tmp_path)
        )
        trainer.fit(model, ArrayDataModule(**dm_kwargs), ckpt_path=ckpt_path)
        return model

    straight = fit(60)
    train_x = ArrayDataModule(**dm_kwargs).training_rows()[0]
    center, half = straight.input_map
    assert center - half == float(train_x.min())
    assert center + half == float(train_x.max())
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True)
    fit(20, callbacks=[checkpoint])
    state = torch.load(tmp_path / "ckpt" / "last.ckpt", weights_only=True)["state_dict"]
    assert float(state["x_center"]) == center
    again = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True)
    resumed = fit(60, ckpt_path=str(tmp_path / "ckpt" / "last.ckpt"), callbacks=[again])
    assert torch.equal(resumed.w, straight.w)
    assert torch.equal(resumed.b, straight.b)


def test_the_advice_for_the_notes_cubic_names_the_legendre_basis_and_its_own_count():
    from lit_basics.diagnostics import _legendre_diagnosis

    torch.manual_seed(2017)
    model, dm = PolynomialRegression(), PolynomialDataModule()
    after = _legendre_diagnosis(model, dm)
    assert round(diagnose(model, dm.x, dm.y).condition_number) == 273
    assert after.condition_number == pytest.approx(6.394, abs=1e-3)
    # The twin starts at the same polynomial: the same loss, and the count is its own diagnosis'.
    twin = PolynomialRegression(basis="legendre")
    twin.learn_input_map(dm.x)
    start = power_to_legendre(model.power_coefficients(), *twin.input_map)
    with torch.no_grad():
        twin.b.copy_(start[:1])
        twin.w.copy_(start[1:].reshape(-1, 1))
    objective = Objective("squared_error", twin.features(dm.x), dm.y)
    power_objective = model.reference_objective(dm.x, dm.y)
    assert objective.value(objective.join(twin.w, twin.b)) == pytest.approx(
        power_objective.value(power_objective.join(model.w, model.b)), rel=1e-6
    )
    assert after.updates_to_gap(1e-3) == diagnose(twin, dm.x, dm.y).updates_to_gap(1e-3)
    assert optimum(objective).loss == pytest.approx(after.optimum.loss, rel=1e-12)


def test_a_fresh_model_takes_the_map_from_a_state_dict_and_predicts_the_same():
    trained = PolynomialRegression(degree=4, basis="legendre").double()
    trained.learn_input_map(torch.tensor([[1.0], [9.0]], dtype=torch.float64))
    fresh = PolynomialRegression(degree=4, basis="legendre").double()
    fresh.load_state_dict(trained.state_dict())
    assert fresh.input_map == (5.0, 4.0)
    x = torch.linspace(0.0, 10.0, 7, dtype=torch.float64).reshape(-1, 1)
    assert torch.equal(fresh(x), trained(x))
    # Positional arguments keep their places: basis is the last one.
    assert PolynomialRegression(2, 1, 0.5).hparams["lr"] == 0.5
