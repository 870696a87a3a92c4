"""The exact optimum gradient descent is walking towards, computed directly in float64.

Every family minimises one training objective over ``(w, b)``::

    data loss(features(x) @ w + b, y)  +  l2 / 2 · ‖w‖²  +  l1 · ‖w‖₁        (b is not penalised)

with the data loss the mean squared error (linear, polynomial), the mean binary cross-entropy of
the logits (logistic) or the mean cross-entropy of the softmax (softmax). :class:`Objective` holds
that function with its gradient and Hessian; :func:`optimum` minimises it:

- squared error, ``l1 = 0``: least squares by a QR factorisation of the column-scaled design
  (ridge as an augmented least-squares problem) with iterative refinement in extended precision:
  NIST's certified answers to 7.7-14.6 digits from float64 data (:func:`_least_squares`);
- logistic and softmax, ``l1 = 0``: Newton's method with a backtracking line search;
- ``l1 > 0``: accelerated proximal gradient (FISTA) to find which weights are zero, then Newton on
  the weights that are not, adding and removing weights until the optimality conditions hold
  (the "feature-sign" active-set method): the result is exact to float64 rounding.

Used for ``train/loss_gap`` and by :mod:`lit_basics.diagnostics`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch
import torch.nn.functional as F
from scipy.linalg.blas import dsyrk

from lit_basics.errors import LitBasicsWarning

if TYPE_CHECKING:
    from lit_basics.data.shards import RowShards

__all__ = [
    "AffineView",
    "DataLoss",
    "IllConditionedWarning",
    "Objective",
    "Optimum",
    "Point",
    "least_squares_optimum",
    "logistic_optimum",
    "mean_bce_with_logits",
    "mean_squared_error",
    "optimum",
    "standardizing_matrix",
]

DataLoss = Literal["squared_error", "logistic", "softmax"]

#: Rows of the subsample whose optimum starts Newton's method on a large problem.
WARM_START_ROWS = 50_000


@dataclass(frozen=True)
class Optimum:
    """Optimal weights ``w`` (``(K, C)``; ``C = 1`` but for softmax), bias ``b`` (``(C,)``) and
    the value of the training objective there (float64)."""

    w: torch.Tensor
    b: torch.Tensor
    loss: float


@dataclass(frozen=True)
class Point:
    """The data loss at ``theta`` (float64, flat) and, up to ``order`` (0, 1, 2), its gradient
    ``(size,)`` and Hessian ``(size, size)``: means over the rows, on the CPU."""

    theta: torch.Tensor
    order: int
    value: float
    gradient: torch.Tensor | None
    hessian: torch.Tensor | None


class _Hessian:
    """``Σ_rows`` of the data loss's second derivative with respect to ``θ``, added block by block.

    A block ``D`` of design rows with the weights ``ω`` adds ``Dᵀ diag(ω) D``: squared error
    ``ω = 2``; logistic ``ω = p(1 - p)``; softmax, for the classes ``i, j``, ``ω = pᵢ(δᵢⱼ - pⱼ)``.
    The non-negative weights of a block on the CPU go through BLAS ``dsyrk`` on ``D·√ω`` (one
    triangle: half the multiplications of ``Dᵀ(ωD)``)."""

    def __init__(self, p: int, c: int, device: torch.device) -> None:
        self.p, self.c = p, c
        self.blocks = torch.zeros(p, c, p, c, dtype=torch.float64, device=device)
        self.upper = torch.zeros(c, p, p, dtype=torch.float64)  # triangles from dsyrk, class by class
        self.cpu = device.type == "cpu"

    def add(self, block: torch.Tensor, data_loss: str, probabilities: torch.Tensor | None) -> None:
        if data_loss == "squared_error":
            self._gram(block, 0, 0, None, 2.0)
            return
        assert probabilities is not None
        for i in range(self.c):
            p_i = probabilities[:, i : i + 1]
            self._gram(block, i, i, p_i * (1.0 - p_i), 1.0)
            for j in range(i + 1, self.c):
                self._gram(block, i, j, -p_i * probabilities[:, j : j + 1], 1.0)

    def _gram(self, block: torch.Tensor, i: int, j: int, weight: torch.Tensor | None, factor: float) -> None:
        if i == j and self.cpu:
            scaled = block if weight is None else block * weight.sqrt()
            self.upper[i] += torch.from_numpy(dsyrk(factor, scaled.numpy().T, trans=0))
            return
        product = block.T @ (block if weight is None else block * weight)
        self.blocks[:, i, :, j] += factor * product
        if i != j:
            self.blocks[:, j, :, i] += factor * product.T

    def total(self) -> torch.Tensor:
        """The sum so far, ``(p·c, p·c)`` (row-major ``(p, c)`` θ)."""
        total = self.blocks.clone()
        for i in range(self.c):
            upper = self.upper[i]
            total[:, i, :, i] += (upper + upper.T - torch.diag(upper.diagonal())).to(total.device)
        return total.reshape(self.p * self.c, self.p * self.c)


class Objective:
    """The training objective of a family on fixed data, as a function of ``θ = [w; b]``.

    ``θ`` is the flat float64 vector of the ``(K + 1, C)`` matrix whose first ``K`` rows are ``w``
    and whose last row is ``b``.

    Args:
        data_loss: ``"squared_error"``, ``"logistic"`` (0/1 targets) or ``"softmax"`` (class labels).
        features: ``(N, K)``, what multiplies ``w``.
        y: ``(N, 1)`` targets (real values, 0/1, or class labels ``0..C-1``).
        l2: weight of ``½‖w‖²`` (>= 0).
        l1: weight of ``‖w‖₁`` (>= 0).
        num_classes: ``C`` for softmax (1 otherwise).
        shards: when ``features`` are this process's shard of rows that several processes hold
            (DDP, a data module with ``shard=True``), the :class:`~lit_basics.data.shards.RowShards`
            that add the shards' sums: every method is then the objective on all the rows, and
            every process must call the same methods in the same order (they are collectives).
    """

    def __init__(
        self,
        data_loss: DataLoss,
        features: torch.Tensor,
        y: torch.Tensor,
        *,
        l2: float = 0.0,
        l1: float = 0.0,
        num_classes: int = 1,
        shards: RowShards | None = None,
    ) -> None:
        # The features are kept as given (float32 data is not copied to float64 whole): every sum
        # over rows runs over blocks of rows cast to float64, ~16 MB at a time.
        self.features = features.detach()
        self.data_loss = data_loss
        self.rows_here, self.k = self.features.shape
        self.shards = shards
        #: The rows of the objective: all processes' together.
        self.n = self.rows_here if shards is None else shards.total_rows
        self.c = num_classes if data_loss == "softmax" else 1
        self.block = max(1, (1 << 19) // (self.k + 1))
        target = y.detach().to(self.features.device).reshape(-1)
        self.labels = target.to(torch.int64) if data_loss == "softmax" else None
        self.y = target.to(torch.float64).reshape(-1, 1)
        self.l2, self.l1 = float(l2), float(l1)
        size = (self.k + 1) * self.c
        self.size = size
        #: Positions of the weights ``w`` in ``θ`` (the bias row is not penalised).
        self.weight_mask = torch.zeros(size, dtype=torch.bool)
        self.weight_mask[: self.k * self.c] = True
        self._unpenalised: torch.Tensor | None = None  # R of [design, y] without ridge rows (AffineView)

    def blocks(self) -> Iterator[tuple[slice, torch.Tensor]]:
        """The design ``[features, 1]`` in float64, a block of rows at a time: ``(rows, block)``.

        A design that fits in one block is built once and kept (small problems are solved with
        thousands of calls). A larger one is copied block by block into one buffer whose last
        column holds the ones: a block is valid until the next one is asked for.
        """
        if self.rows_here <= self.block:
            if getattr(self, "_design", None) is None:
                part = self.features.to(torch.float64)
                ones = torch.ones(self.rows_here, 1, dtype=torch.float64, device=part.device)
                self._design = torch.cat([part, ones], 1)
            yield slice(0, self.rows_here), self._design
            return
        buffer = torch.empty(self.block, self.k + 1, dtype=torch.float64, device=self.features.device)
        buffer[:, self.k] = 1.0
        for start in range(0, self.rows_here, self.block):
            rows = slice(start, min(start + self.block, self.rows_here))
            block = buffer[: rows.stop - start]
            block[:, : self.k].copy_(self.features[rows])
            yield rows, block

    # --- θ <-> (w, b) ------------------------------------------------------------------------
    def split(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(w, b)`` of shapes ``(K, C)`` and ``(C,)`` from ``θ``."""
        matrix = theta.reshape(self.k + 1, self.c)
        return matrix[:-1], matrix[-1]

    def join(self, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """``θ`` from ``w`` (``(K, C)`` or ``(K,)``) and ``b`` (``(C,)``)."""
        w64 = w.detach().to("cpu", torch.float64).reshape(self.k, self.c)
        b64 = b.detach().to("cpu", torch.float64).reshape(1, self.c)
        return torch.cat([w64, b64]).reshape(-1)

    # --- the function and its derivatives ------------------------------------------------------
    def evaluate(self, theta: torch.Tensor, order: int = 2) -> Point:
        """The data loss at ``θ`` and, up to ``order``, its gradient and Hessian: one pass over
        the rows (every shard's) for all three. The last point is kept: Newton's method asks for
        all three at each point it visits, the diagnosis and the coefficient table again."""
        key = theta.detach().to("cpu", torch.float64).reshape(-1).clone()
        cached = getattr(self, "_point", None)
        if cached is not None and cached.order >= order and torch.equal(cached.theta, key):
            return cached
        point = self._sweep(key, order)
        self._point = point
        return point

    def _sweep(self, theta: torch.Tensor, order: int) -> Point:
        device = self.features.device
        matrix = theta.to(device).reshape(self.k + 1, self.c)
        loss = torch.zeros(1, dtype=torch.float64, device=device)
        gradient = torch.zeros(self.k + 1, self.c, dtype=torch.float64, device=device)
        hessian = _Hessian(self.k + 1, self.c, device) if order >= 2 else None
        for rows, block in self.blocks():
            total, residual, probabilities = self._terms(block @ matrix, rows)
            loss += total
            if order >= 1:
                gradient.addmm_(block.T, residual)
            if hessian is not None:
                hessian.add(block, self.data_loss, probabilities)
        parts = [loss, gradient.reshape(-1)] + ([] if hessian is None else [hessian.total().reshape(-1)])
        sums = (self._sum(torch.cat(parts)) / self.n).cpu()  # one reduction across the shards
        size = self.size
        return Point(
            theta,
            order,
            float(sums[0]),
            sums[1 : 1 + size] if order >= 1 else None,
            sums[1 + size :].reshape(size, size) if hessian is not None else None,
        )

    def _terms(self, z: torch.Tensor, rows: slice) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """The rows' summed data loss from their logits ``z`` ``(rows, C)``, its derivative with
        respect to them (``(rows, C)``) and, for the classifiers, the predicted probabilities."""
        y = self.y[rows]
        if self.data_loss == "squared_error":
            error = z - y
            return error.pow(2).sum().reshape(1), 2.0 * error, None
        if self.data_loss == "logistic":
            p = torch.sigmoid(z)
            return F.binary_cross_entropy_with_logits(z, y, reduction="sum").reshape(1), p - y, p
        assert self.labels is not None
        labels = self.labels[rows]
        p = torch.softmax(z, dim=1)
        total = F.cross_entropy(z, labels, reduction="sum").reshape(1)
        return total, p - F.one_hot(labels, self.c).to(torch.float64), p

    def data_value(self, theta: torch.Tensor) -> float:
        """The data loss alone."""
        return self.evaluate(theta, 0).value

    # --- sums over the rows of every shard -----------------------------------------------------
    def _sum(self, total: torch.Tensor) -> torch.Tensor:
        """``total``, a sum over this process's rows, summed over every shard's."""
        return total if self.shards is None else self.shards.sum(total)

    def _max(self, top: torch.Tensor) -> torch.Tensor:
        return top if self.shards is None else self.shards.max(top)

    def smooth_value(self, theta: torch.Tensor) -> float:
        """Data loss + ``l2/2 ‖w‖²``."""
        w = theta[self.weight_mask]
        return self.data_value(theta) + 0.5 * self.l2 * float(w @ w)

    def value(self, theta: torch.Tensor) -> float:
        """The whole objective: data loss + ``l2/2 ‖w‖²`` + ``l1 ‖w‖₁``."""
        return self.smooth_value(theta) + self.l1 * float(theta[self.weight_mask].abs().sum())

    def values(self, thetas: torch.Tensor) -> torch.Tensor:
        """:meth:`value` at many points at once: ``thetas`` ``(P, size)`` -> ``(P,)``, float64
        (one output per sample: ``C = 1``)."""
        if self.c != 1:
            raise ValueError("values() evaluates one-output objectives only")
        thetas = thetas.to(device=self.features.device, dtype=torch.float64)
        data = torch.zeros(thetas.shape[0], dtype=torch.float64, device=thetas.device)
        # (rows, P) logits and (rows, K) float64 features: blocks of ~16 MB each, whatever P.
        step = max(1, min(self.block, self.block * (self.k + 1) // max(thetas.shape[0], 1)))
        for start in range(0, self.rows_here, step):
            rows = slice(start, min(start + step, self.rows_here))
            part = self.features[rows].to(torch.float64)
            z = part @ thetas[:, :-1].T + thetas[:, -1]  # (rows, P)
            y = self.y[rows]
            if self.data_loss == "squared_error":
                data += (z - y).pow(2).sum(dim=0)
            else:
                data += F.binary_cross_entropy_with_logits(z, y.expand_as(z), reduction="none").sum(dim=0)
        data = self._sum(data)
        w = thetas[:, self.weight_mask.to(thetas.device)]
        return (data / self.n + 0.5 * self.l2 * w.pow(2).sum(dim=1) + self.l1 * w.abs().sum(dim=1)).cpu()

    def data_gradient(self, theta: torch.Tensor) -> torch.Tensor:
        """Gradient of the data loss alone, flat, on the CPU."""
        gradient = self.evaluate(theta, 1).gradient
        assert gradient is not None
        return gradient.clone()

    def gradient(self, theta: torch.Tensor) -> torch.Tensor:
        """Gradient of the smooth part (data loss + ``l2/2 ‖w‖²``), flat, on the CPU."""
        return self.data_gradient(theta) + self.l2 * theta * self.weight_mask

    def score_outer(
        self, theta: torch.Tensor, weight: Callable[[slice, torch.Tensor], torch.Tensor] | None = None
    ) -> torch.Tensor:
        """``Σᵢ ωᵢ sᵢ sᵢᵀ`` over the rows (every shard's): ``sᵢ`` row ``i``'s score, the gradient
        of its term of the summed data loss with respect to ``θ`` (least squares: its residual
        ``yᵢ - ŷᵢ`` times its design row, not twice that), ``ωᵢ = weight(rows, block)`` (default
        1): the "meat" of a sandwich covariance. ``(size, size)``, on the CPU."""
        matrix = theta.detach().to(self.features.device, torch.float64).reshape(self.k + 1, self.c)
        total = torch.zeros(self.size, self.size, dtype=torch.float64, device=self.features.device)
        for rows, block in self.blocks():
            _, r, _ = self._terms(block @ matrix, rows)
            if self.data_loss == "squared_error":
                r = r / 2.0
            scores = (block.unsqueeze(2) * r.unsqueeze(1)).reshape(block.shape[0], -1)  # kron(dᵢ, rᵢ)
            weighted = scores if weight is None else scores * weight(rows, block).unsqueeze(1)
            total += weighted.T @ scores
        return self._sum(total).cpu()

    def hessian(self, theta: torch.Tensor) -> torch.Tensor:
        """Hessian of the smooth part, ``(size, size)``, on the CPU."""
        return self.data_hessian(theta) + torch.diag(self.l2 * self.weight_mask.to(torch.float64))

    def data_hessian(self, theta: torch.Tensor) -> torch.Tensor:
        """Hessian of the data loss alone, ``(size, size)``, on the CPU."""
        hessian = self.evaluate(theta, 2).hessian
        assert hessian is not None
        return hessian.clone()

    def gram(self) -> torch.Tensor:
        """``DᵀD / N`` of the design ``D = [features, 1]``, ``(K + 1, K + 1)``, on the CPU."""
        total = _Hessian(self.k + 1, 1, self.features.device)
        for _, block in self.blocks():
            total.add(block, "squared_error", None)
        return (self._sum(total.total()) / (2 * self.n)).cpu()

    def column_moments(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Each feature's mean and standard deviation (ddof 0) over the rows, float64 ``(K,)``:
        two passes over blocks of rows (the deviations from the mean, not ``E[x²] - E[x]²``)."""
        total = torch.zeros(self.k, dtype=torch.float64, device=self.features.device)
        for _, block in self.blocks():
            total += block[:, :-1].sum(dim=0)
        mean = self._sum(total) / self.n
        squares = torch.zeros_like(mean)
        for _, block in self.blocks():
            squares += (block[:, :-1] - mean).pow(2).sum(dim=0)
        return mean.cpu(), (self._sum(squares) / self.n).sqrt().cpu()

    def subsample(self, rows: int) -> Objective:
        """The same objective on every ``N // rows``-th row (at least ``rows`` of them): a cheap
        problem whose optimum is a good start for Newton's method on this one."""
        step = max(1, self.n // rows)
        y = self.labels if self.labels is not None else self.y
        assert y is not None
        shards = None
        if self.shards is not None:
            from lit_basics.data.shards import RowShards

            # every shard's every step-th row: a sharded subsample
            shards = RowShards(self.shards.strategy, int(self.shards.sum(torch.tensor([-(-self.rows_here // step)]))))
        return Objective(
            self.data_loss, self.features[::step], y[::step], l2=self.l2, l1=self.l1, num_classes=self.c, shards=shards
        )

    def curvature_bound(self) -> float:
        """An upper bound of the Hessian's largest eigenvalue, anywhere (a step size ``1/L``)."""
        gram = float(torch.linalg.eigvalsh(self.gram())[-1])
        scale = {"squared_error": 2.0, "logistic": 0.25, "softmax": 0.5}[self.data_loss]
        return scale * gram + self.l2

    def column_norms(self) -> torch.Tensor:
        """The Euclidean norm of each column of the design ``[features, 1]``, float64 ``(K + 1,)``
        (1 for a column of zeros): the scale that equilibrates the columns before the QR."""
        total = torch.zeros(self.k + 1, dtype=torch.float64, device=self.features.device)
        for _, block in self.blocks():
            top = block.abs().amax(dim=0)
            total = torch.maximum(total, top)
        total = self._max(total)
        # Sums of squares of the columns divided by their maxima: no overflow or underflow.
        peak = torch.where(total > 0, total, torch.ones_like(total))
        squares = torch.zeros_like(total)
        for _, block in self.blocks():
            squares += (block / peak).pow(2).sum(dim=0)
        squares = self._sum(squares)
        return (peak * squares.sqrt()).where(total > 0, torch.ones_like(total)).cpu()

    def least_squares_r(self, scale: torch.Tensor | None = None) -> torch.Tensor:
        """``R`` of the QR factorisation of ``[D S, y]`` (``D = [features, 1]``, ``S = diag(1 /
        scale)``, default ``S = I``; ridge rows appended), ``(K + 2, K + 2)``: the rows' QR folded
        block by block (TSQR), in float64. Its leading ``(K+1)`` square and last column give the
        least-squares problem ``R₁ z = Qᵀy``, ``θ = S z``, with the design's conditioning, not its
        square (as the normal equations would)."""
        inverse = None if scale is None else (1.0 / scale.to(torch.float64)).to(self.features.device)

        def rows_of(rows: slice, block: torch.Tensor) -> torch.Tensor:
            return torch.cat([block if inverse is None else block * inverse, self.y[rows]], dim=1)

        return self._with_ridge_rows(self._folded_r(rows_of, self.k + 2), inverse)

    def design_r(self) -> torch.Tensor:
        """``R`` of the QR factorisation of the design ``[features, 1]`` alone, ``(K + 1, K + 1)``
        (as :meth:`least_squares_r`, without the targets, the scaling or the ridge rows)."""
        return self._folded_r(lambda rows, block: block, self.k + 1)

    def _folded_r(self, rows_of: Callable[[slice, torch.Tensor], torch.Tensor], size: int) -> torch.Tensor:
        """The ``R`` of the rows ``rows_of(rows, block)`` of every block (``size`` columns): each
        block's QR folded into the last (TSQR), then across the shards; on the CPU."""
        r: torch.Tensor | None = None
        for rows, block in self.blocks():
            stacked = rows_of(rows, block)
            r = torch.linalg.qr(stacked if r is None else torch.cat([r, stacked]), mode="r").R
        assert r is not None
        if r.shape[0] < size:  # fewer rows than columns: a short R, completed with zero rows (same RᵀR)
            r = torch.cat([r, torch.zeros(size - r.shape[0], size, dtype=r.dtype, device=r.device)])
        if self.shards is not None:  # TSQR across the shards: the QR of their R factors stacked
            r = torch.linalg.qr(self.shards.gather(r.contiguous()).reshape(-1, size), mode="r").R
        return r.cpu()

    def _with_ridge_rows(self, r: torch.Tensor, inverse: torch.Tensor | None) -> torch.Tensor:
        if self.l2 <= 0:
            return r
        # mean((Dθ - y)²) + l2/2 ‖w‖²  =  ‖[D S; √(N l2 / 2) S_w] z - [y; 0]‖² / N
        diagonal = torch.full((self.k + 2,), math.sqrt(self.n * self.l2 / 2), dtype=torch.float64)
        if inverse is not None:
            diagonal[: self.k + 1] *= inverse.cpu()
        ridge = torch.diag(diagonal)[: self.k]
        return torch.linalg.qr(torch.cat([r, ridge]), mode="r").R

    def normal_residual(self, theta: torch.Tensor) -> torch.Tensor:
        """``Dᵀ(y - Dθ) - N l2/2 · [w; 0]`` (zero at the least-squares optimum), ``(K + 1,)``,
        accumulated in extended precision (``numpy.longdouble``: 64-bit significands on x86) so
        that iterative refinement can correct the float64 solution's rounding."""
        t = theta.detach().to("cpu", torch.float64).numpy().astype(np.longdouble)
        total = np.zeros(self.k + 1, dtype=np.longdouble)
        for rows, block in self.blocks():
            d = block.cpu().numpy().astype(np.longdouble)
            residual = self.y[rows].cpu().numpy()[:, 0].astype(np.longdouble) - d @ t
            total += d.T @ residual
        if self.shards is not None:
            total = self.shards.sum_longdouble(total)
        total[: self.k] -= np.longdouble(self.n * self.l2 / 2) * t[: self.k]
        return torch.from_numpy(total.astype(np.float64))


class AffineView(Objective):
    """``objective`` on the design ``D·M`` instead of ``D = [features, 1]``: the same rows with
    their inputs mapped by the ``(K + 1) x (K + 1)`` matrix ``M`` (standardised inputs
    ``(x - m) / s``: :func:`standardizing_matrix`), the penalties on the new weights. Every sum over
    rows is the wrapped objective's, mapped: no copy of the data.

    Its parameters ``θ'`` give the logits ``D·M·Θ'``: the wrapped objective at ``Θ = M·Θ'``.
    """

    def __init__(self, objective: Objective, matrix: torch.Tensor) -> None:
        self.inner = objective
        self.matrix = matrix.to(torch.float64)
        self.data_loss = objective.data_loss
        self.n, self.k, self.c = objective.n, objective.k, objective.c
        self.rows_here, self.shards = objective.rows_here, objective.shards
        self.features, self.block = objective.features, objective.block
        self.labels, self.y = objective.labels, objective.y
        self.l2, self.l1 = objective.l2, objective.l1
        self.size, self.weight_mask = objective.size, objective.weight_mask
        # θ = T θ' for the flat (row-major (K+1, C)) vectors: T = M ⊗ I_C.
        self.transform = torch.kron(self.matrix, torch.eye(self.c, dtype=torch.float64))
        self._unpenalised = None

    def inner_theta(self, theta: torch.Tensor) -> torch.Tensor:
        return self.transform @ theta.to(torch.float64)

    def blocks(self) -> Iterator[tuple[slice, torch.Tensor]]:
        for rows, block in self.inner.blocks():
            yield rows, block @ self.matrix.to(block.device)

    def evaluate(self, theta: torch.Tensor, order: int = 2) -> Point:
        # The wrapped objective's point, mapped: ∇' = Tᵀ∇, H' = TᵀHT (its last point is kept).
        inner = self.inner.evaluate(self.inner_theta(theta), order)
        t = self.transform
        gradient = None if inner.gradient is None else t.T @ inner.gradient
        hessian = None if inner.hessian is None else t.T @ inner.hessian @ t
        return Point(theta.detach().to(torch.float64).reshape(-1), order, inner.value, gradient, hessian)

    def gram(self) -> torch.Tensor:
        return self.matrix.T @ self.inner.gram() @ self.matrix

    def subsample(self, rows: int) -> Objective:
        return AffineView(self.inner.subsample(rows), self.matrix)

    def values(self, thetas: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("values() of a mapped objective: evaluate the wrapped one")

    def least_squares_r(self, scale: torch.Tensor | None = None) -> torch.Tensor:
        # The wrapped [D, y]'s R, unpenalised, mapped: [R_D M S, Qᵀy] has the same QR as [D M S, y].
        r = AffineView._unpenalised_r(self.inner)
        p = self.k + 1
        inverse = None if scale is None else 1.0 / scale.to(torch.float64)
        matrix = self.matrix if inverse is None else self.matrix * inverse
        mapped = torch.cat([r[:, :p] @ matrix, r[:, p:]], dim=1)
        return self._with_ridge_rows(torch.linalg.qr(mapped, mode="r").R, inverse)

    def column_norms(self) -> torch.Tensor:
        # From the wrapped design's R (no pass over the rows): the columns of D M have the norms
        # of the columns of R_D M.
        r = AffineView._unpenalised_r(self.inner)[: self.k + 1, : self.k + 1]
        norms = (r @ self.matrix).norm(dim=0)
        return norms.where(norms > 0, torch.ones_like(norms))

    @staticmethod
    def _unpenalised_r(objective: Objective) -> torch.Tensor:
        cached = objective._unpenalised
        if cached is not None:
            return cached
        l2 = objective.l2
        try:
            objective.l2 = 0.0
            r = objective.least_squares_r()
        finally:
            objective.l2 = l2
        objective._unpenalised = r
        return r

    def normal_residual(self, theta: torch.Tensor) -> torch.Tensor:
        # Mᵀ times the wrapped objective's, unpenalised, and this view's own penalty.
        inner = self.inner
        l2 = inner.l2
        try:
            inner.l2 = 0.0
            data = self.matrix.T @ inner.normal_residual(self.matrix @ theta.to(torch.float64))
        finally:
            inner.l2 = l2
        data[: self.k] -= self.n * self.l2 / 2 * theta.to(torch.float64)[: self.k]
        return data


def standardizing_matrix(mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``M`` with ``[x, 1] · M = [(x - mean) / std, 1]``: ``(K + 1, K + 1)``.

    Example:
        >>> m = standardizing_matrix(torch.tensor([1.0]), torch.tensor([2.0]))
        >>> (torch.tensor([[5.0, 1.0]], dtype=torch.float64) @ m).tolist()
        [[2.0, 1.0]]
    """
    k = mean.numel()
    matrix = torch.eye(k + 1, dtype=torch.float64)
    matrix[:k, :k] = torch.diag(1.0 / std.to(torch.float64))
    matrix[k, :k] = -mean.to(torch.float64) / std.to(torch.float64)
    return matrix


class NoOptimumError(ValueError):
    """The objective has no finite minimiser (e.g. separable classes without a penalty)."""


#: Why a classifier without a penalty has no finite optimum, in R's words and with the remedy.
SEPARATED = (
    "no finite optimum: a combination of the inputs separates the classes (complete or quasi-complete "
    "separation; R's glm says 'fitted probabilities numerically 0 or 1 occurred'), so the likelihood "
    "keeps growing with the weights; a small l2 penalty makes the optimum finite (--model.init_args.l2=0.01)"
)


def _solve(matrix: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    # gelsd (SVD) copes with singular systems, e.g. softmax, whose loss does not change when the
    # same number is added to every class's logit: the minimum-norm Newton step ignores that direction.
    return torch.linalg.lstsq(matrix, rhs.unsqueeze(1), driver="gelsd").solution.squeeze(1)


def _newton(
    objective: Objective, theta: torch.Tensor, free: torch.Tensor, linear: torch.Tensor, *, max_iter: int = 100
) -> torch.Tensor:
    """Minimise ``smooth_value(θ) + linear · θ`` over the entries ``free`` (the others stay as they are)."""

    def value(t: torch.Tensor) -> float:
        return objective.smooth_value(t) + float(linear @ t)

    theta = theta.clone()
    objective.evaluate(theta, 2)  # the value, gradient and Hessian in one pass
    current = value(theta)
    for _ in range(max_iter):
        gradient = (objective.gradient(theta) + linear)[free]
        hessian = objective.hessian(theta)[free][:, free]
        step = _solve(hessian, -gradient)
        slope = float(gradient @ step)  # -(Newton decrement)²: twice what a full step would gain
        if -slope <= 1e-20 * max(1.0, abs(current)):  # below float64's resolution of the value
            return theta
        scale = 1.0
        while True:
            candidate = theta.clone()
            candidate[free] += scale * step
            # A full step is nearly always taken: its pass brings the next step's derivatives too.
            objective.evaluate(candidate, 2 if scale == 1.0 else 0)
            candidate_value = value(candidate)
            if candidate_value <= current + 1e-4 * scale * slope:
                break
            scale /= 2
            if scale < 1e-12:  # no decrease left within float64 rounding: converged
                return theta
        if candidate_value >= current:  # an accepted step that gains nothing: converged
            return theta
        theta, current = candidate, candidate_value
        if not math.isfinite(current) or float(theta.abs().max()) > 1e8:
            break
    raise NoOptimumError(f"{SEPARATED} (Newton's method did not converge in {max_iter} steps)")


def _fista(objective: Objective, iterations: int) -> torch.Tensor:
    """Accelerated proximal gradient on the whole objective, from zero (with restarts)."""
    step = 1.0 / objective.curvature_bound()
    mask = objective.weight_mask
    theta = torch.zeros(objective.size, dtype=torch.float64)
    z, t, best = theta.clone(), 1.0, objective.value(theta)
    threshold = objective.l1 * step
    for _ in range(iterations):
        new = z - step * objective.gradient(z)
        new[mask] = torch.sign(new[mask]) * (new[mask].abs() - threshold).clamp_min(0.0)
        new_value = objective.value(new)
        if new_value > best:  # restart the momentum (O'Donoghue & Candès)
            z, t = theta.clone(), 1.0
            continue
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        z = new + ((t - 1) / t_next) * (new - theta)
        if best - new_value <= 1e-15 * max(1.0, abs(best)):
            return new
        theta, t, best = new, t_next, new_value
    return theta


def _l1_optimum(objective: Objective) -> torch.Tensor:
    """Feature-sign active-set method: exact minimiser of the objective with ``l1 > 0``."""
    mask = objective.weight_mask
    weights = mask.nonzero().flatten().tolist()
    theta = _fista(objective, 3000)
    scale = float(theta[mask].abs().max()) if bool(mask.any()) else 0.0
    signs = {j: float(torch.sign(theta[j])) for j in weights if abs(float(theta[j])) > 1e-9 * max(scale, 1e-300)}
    theta[mask] = 0.0
    for j, s in signs.items():
        theta[j] = s * 1e-12  # a point with the active set's signs (values are re-solved below)
    for _ in range(4 * len(weights) + 20):
        free = ~mask
        linear = torch.zeros_like(theta)
        for j, s in signs.items():
            free[j] = True
            linear[j] = objective.l1 * s
        new = _newton(objective, theta, free, linear)
        # Signs must hold: walk from theta towards new until the first weight reaches zero.
        crossing = [(float(theta[j]) / float(theta[j] - new[j]), j) for j, s in signs.items() if float(new[j]) * s <= 0]
        if crossing:
            fraction, first = min(crossing)
            theta = theta + max(0.0, min(1.0, fraction)) * (new - theta)
            for _, j in crossing:
                if float(theta[j]) * signs[j] <= 1e-300 or j == first:
                    theta[j] = 0.0
                    del signs[j]
            continue
        theta = new
        gradient = objective.gradient(theta)
        violations = [
            (abs(float(gradient[j])), j)
            for j in weights
            if j not in signs and abs(float(gradient[j])) > objective.l1 * (1 + 1e-10) + 1e-14
        ]
        if not violations:
            return theta
        _, j = max(violations)
        signs[j] = -float(torch.sign(gradient[j]))
        theta[j] = signs[j] * 1e-12
    raise RuntimeError("l1 optimum: the active-set method did not settle (please report this data)")


def _check_attained(objective: Objective, theta: torch.Tensor) -> None:
    """Refuse a classification "optimum" that Newton only approached at infinity.

    Without a penalty, separable classes have no minimiser: the loss falls towards 0 (or, for
    classes separable from the rest, towards a floor) as ``‖w‖`` grows, and the Hessian becomes
    singular along that direction. Softmax is flat, by construction, along adding one number to
    every class's weight for the same feature (``K + 1`` directions): only further flat
    directions count.
    """
    if objective.data_value(theta) < 1e-8:
        raise NoOptimumError(SEPARATED)
    eigenvalues = torch.linalg.eigvalsh(objective.hessian(theta))
    flat = int((eigenvalues <= 1e-9 * float(eigenvalues[-1])).sum())
    if flat > (objective.k + 1 if objective.data_loss == "softmax" else 0):
        gram = torch.linalg.eigvalsh(objective.gram())
        if float(gram[0]) <= 1e-12 * float(gram[-1]):  # the design itself: collinear inputs
            raise NoOptimumError(
                "no unique optimum: the inputs are collinear (a data module leaves such inputs out, as R "
                "does; with your own arrays, leave them out, or a small l2 penalty makes it unique)"
            )
        raise NoOptimumError(SEPARATED)


class IllConditionedWarning(LitBasicsWarning):
    """The least-squares design is so ill-conditioned that float64 data leave few correct digits."""


#: Below this many trustworthy digits (``-log10(κ · u)``, ``u`` float64's unit roundoff) the exact
#: optimum warns: the rounding of the data alone moves the estimates by ``κ · u`` relative.
TRUSTED_DIGITS = 8.0


def _least_squares(objective: Objective) -> torch.Tensor:
    """The least-squares optimum ``θ`` (squared error, ``l1 = 0``), exact to float64 rounding of
    well-posed problems and to ``κ · u`` of ill-conditioned ones.

    1. The design's columns are scaled to unit norm (equilibration: ``κ`` of ``D S`` is at most
       ``√p`` times the smallest any column scaling gives; raw powers of ``x`` differ by 10¹⁰).
    2. The QR factorisation of ``[D S, y]`` (Householder, folded over blocks of rows) gives
       ``R₁ z = Qᵀy``, solved by back substitution.
    3. Iterative refinement: the residual of the normal equations ``Sᵀ(Dᵀ(y - Dθ) - ...)`` is
       accumulated in extended precision and the correction solved with the same ``R``
       (corrected semi-normal equations, Björck); a few rounds remove the ``κ² u`` error that
       float64 residuals would leave.

    NIST's StRD problems: ≥ 7.7 certified digits on all nine, from float64 data (the tests).
    A rank-deficient design (``κ`` beyond float64) gets the minimum-norm solution (SVD) and a
    warning; so does an ill-conditioned one, naming ``κ``.
    """
    p = objective.k + 1
    scale = objective.column_norms()
    r = objective.least_squares_r(scale)
    r1, qty = r[:p, :p], r[:p, p:]
    singular = torch.linalg.svdvals(r1)
    kappa = float(singular[0] / singular[-1]) if float(singular[-1]) > 0 else math.inf
    unit = torch.finfo(torch.float64).eps / 2
    if not kappa * unit * p < 1e-2:
        warnings.warn(
            f"the least-squares design is rank-deficient or nearly so (condition number κ = {kappa:.3g} after "
            "scaling its columns): its optimum is not unique in float64; using the minimum-norm one",
            IllConditionedWarning,
            stacklevel=3,
        )
        return torch.linalg.lstsq(r1, qty, driver="gelsd").solution.reshape(-1) / scale
    if -math.log10(kappa * unit) < TRUSTED_DIGITS:
        warnings.warn(
            f"the least-squares design is ill-conditioned (condition number κ = {kappa:.3g} after scaling its "
            f"columns): the float64 rounding of the data alone can move the estimates in their "
            f"{max(1, math.floor(-math.log10(kappa * unit)) + 1)}th significant digit"
            " (for a polynomial: basis='legendre' is well conditioned)",
            IllConditionedWarning,
            stacklevel=3,
        )
    z = torch.linalg.solve_triangular(r1, qty, upper=True).reshape(-1)
    theta = z / scale
    if kappa < 1e3 and objective.n > objective.block:
        # Float64 QR is already within a few units of rounding: no passes over a large table.
        return theta
    previous = math.inf
    for _ in range(5):
        gradient = (objective.normal_residual(theta) / scale).reshape(-1, 1)
        step = torch.linalg.solve_triangular(r1.T, gradient, upper=False)
        dz = torch.linalg.solve_triangular(r1, step, upper=True).reshape(-1)
        size = float((dz / scale).norm() / max(float(theta.norm()), 1e-300))
        if size >= previous:  # no longer contracting: rounding level reached
            break
        theta = theta + dz / scale
        previous = size
        if size <= 4 * unit:
            break
    return theta


def optimum(objective: Objective, start: torch.Tensor | None = None) -> Optimum:
    """The minimiser of ``objective`` and its value, in float64.

    Args:
        objective: the function to minimise.
        start: where Newton's method starts (logistic, softmax), e.g. a nearby problem's optimum;
            default the optimum of a subsample on a large problem, else zero.

    Raises:
        ValueError: the objective has no finite minimiser (separable classes with ``l2 = 0``).
    """
    if objective.l1 > 0:
        theta = _l1_optimum(objective)
    elif objective.data_loss == "squared_error":
        theta = _least_squares(objective)
    else:
        if start is None and objective.n > 4 * WARM_START_ROWS:
            # Newton from the optimum of every k-th row: a few full passes instead of ~10.
            try:
                start = _newton(
                    objective.subsample(WARM_START_ROWS),
                    torch.zeros(objective.size, dtype=torch.float64),
                    torch.ones(objective.size, dtype=torch.bool),
                    torch.zeros(objective.size, dtype=torch.float64),
                )
            except NoOptimumError:
                start = None
        if start is None:
            start = torch.zeros(objective.size, dtype=torch.float64)
        theta = _newton(
            objective,
            start,
            torch.ones(objective.size, dtype=torch.bool),
            torch.zeros(objective.size, dtype=torch.float64),
        )
        if objective.l2 == 0:
            _check_attained(objective, theta)
    w, b = objective.split(theta)
    return Optimum(w.clone(), b.clone(), objective.value(theta))


# --- the notes' unpenalised problems, by name ---------------------------------------------------


def least_squares_optimum(features: torch.Tensor, y: torch.Tensor) -> Optimum:
    """Minimise ``mean((features @ w + b - y)^2)`` exactly.

    Example:
        >>> x = torch.tensor([[0.0], [1.0], [2.0]])
        >>> opt = least_squares_optimum(x, 2 * x + 1)
        >>> [round(v, 6) for v in opt.w.flatten().tolist()], round(opt.b.item(), 6), round(opt.loss, 12)
        ([2.0], 1.0, 0.0)
    """
    return optimum(Objective("squared_error", features, y))


def logistic_optimum(features: torch.Tensor, y: torch.Tensor) -> Optimum:
    """The maximum-likelihood logistic regression (Newton's method).

    Raises:
        ValueError: no finite optimum (separable classes).
    """
    return optimum(Objective("logistic", features, y))


def mean_squared_error(features: torch.Tensor, y: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> float:
    """``mean((features @ w + b - y)^2)`` in float64."""
    residual = features.double() @ w.double() + b.double() - y.double()
    return float(residual.pow(2).mean())


def mean_bce_with_logits(features: torch.Tensor, y: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> float:
    """Mean binary cross-entropy of the logits ``features @ w + b`` against 0/1 ``y``, in float64."""
    logits = features.double() @ w.double() + b.double()
    return float(F.binary_cross_entropy_with_logits(logits, y.double()))
