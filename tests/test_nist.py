"""NIST's certified linear least-squares answers (StRD): the exact optimum gets them from float64
data, and says when a design is too ill-conditioned for float64 to be trusted."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import pytest
import torch

from lit_basics.reference import IllConditionedWarning, Objective, optimum
from tests.nist_strd import PROBLEMS, Problem, exact_solution


def certified_digits(estimates: list[float], certified: tuple[float, ...]) -> float:
    """The fewest correct significant digits over the estimates (LRE, as NIST's users score it)."""
    return min(16.0 if a == c else -math.log10(abs(a - c) / abs(c)) for a, c in zip(estimates, certified, strict=True))


def problem_tensors(problem: Problem) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.tensor(problem.features(), dtype=torch.float64)
    return x, torch.tensor(problem.y, dtype=torch.float64).reshape(-1, 1)


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_the_transcribed_data_give_the_certified_values_in_exact_arithmetic(name):
    problem = PROBLEMS[name]
    beta, std_errors = exact_solution(problem)
    assert certified_digits([float(b) for b in beta], problem.estimates) >= 13
    for se, certified in zip(std_errors, problem.std_errors, strict=True):
        assert se == pytest.approx(certified, rel=1e-12, abs=1e-300)


#: Certified digits the reference solver reaches from float64 data, measured: Norris 14.1, Pontius
#: 13.5, Filip 7.7 (κ = 5.2e9 after column scaling: the powers' float64 rounding alone costs ~9
#: digits), Longley 14.6, Wampler1-5 13.6, 13.2, 14.0, 11.5, 9.3.
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_the_exact_optimum_gets_at_least_7_certified_digits(name):
    problem = PROBLEMS[name]
    x, y = problem_tensors(problem)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        best = optimum(Objective("squared_error", x, y))
    estimates = [float(best.b), *best.w.flatten().tolist()]
    assert certified_digits(estimates, problem.estimates) >= 7
    ill = [w for w in caught if issubclass(w.category, IllConditionedWarning)]
    if name == "Filip":  # the one the warning is for: it names κ
        assert len(ill) == 1
        assert "κ = 5.2" in str(ill[0].message)
    else:
        assert not ill


def test_a_rank_deficient_design_warns_and_gets_the_minimum_norm_solution():
    x = torch.arange(6, dtype=torch.float64).reshape(-1, 1)
    features = torch.cat([x, 2 * x], dim=1)  # collinear columns
    y = 3 * x + 1
    with pytest.warns(IllConditionedWarning, match="rank-deficient"):
        best = optimum(Objective("squared_error", features, y))
    # Minimum norm over w1 + 2 w2 = 3 (in the scaled coordinates: still on that line, fits exactly).
    assert float(best.w[0] + 2 * best.w[1]) == pytest.approx(3.0, rel=1e-9)
    assert float(best.b) == pytest.approx(1.0, rel=1e-9)
    assert best.loss == pytest.approx(0.0, abs=1e-18)


@pytest.mark.parametrize("l2", [0.0, 0.5])
def test_fewer_rows_than_coefficients(l2):
    """A table of 4 rows and 6 inputs (a one-hot column of a level per row, say): without a
    penalty the fit interpolates (loss 0, the minimum-norm solution, a warning); with one the
    optimum is unique and is the ridge's closed form. QR gives such a design a short R."""
    generator = torch.Generator().manual_seed(5)
    x = torch.randn(4, 6, generator=generator, dtype=torch.float64)
    y = torch.randn(4, 1, generator=generator, dtype=torch.float64)
    objective = Objective("squared_error", x, y, l2=l2)
    design = torch.cat([x, torch.ones(4, 1, dtype=torch.float64)], dim=1)
    if l2 == 0:
        with pytest.warns(IllConditionedWarning, match="rank-deficient"):
            best = optimum(objective)
        assert best.loss == pytest.approx(0.0, abs=1e-25)
        theta = torch.cat([best.w.reshape(-1), best.b.reshape(-1)])
        torch.testing.assert_close(design @ theta, y.reshape(-1), rtol=0, atol=1e-12)
    else:
        best = optimum(objective)
        # mean((Dθ - y)²) + l2/2 ‖w‖²: (DᵀD + N l2/2 diag(1..1, 0)) θ = Dᵀy, solved directly.
        penalty = torch.diag(torch.tensor([4 * l2 / 2] * 6 + [0.0], dtype=torch.float64))
        theta = torch.linalg.solve(design.T @ design + penalty, design.T @ y).reshape(-1)
        torch.testing.assert_close(best.w.reshape(-1), theta[:6], rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(best.b.reshape(-1), theta[6:], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("l2", [0.0, 0.5])
def test_scaling_and_refinement_give_the_exact_answer_of_badly_scaled_columns(l2):
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(60, 4, generator=generator, dtype=torch.float64) * torch.tensor([1e-3, 1.0, 1e3, 1e5])
    y = x @ torch.randn(4, 1, generator=generator, dtype=torch.float64) + torch.randn(60, 1, generator=generator)
    best = optimum(Objective("squared_error", x, y, l2=l2))
    # The oracle: the normal equations (with the ridge) solved in exact rational arithmetic.
    design = [[Fraction(v) for v in row] + [Fraction(1)] for row in x.tolist()]
    target = [Fraction(v) for v in y.flatten().tolist()]
    ridge = Fraction(l2) * len(design) / 2
    gram = [[sum(d[i] * d[j] for d in design) + (ridge if i == j < 4 else 0) for j in range(5)] for i in range(5)]
    rhs = [sum(d[i] * t for d, t in zip(design, target, strict=True)) for i in range(5)]
    expected = torch.tensor([float(v) for v in _solve(gram, rhs)], dtype=torch.float64)
    torch.testing.assert_close(torch.cat([best.w.flatten(), best.b]), expected, rtol=1e-12, atol=0)


def _solve(matrix: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction]:
    n = len(rhs)
    a = [[*row[:], b] for row, b in zip(matrix, rhs, strict=True)]
    for col in range(n):
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            a[r] = [v - factor * w for v, w in zip(a[r], a[col], strict=True)]
    solution = [Fraction(0)] * n
    for r in reversed(range(n)):
        solution[r] = (a[r][n] - sum(a[r][c] * solution[c] for c in range(r + 1, n))) / a[r][r]
    return solution


def gradient_descent_fit(problem: Problem, updates: int):
    """The issue's recipe: float64, lr and momentum auto, the Legendre basis (polynomials) or
    standardized columns (Longley), the manual twin taking 1000 updates per Lightning step."""
    import lightning.pytorch as pl

    from lit_basics.callbacks import AutomaticStep
    from lit_basics.data import ArrayDataModule
    from lit_basics.models import LinearRegression, PolynomialRegression

    torch.manual_seed(0)
    common = {"lr": "auto", "momentum": "auto", "optimization": "manual", "updates_per_step": 1000}
    if problem.degree is None:
        dm = ArrayDataModule(x=problem.x, y=problem.y, scale="standardize", passes_per_epoch=1000)
        model = LinearRegression(in_features=len(problem.x[0]), **common)
    else:
        dm = ArrayDataModule(x=problem.x, y=problem.y, passes_per_epoch=1000)
        model = PolynomialRegression(degree=problem.degree, basis="legendre", **common)
    trainer = pl.Trainer(
        max_steps=updates,
        precision="64-true",
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[AutomaticStep()],
    )
    trainer.fit(model, dm)
    return model.coefficients(dm)


def se_digits(std_errors: list[float], certified: tuple[float, ...]) -> float:
    # Wampler1-2 fit exactly: certified standard errors 0, ours round-off (absolute digits then).
    return min(
        16.0 if a == c else -math.log10(abs(a - c) / abs(c) if c else abs(a))
        for a, c in zip(std_errors, certified, strict=True)
    )


def test_gradient_descent_reaches_filips_certified_values():
    """Filip's degree-10 polynomial by gradient descent: hopeless on powers of x (κ ≈ 1e20), 26
    in the Legendre basis; 2000 updates give 14 digits (the slow set runs all nine problems)."""
    table = gradient_descent_fit(PROBLEMS["Filip"], 2000)
    assert table.converged
    assert certified_digits(table.column("estimate"), PROBLEMS["Filip"].estimates) >= 6
    assert se_digits(table.column("std_error"), PROBLEMS["Filip"].std_errors) >= 4


#: Measured (20,000 updates, Longley 40,000): estimates 13.4, 13.4, 14.0, 14.0, 10.4, 13.4, 9.7,
#: 10.1, 8.7 certified digits; standard errors 13.7, 13.2, 14.7, 14.5, -, -, 13.6, 14.4, 14.4.
@pytest.mark.slow
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_gradient_descent_reaches_the_certified_values(name):
    problem = PROBLEMS[name]
    table = gradient_descent_fit(problem, 40_000 if name == "Longley" else 20_000)
    assert certified_digits(table.column("estimate"), problem.estimates) >= 6
    assert se_digits(table.column("std_error"), problem.std_errors) >= 4
