"""Polynomial regression on the notes' cubic (多项式回归)."""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import nn
from typing_extensions import override

from lit_basics.errors import ArgumentError
from lit_basics.models.base import DEFAULT_UPDATES_PER_STEP, GradientDescentModule, Optimization, StdErrors
from lit_basics.models.legendre import legendre_features, legendre_to_power
from lit_basics.models.linear import mean_squared_error
from lit_basics.validation import check_choice, check_positive_int

__all__ = ["PolynomialRegression"]


class PolynomialRegression(GradientDescentModule):
    """``ŷ = Σ_{i=1..degree} w_i x^i + b`` (``basis="power"``, the notes) or
    ``ŷ = Σ_{k=1..degree} w_k P_k(t) + b`` (``basis="legendre"``) with mean squared error loss.

    ``forward`` takes raw ``x`` of shape ``(N, 1)`` and builds the features (``(N, degree)``)
    itself, so prediction works on raw inputs. ``w`` is ``(degree, 1)``, ``b`` ``(1,)``, ``ŷ``
    ``(N, 1)``. The notes' exercise, fitting the cubic with a quadratic, is ``degree=2``.

    In the Legendre basis ``P_k`` is the k-th Legendre polynomial and ``t = (x - c) / h`` maps the
    training rows' ``[min x, max x]`` onto ``[-1, 1]``: learned at the start of a fit
    (:meth:`learn_input_map`), kept in the buffers ``x_center`` and ``x_half_range`` (and so in
    every checkpoint). The design is then well conditioned at any degree (the notes' cubic: κ 273
    in powers of ``x``, 6.4 in this basis), and :meth:`power_coefficients` gives the same
    polynomial in powers of ``x``, converted exactly.

    Args:
        degree: highest power of ``x``, >= 1 (the notes: 3).
        in_features: must be 1 (one raw ``x``); present so the CLI can check the data against it.
        lr: learning rate (the notes: 1e-3).
        optimization: ``"automatic"`` or ``"manual"``.
        optimizer: a ``torch.optim`` optimizer name for the automatic twin.
        optimizer_kwargs: its further arguments.
        l2: weight of ``½‖w‖²``; ``b`` is not penalised.
        l1: weight of ``‖w‖₁``; ``b`` is not penalised.
        updates_per_step: full-batch updates per Lightning step of the manual twin.
        momentum: heavy-ball momentum β in [0, 1), torch's formulation (``v = β·v + g``,
            ``p -= lr·v``); 0 (default) is the notes' plain gradient descent; ``"auto"`` (with
            ``lr="auto"``): the best ``(lr, β)`` for this problem and start.
        nesterov: Nesterov's momentum (``p -= lr·(g + β·v)``); needs ``momentum > 0``.
        basis: ``"power"`` (``x, x², ...``, the notes, the default) or ``"legendre"``.
        std_errors: the coefficient table's standard errors: ``"classical"`` (default, as ``lm``)
            or White's heteroskedasticity-robust ``"HC0"``, ``"HC1"``, ``"HC2"``, ``"HC3"`` (as
            statsmodels' ``OLS(cov_type=...)`` and R's ``sandwich::vcovHC``).

    Example:
        >>> model = PolynomialRegression(degree=3)
        >>> model.features(torch.tensor([[2.0], [-1.0]])).tolist()
        [[2.0, 4.0, 8.0], [-1.0, 1.0, -1.0]]
    """

    def __init__(
        self,
        degree: int = 3,
        in_features: int = 1,
        lr: float | Literal["auto"] = 1e-3,
        optimization: Optimization = "automatic",
        optimizer: str = "SGD",
        optimizer_kwargs: dict[str, Any] | None = None,
        l2: float = 0.0,
        l1: float = 0.0,
        updates_per_step: int = DEFAULT_UPDATES_PER_STEP,
        momentum: float | Literal["auto"] = 0.0,
        nesterov: bool = False,
        basis: Literal["power", "legendre"] = "power",
        std_errors: StdErrors = "classical",
    ) -> None:
        check_positive_int("degree", degree)
        check_choice("basis", basis, ("power", "legendre"))
        if in_features != 1:
            raise ArgumentError(
                "in_features",
                f"must be 1 for PolynomialRegression (it builds x, x^2, ... from one raw x), got {in_features!r}",
            )
        super().__init__(
            lr=lr,
            optimization=optimization,
            optimizer=optimizer,
            optimizer_kwargs=optimizer_kwargs,
            l2=l2,
            l1=l1,
            updates_per_step=updates_per_step,
            momentum=momentum,
            nesterov=nesterov,
            std_errors=std_errors,
        )
        self.save_hyperparameters()
        self.degree = degree
        self.basis = basis
        # Exponents 1..degree; a buffer so it follows the model to its device; not saved.
        self.powers: torch.Tensor
        self.register_buffer("powers", torch.arange(1, degree + 1, dtype=torch.float64), persistent=False)
        if basis == "legendre":
            # t = (x - x_center) / x_half_range; NaN until learned from the training rows. Saved
            # (persistent): a checkpoint's model maps x as it was trained.
            self.x_center: torch.Tensor
            self.x_half_range: torch.Tensor
            self.register_buffer("x_center", torch.tensor(math.nan, dtype=torch.float64))
            self.register_buffer("x_half_range", torch.tensor(math.nan, dtype=torch.float64))
            self.register_load_state_dict_post_hook(self._map_loaded)
        self._map_known = False  # whether the buffers hold a map (no device sync to ask at every forward)
        # The notes: w = Variable(torch.randn(3, 1), requires_grad=True); b = Variable(torch.zeros(1), ...)
        self.w = nn.Parameter(torch.randn(degree, 1))
        self.b = nn.Parameter(torch.zeros(1))

    @property
    def input_map(self) -> tuple[float, float] | None:
        """``(c, h)`` of the Legendre basis' ``t = (x - c) / h``; ``None`` in the power basis or
        before it is learned."""
        if self.basis != "legendre" or math.isnan(float(self.x_center)):
            return None
        return float(self.x_center), float(self.x_half_range)

    def _map_loaded(self, module: torch.nn.Module, incompatible: Any) -> None:
        # After load_state_dict: a checkpoint's map is known (read once here, not at every forward).
        self._map_known = self.input_map is not None

    @override
    def learn_input_map(self, x: torch.Tensor) -> None:
        """Legendre basis: map the training rows' ``[min x, max x]`` onto ``[-1, 1]``, unless a
        map is already there (learned before, or loaded from a checkpoint).

        Raises:
            ArgumentError: naming ``basis``: every training ``x`` is the same value.
        """
        if self.basis != "legendre" or self.input_map is not None:
            return
        low, high = float(x.min()), float(x.max())
        if not high > low:
            raise ArgumentError("basis", f"'legendre' maps the training x's range onto [-1, 1], and every x is {low:g}")
        with torch.no_grad():
            self.x_center.fill_((high + low) / 2)
            self.x_half_range.fill_((high - low) / 2)
        self._map_known = True

    def power_coefficients(self, values: torch.Tensor | None = None) -> torch.Tensor:
        """The polynomial in powers of ``x``: ``[a_0 (the intercept), a_1, ..., a_degree]``, float64.

        ``values``: ``[b, w_1, ..., w_degree]`` in this model's basis (default: its parameters).
        In the power basis they are the same numbers; in the Legendre basis the exact conversion
        (:func:`~lit_basics.models.legendre.legendre_to_power`), correctly rounded.
        """
        if values is None:
            values = torch.cat([self.b.detach().reshape(1), self.w.detach().reshape(-1)])
        values = values.detach().cpu().to(torch.float64)
        if self.basis == "power":
            return values
        return legendre_to_power(values, *self._learned_map())

    def _learned_map(self) -> tuple[float, float]:
        learned = self.input_map
        if learned is None:
            raise ArgumentError(
                "basis",
                "'legendre' needs the map of x onto [-1, 1], learned at the start of a fit (or loaded from a "
                "checkpoint): call model.learn_input_map(training x) first",
            )
        return learned

    @override
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 1) -> (N, degree)``: ``[x, x^2, ..., x^degree]`` (or ``[P_1(t), ..., P_degree(t)]``)
        in the parameters' dtype.

        The powers are taken in float64 and then rounded once to float32, as the notes do
        (``np.stack([x_sample ** i ...])`` then ``.float()``): with the float64 ``x`` of
        :class:`~lit_basics.data.PolynomialDataModule` the features are the notes' bit for bit, and
        for float32 inputs they are correctly rounded rather than carrying the error of repeated
        float32 products. ``pow`` with an integral exponent is exact in sign for negative ``x``.
        """
        if self.basis == "legendre":
            if not self._map_known:
                self._learned_map()  # raises, naming basis (or the map was set by hand: then known)
                self._map_known = True
            # The buffers themselves (float64, on the model's device): no host round trip per forward.
            t = (x.to(torch.float64) - self.x_center.to(torch.float64)) / self.x_half_range.to(torch.float64)
            return legendre_features(t, self.degree).to(self.w.dtype)
        return x.to(torch.float64).pow(self.powers).to(self.w.dtype)

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``features(x) @ w + b``: ``(N, 1) -> (N, 1)`` (the notes: ``torch.mm(x, w) + b``)."""
        return self.features(x) @ self.w + self.b

    @override
    def loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return mean_squared_error(output, y)
