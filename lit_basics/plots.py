"""The notes' pictures, drawn for a model at one moment of training.

matplotlib's object API with the Agg canvas: no pyplot, no global figure state, no display
needed. ``matplotlib`` is imported here only, and this module only when a figure is drawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["draw", "render"]


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float64).numpy()


def draw(model: Any, x: torch.Tensor, y: torch.Tensor, title: str) -> Figure:
    """The notes' picture for ``model`` on ``(x, y)``.

    - ``LinearRegression`` (one feature): the points ('real', blue) and the model's estimates
      ('estimated', red), as in 线性模型和梯度下降.
    - ``PolynomialRegression``: the real curve (blue) and the fitted curve (red).
    - ``LogisticRegression`` (two features): the two classes and the decision line
      ``w0 x0 + w1 x1 + b = 0`` (green), as in Logistic 回归.
    Other shapes of data get the targets against the predictions.
    """
    from lit_basics.models import LinearRegression, LogisticRegression, PolynomialRegression

    figure = Figure(figsize=(5.0, 3.75), dpi=80)
    ax = figure.add_subplot()
    with torch.no_grad():
        output = _numpy(model(x.to(model.device)))
    xs, ys = _numpy(x), _numpy(y).ravel()
    if isinstance(model, LogisticRegression) and xs.shape[1] == 2:
        negative, positive = ys == 0, ys == 1
        ax.plot(xs[negative, 0], xs[negative, 1], "ro", markersize=4, label="class 0")
        ax.plot(xs[positive, 0], xs[positive, 1], "bo", markersize=4, label="class 1")
        w, b = _numpy(model.w).ravel(), float(_numpy(model.b)[0])
        plot_x = np.linspace(xs[:, 0].min(), xs[:, 0].max(), 100)
        if w[1] != 0:
            ax.plot(plot_x, (-w[0] * plot_x - b) / w[1], "g", label="decision line")
        ax.set_ylim(xs[:, 1].min() - 0.05, xs[:, 1].max() + 0.05)
        ax.set_xlabel("x0")
        ax.set_ylabel("x1")
    elif isinstance(model, PolynomialRegression):
        order = np.argsort(xs[:, 0])
        ax.plot(xs[order, 0], ys[order], "b", label="real curve")
        ax.plot(xs[order, 0], output[order, 0], "r", label="fitted curve")
        ax.set_xlabel("x")
    elif isinstance(model, LinearRegression) and xs.shape[1] == 1:
        ax.plot(xs[:, 0], ys, "bo", label="real")
        ax.plot(xs[:, 0], output[:, 0], "ro", label="estimated")
        ax.set_xlabel("x")
    else:
        ax.plot(ys, output[:, 0], "k.", label="prediction")
        ax.set_xlabel("target")
        ax.set_ylabel("output")
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    figure.tight_layout()
    return figure


def render(figure: Figure) -> np.ndarray:
    """Rasterise ``figure`` to an ``(H, W, 3)`` uint8 RGB array."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
