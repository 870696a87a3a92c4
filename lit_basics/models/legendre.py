"""The Legendre basis of a polynomial in ``x``: features, and the exact change to powers of ``x``.

``PolynomialRegression(basis="legendre")`` fits ``ŷ = b + Σ_{k=1..d} w_k P_k(t)`` with ``P_k`` the
Legendre polynomials and ``t = (x - c) / h`` the map of the training rows' ``[min, max]`` onto
``[-1, 1]`` (``c`` the midpoint, ``h`` the half-width). On ``[-1, 1]`` the ``P_k`` are orthogonal,
so the design is well conditioned at any degree (NIST's Filip, degree 10: κ of the Hessian 26,
where raw powers of ``x`` give 10²⁰). The same polynomial in powers of ``x``,
``ŷ = a_0 + a_1 x + ... + a_d x^d``, is ``a = T · [b, w]`` with ``T`` exact in rational arithmetic
(:func:`legendre_to_power`): each ``a_i`` is the correctly rounded value of the exact conversion
of the float64 coefficients.
"""

from __future__ import annotations

from fractions import Fraction
from math import comb

import torch

__all__ = ["change_to_powers", "legendre_features", "legendre_rows", "legendre_to_power", "power_to_legendre"]


def legendre_features(t: torch.Tensor, degree: int) -> torch.Tensor:
    """``[P_1(t), ..., P_degree(t)]`` by Bonnet's recurrence ``(k+1) P_{k+1} = (2k+1) t P_k - k P_{k-1}``:
    ``(N, 1) -> (N, degree)``, in ``t``'s dtype.

    Example:
        >>> legendre_features(torch.tensor([[0.5], [1.0]], dtype=torch.float64), 3).tolist()
        [[0.5, -0.125, -0.4375], [1.0, 1.0, 1.0]]
    """
    columns = [torch.ones_like(t), t]
    for k in range(1, degree):
        columns.append(((2 * k + 1) * t * columns[k] - k * columns[k - 1]) / (k + 1))
    return torch.cat(columns[1 : degree + 1], dim=1)


def legendre_rows(degree: int) -> list[list[Fraction]]:
    """Row ``k``: the coefficients of ``P_k(t)`` in powers ``t^0 .. t^degree``, exact."""
    rows = [[Fraction(1)] + [Fraction(0)] * degree, [Fraction(0), Fraction(1)] + [Fraction(0)] * (degree - 1)]
    for k in range(1, degree):
        shifted = [Fraction(0), *rows[k][:-1]]  # t · P_k
        rows.append([((2 * k + 1) * s - k * p) / (k + 1) for s, p in zip(shifted, rows[k - 1], strict=True)])
    return rows[: degree + 1]


def change_to_powers(degree: int, shift: Fraction, width: Fraction, *, legendre: bool = True) -> list[list[Fraction]]:
    """``T`` with ``T[i][m]`` the coefficient of ``x^i`` in ``B_m((x - shift) / width)``, exact:
    ``B_m`` the Legendre polynomial ``P_m`` (or the power ``t^m`` with ``legendre=False``).

    Example:
        >>> [[str(v) for v in row] for row in change_to_powers(2, Fraction(1), Fraction(1))]
        [['1', '-1', '1'], ['0', '1', '-3'], ['0', '0', '3/2']]
    """
    basis = (
        legendre_rows(degree)
        if legendre
        else [[Fraction(int(i == j)) for j in range(degree + 1)] for i in range(degree + 1)]
    )
    # t^j = ((x - shift) / width)^j = Σ_i C(j, i) x^i (-shift)^(j-i) / width^j
    powers_of_t = [
        [Fraction(comb(j, i)) * (-shift) ** (j - i) / width**j if i <= j else Fraction(0) for i in range(degree + 1)]
        for j in range(degree + 1)
    ]
    return [
        [sum((basis[m][j] * powers_of_t[j][i] for j in range(degree + 1)), Fraction(0)) for m in range(degree + 1)]
        for i in range(degree + 1)
    ]


def _exact_matrix(degree: int, center: float, half_range: float) -> list[list[Fraction]]:
    return change_to_powers(degree, Fraction(center), Fraction(half_range))


def legendre_to_power(coefficients: torch.Tensor, center: float, half_range: float) -> torch.Tensor:
    """``[b, w_1, ..., w_d]`` (Legendre, ``(d + 1,)``) -> ``[a_0, ..., a_d]`` (powers of ``x``),
    float64, each the correctly rounded value of the exact conversion.

    Example:
        >>> # P_2(t) = (3t² - 1)/2 with t = (x - 1)/1: 1.5x² - 3x + 1
        >>> legendre_to_power(torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64), 1.0, 1.0).tolist()
        [1.0, -3.0, 1.5]
    """
    degree = coefficients.numel() - 1
    exact = _exact_matrix(degree, center, half_range)
    values = [Fraction(float(v)) for v in coefficients.detach().cpu().to(torch.float64).flatten().tolist()]
    return torch.tensor(
        [float(sum((row[k] * values[k] for k in range(degree + 1)), Fraction(0))) for row in exact],
        dtype=torch.float64,
    )


def power_to_legendre(coefficients: torch.Tensor, center: float, half_range: float) -> torch.Tensor:
    """The inverse of :func:`legendre_to_power` (exact back substitution: ``T`` is upper triangular).

    Example:
        >>> power_to_legendre(torch.tensor([1.0, -3.0, 1.5], dtype=torch.float64), 1.0, 1.0).tolist()
        [0.0, 0.0, 1.0]
    """
    degree = coefficients.numel() - 1
    exact = _exact_matrix(degree, center, half_range)
    values = [Fraction(float(v)) for v in coefficients.detach().cpu().to(torch.float64).flatten().tolist()]
    solution = [Fraction(0)] * (degree + 1)
    for i in reversed(range(degree + 1)):
        rest = sum((exact[i][k] * solution[k] for k in range(i + 1, degree + 1)), Fraction(0))
        solution[i] = (values[i] - rest) / exact[i][i]
    return torch.tensor([float(v) for v in solution], dtype=torch.float64)
