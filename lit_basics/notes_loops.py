"""The notes' training loops, transcribed: the oracle the tests check the modules against and the
baseline the benchmark times them against.

Each function is the notes' code with only what today's torch forces changed (``Variable`` ->
tensors with ``requires_grad``, ``F.sigmoid`` -> ``torch.sigmoid``, ``loss.data[0]`` ->
``loss.item()``) and the notes' ``get_loss`` bug fixed (it read the global ``y_train``; here the
argument is the same tensor, so the values are unchanged). It deliberately imports nothing from
the rest of lit_basics: it is the independent reference. Each returns one record per update: the
loss the update was computed from, the accuracy where the notes compute one, and ``w``, ``b``
after the update.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn


def _data_txt() -> Path:
    """The shipped data.txt: inside an installed package, or ``data/`` of a source checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "_data" / "data.txt"
    return installed if installed.is_file() else here.parent / "data" / "data.txt"


DATA_TXT = _data_txt()


def _record(loss, w, b, acc=None):  # type: ignore[no-untyped-def]
    return {
        "loss": loss.item(),
        "acc": None if acc is None else float(acc),
        "w": w.detach().clone(),
        "b": b.detach().clone(),
    }


def notes_linear(updates: int = 11, seed: int | None = 2017) -> list[dict]:
    """线性模型和梯度下降: 1 update, then ``for e in range(10)``; lr 1e-2."""
    if seed is not None:
        torch.manual_seed(seed)
    x_train = np.array([[3.3], [4.4], [5.5], [6.71], [6.93], [4.168],
                        [9.779], [6.182], [7.59], [2.167], [7.042],
                        [10.791], [5.313], [7.997], [3.1]], dtype=np.float32)  # fmt: skip
    y_train = np.array([[1.7], [2.76], [2.09], [3.19], [1.694], [1.573],
                        [3.366], [2.596], [2.53], [1.221], [2.827],
                        [3.465], [1.65], [2.904], [1.3]], dtype=np.float32)  # fmt: skip
    x_train = torch.from_numpy(x_train)
    y_train = torch.from_numpy(y_train)
    w = torch.randn(1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)

    def linear_model(x):
        return x * w + b

    def get_loss(y_, y):
        return torch.mean((y_ - y) ** 2)

    records = []
    for _ in range(updates):
        y_ = linear_model(x_train)
        loss = get_loss(y_, y_train)
        if w.grad is not None:
            w.grad.zero_()
            b.grad.zero_()
        loss.backward()
        w.data = w.data - 1e-2 * w.grad.data
        b.data = b.data - 1e-2 * b.grad.data
        records.append(_record(loss, w, b))
    return records


def notes_polynomial(updates: int = 101, seed: int | None = 2017, degree: int = 3) -> list[dict]:
    """多项式回归: features ``[x, x^2, x^3]`` in float64, then float32; lr 1e-3."""
    if seed is not None:
        torch.manual_seed(seed)
    w_target = np.array([0.5, 3, 2.4])
    b_target = np.array([0.9])
    x_sample = np.arange(-3, 3.1, 0.1)
    y_sample = b_target[0] + w_target[0] * x_sample + w_target[1] * x_sample**2 + w_target[2] * x_sample**3
    x_train = np.stack([x_sample**i for i in range(1, degree + 1)], axis=1)
    x_train = torch.from_numpy(x_train).float()
    y_train = torch.from_numpy(y_sample).float().unsqueeze(1)
    w = torch.randn(degree, 1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)

    def multi_linear(x):
        return torch.mm(x, w) + b

    def get_loss(y_, y):
        return torch.mean((y_ - y) ** 2)

    records = []
    for _ in range(updates):
        y_pred = multi_linear(x_train)
        loss = get_loss(y_pred, y_train)
        if w.grad is not None:
            w.grad.data.zero_()
            b.grad.data.zero_()
        loss.backward()
        w.data = w.data - 0.001 * w.grad.data
        b.data = b.data - 0.001 * b.grad.data
        records.append(_record(loss, w, b))
    return records


def notes_logistic_data(path: Path = DATA_TXT) -> tuple[torch.Tensor, torch.Tensor]:
    """The notes' reading and scaling of data.txt, line for line."""
    with open(path) as f:
        data_list = [i.split("\n")[0].split(",") for i in f.readlines()]
        data = [(float(i[0]), float(i[1]), float(i[2])) for i in data_list]
    x0_max = max([i[0] for i in data])
    x1_max = max([i[1] for i in data])
    data = [(i[0] / x0_max, i[1] / x1_max, i[2]) for i in data]
    np_data = np.array(data, dtype="float32")
    x_data = torch.from_numpy(np_data[:, 0:2])
    y_data = torch.from_numpy(np_data[:, -1]).unsqueeze(1)
    return x_data, y_data


def notes_logistic(updates: int = 1000, seed: int | None = 2017) -> list[dict]:
    """Logistic 回归, first version: sigmoid + the notes' clamped binary loss, SGD(lr=1.)."""
    if seed is not None:
        torch.manual_seed(seed)
    x_data, y_data = notes_logistic_data()

    def binary_loss(y_pred, y):
        logits = (y * y_pred.clamp(1e-12).log() + (1 - y) * (1 - y_pred).clamp(1e-12).log()).mean()
        return -logits

    w = nn.Parameter(torch.randn(2, 1))
    b = nn.Parameter(torch.zeros(1))

    def logistic_regression(x):
        return torch.sigmoid(torch.mm(x, w) + b)

    optimizer = torch.optim.SGD([w, b], lr=1.0)
    records = []
    for _ in range(updates):
        y_pred = logistic_regression(x_data)
        loss = binary_loss(y_pred, y_data)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        mask = y_pred.ge(0.5).float()
        acc = (mask == y_data).sum().item() / y_data.shape[0]
        records.append(_record(loss, w, b, acc))
    return records


def notes_logistic_bce(updates: int = 1000, seed: int | None = 2017, logit_threshold: float = 0.5) -> list[dict]:
    """Logistic 回归, second version: ``nn.BCEWithLogitsLoss``, new ``w`` drawn after the first's.

    ``logit_threshold=0.5`` is the notes' accuracy (a bug: it thresholds logits, not
    probabilities); ``0.0`` is the correct one.
    """
    if seed is not None:
        torch.manual_seed(seed)
        torch.randn(2, 1)  # the first version's w
    x_data, y_data = notes_logistic_data()
    criterion = nn.BCEWithLogitsLoss()
    w = nn.Parameter(torch.randn(2, 1))
    b = nn.Parameter(torch.zeros(1))

    def logistic_reg(x):
        return torch.mm(x, w) + b

    optimizer = torch.optim.SGD([w, b], 1.0)
    records = []
    for _ in range(updates):
        y_pred = logistic_reg(x_data)
        loss = criterion(y_pred, y_data)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        mask = y_pred.ge(logit_threshold).float()
        acc = (mask == y_data).sum().item() / y_data.shape[0]
        records.append(_record(loss, w, b, acc))
    return records


__all__ = ["notes_linear", "notes_logistic", "notes_logistic_bce", "notes_logistic_data", "notes_polynomial"]
