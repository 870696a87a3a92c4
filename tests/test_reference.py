"""The exact optima (lit_basics.reference) against solvers written independently here: numpy's
normal equations, scipy's BFGS, and scipy's L-BFGS-B on the split (w = u - v, u, v >= 0) form of
the l1 problems; plus the optimality conditions checked directly."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import torch
from scipy.special import logsumexp

from lit_basics.data import IrisDataModule, LinearDataModule, LogisticDataModule, PolynomialDataModule
from lit_basics.models import LinearRegression, LogisticRegression, PolynomialRegression, SoftmaxRegression
from lit_basics.reference import Objective, least_squares_optimum, logistic_optimum, optimum
from tests.nist_strd import PROBLEMS


def smooth_numpy(kind: str, x: np.ndarray, y: np.ndarray, l2: float, classes: int):
    """Data loss + l2/2 ||w||^2 and its gradient, over theta = [w; b] (row-major (K+1, C))."""
    n, k = x.shape
    design = np.hstack([x, np.ones((n, 1))])

    def f(theta: np.ndarray):
        t = theta.reshape(k + 1, classes)
        z = design @ t
        if kind == "squared_error":
            r = z[:, 0] - y
            value, dz = np.mean(r**2), 2 * r[:, None] / n
        elif kind == "logistic":
            zz = z[:, 0]
            value, dz = np.mean(np.logaddexp(0, zz) - y * zz), ((1 / (1 + np.exp(-zz))) - y)[:, None] / n
        else:
            lse = logsumexp(z, axis=1)
            value = np.mean(lse - z[np.arange(n), y.astype(int)])
            dz = (np.exp(z - lse[:, None]) - np.eye(classes)[y.astype(int)]) / n
        grad = design.T @ dz
        value += l2 / 2 * np.sum(t[:-1] ** 2)
        grad[:-1] += l2 * t[:-1]
        return value, grad.ravel()

    return f


def scipy_optimum(kind, x, y, l2, l1, classes):
    """The objective's minimum by L-BFGS-B (split variables for l1), restarted until it settles."""
    f = smooth_numpy(kind, x, y, l2, classes)
    nw = x.shape[1] * classes

    def split(z):
        u, v, b = z[:nw], z[nw : 2 * nw], z[2 * nw :]
        value, grad = f(np.concatenate([u - v, b]))
        gw = grad[:nw]
        return value + l1 * np.sum(u + v), np.concatenate([gw + l1, -gw + l1, grad[nw:]])

    bounds = [(0, None)] * (2 * nw) + [(None, None)] * classes
    z = np.zeros(2 * nw + classes)
    for _ in range(4):
        result = scipy.optimize.minimize(
            split,
            z,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"ftol": 1e-16, "gtol": 1e-13, "maxiter": 50000},
        )
        z = result.x
    return result.fun, np.concatenate([z[:nw] - z[nw : 2 * nw], z[2 * nw :]])


def random_problem(seed: int):
    rng = np.random.default_rng(seed)
    kind = ["squared_error", "logistic", "softmax"][seed % 3]
    n, k = int(rng.integers(12, 60)), int(rng.integers(1, 5))
    classes = 3 if kind == "softmax" else 1
    x = rng.normal(size=(n, k)) * rng.uniform(0.3, 3.0, size=k)
    if kind == "squared_error":
        y = x @ rng.normal(size=k) + rng.normal(size=n)
    elif kind == "logistic":
        y = (x @ rng.normal(size=k) + 1.5 * rng.normal(size=n) > 0).astype(float)
    else:
        y = rng.integers(0, classes, size=n).astype(float)
    l2 = float(rng.choice([0.0, 0.01, 0.3])) if kind != "softmax" else float(rng.choice([0.01, 0.3]))
    l1 = float(rng.choice([0.0, 0.005, 0.05, 0.3]))
    return kind, x, y, l2, l1, classes


@pytest.mark.parametrize("seed", range(36))
def test_penalised_optimum_matches_an_independent_solver(seed):
    kind, x, y, l2, l1, classes = random_problem(seed)
    objective = Objective(kind, torch.tensor(x), torch.tensor(y).reshape(-1, 1), l2=l2, l1=l1, num_classes=classes)
    ours = optimum(objective)
    reference, _ = scipy_optimum(kind, x, y, l2, l1, classes)
    # Never above the independent minimum (beyond float64 rounding), and within 1e-9 of it.
    assert ours.loss <= reference + 1e-12
    assert ours.loss == pytest.approx(reference, abs=1e-9)
    # The optimality conditions, with numpy's gradient: zero gradient off the kink, |g| <= l1 on it.
    theta = np.concatenate([ours.w.numpy().ravel(), ours.b.numpy().ravel()])
    _, grad = smooth_numpy(kind, x, y, l2, classes)(theta)
    nw = x.shape[1] * classes
    w, gw = theta[:nw], grad[:nw]
    nonzero = w != 0
    np.testing.assert_allclose(gw[nonzero] + l1 * np.sign(w[nonzero]), 0, atol=1e-8)
    assert np.all(np.abs(gw[~nonzero]) <= l1 + 1e-8)
    np.testing.assert_allclose(grad[nw:], 0, atol=1e-8)


def test_ridge_matches_the_normal_equations():
    dm = PolynomialDataModule()
    model = PolynomialRegression(l2=0.7)
    features = model.features(dm.x).double().numpy()
    n = features.shape[0]
    design = np.hstack([features, np.ones((n, 1))])
    penalty = np.diag([0.7] * features.shape[1] + [0.0])  # b is not penalised
    theta = np.linalg.solve(2 / n * design.T @ design + penalty, 2 / n * design.T @ dm.y.double().numpy())
    ours = model.optimum(dm.x, dm.y)
    np.testing.assert_allclose(ours.w.numpy().ravel(), theta[:-1, 0], rtol=1e-8)
    np.testing.assert_allclose(ours.b.numpy(), theta[-1], rtol=1e-8)


def test_least_squares_matches_numpy():
    for dm, model in ((LinearDataModule(), LinearRegression()), (PolynomialDataModule(), PolynomialRegression())):
        features = model.features(dm.x).double()
        design = np.hstack([features.numpy(), np.ones((features.shape[0], 1))])
        solution, *_ = np.linalg.lstsq(design, dm.y.double().numpy(), rcond=None)
        result = least_squares_optimum(features, dm.y)
        np.testing.assert_allclose(result.w.numpy().ravel(), solution[:-1].ravel(), rtol=1e-9)
        np.testing.assert_allclose(result.b.numpy(), solution[-1], rtol=1e-9, atol=1e-12)


def test_polynomial_optimum_is_the_notes_target():
    dm = PolynomialDataModule()
    result = PolynomialRegression().optimum(dm.x, dm.y)
    np.testing.assert_allclose(result.w.numpy().ravel(), [0.5, 3.0, 2.4], atol=1e-6)
    assert result.b.item() == pytest.approx(0.9, abs=1e-6)


def test_logistic_optimum_matches_scipy():
    dm = LogisticDataModule()
    x, y = dm.x.double().numpy(), dm.y.double().numpy().ravel()
    f = smooth_numpy("logistic", x, y, 0.0, 1)
    result = scipy.optimize.minimize(f, np.zeros(3), jac=True, method="BFGS", options={"gtol": 1e-12})
    ours = logistic_optimum(dm.x, dm.y)
    np.testing.assert_allclose(np.append(ours.w.numpy().ravel(), ours.b.numpy()), result.x, rtol=1e-6)
    assert ours.loss == pytest.approx(result.fun, rel=1e-9)


def test_softmax_optimum_on_iris_matches_scipy():
    dm = IrisDataModule()
    model = SoftmaxRegression(l2=0.01)
    x, y = dm.x.double().numpy(), dm.y.numpy().ravel().astype(float)
    reference, _ = scipy_optimum("softmax", x, y, 0.01, 0.0, 3)
    assert model.optimum(dm.x, dm.y).loss == pytest.approx(reference, abs=1e-9)


@pytest.mark.parametrize("model", [LogisticRegression(in_features=1), SoftmaxRegression(in_features=1, num_classes=2)])
def test_separable_classes_without_a_penalty_have_no_optimum(model):
    x = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    y = torch.tensor([[0.0], [0.0], [1.0], [1.0]])
    with pytest.raises(ValueError, match="no finite optimum"):
        model.optimum(x, y if isinstance(model, LogisticRegression) else y.long())


def test_iris_without_a_penalty_has_no_optimum_and_with_one_it_has():
    dm = IrisDataModule()
    with pytest.raises(ValueError, match="no finite optimum"):
        SoftmaxRegression().optimum(dm.x, dm.y)
    assert SoftmaxRegression(l2=1e-3).optimum(dm.x, dm.y).loss > 0


@pytest.mark.parametrize("block", [16, 5, 1])
def test_least_squares_on_nist_longley_whatever_the_blocks(block):
    longley = PROBLEMS["Longley"]
    x = torch.tensor(longley.x, dtype=torch.float64)
    y = torch.tensor(longley.y, dtype=torch.float64).reshape(-1, 1)
    objective = Objective("squared_error", x, y)
    objective.block = block  # the blocked QR folds 1, 4 or 16 blocks of rows
    best = optimum(objective)
    estimate = torch.cat([best.b, best.w.flatten()])
    certified = torch.tensor(longley.estimates, dtype=torch.float64)
    digits = -torch.log10((estimate - certified).abs() / certified.abs())
    assert float(digits.min()) >= 12  # 14.6 measured (float64 from the data as written)


@pytest.mark.parametrize("data_loss", ["logistic", "softmax"])
def test_sums_over_row_blocks_do_not_depend_on_the_blocks(data_loss):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(101, 4, generator=generator, dtype=torch.float32)
    y = torch.randint(0, 3 if data_loss == "softmax" else 2, (101, 1), generator=generator)
    whole = Objective(data_loss, x, y, l2=0.1, num_classes=3)
    pieces = Objective(data_loss, x, y, l2=0.1, num_classes=3)
    pieces.block = 7
    theta = torch.randn(whole.size, generator=generator, dtype=torch.float64)
    assert whole.value(theta) == pytest.approx(pieces.value(theta), rel=1e-14)
    torch.testing.assert_close(whole.gradient(theta), pieces.gradient(theta), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(whole.hessian(theta), pieces.hessian(theta), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(optimum(whole).w, optimum(pieces).w, rtol=1e-9, atol=1e-12)
