"""Model construction, shapes, validation and the pieces each family defines."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torchmetrics.functional.classification import binary_accuracy

from lit_basics.data import ArrayDataModule, IrisDataModule, LogisticDataModule
from lit_basics.models import LinearRegression, LogisticRegression, PolynomialRegression, SoftmaxRegression
from lit_basics.models.logistic import notes_binary_loss, predicted_labels
from tests.helpers import MemoryLogger, tiny_trainer

FAMILIES = [LinearRegression, PolynomialRegression, LogisticRegression, SoftmaxRegression]


@pytest.mark.parametrize("model_cls", FAMILIES)
def test_parameters_are_w_and_b_with_notes_initialisation(model_cls):
    torch.manual_seed(2017)
    model = model_cls()
    torch.manual_seed(2017)
    expected_w = torch.randn(*model.w.shape)
    assert [name for name, _ in model.named_parameters()] == ["w", "b"]
    assert torch.equal(model.w.detach(), expected_w)
    assert torch.equal(model.b.detach(), torch.zeros(model.w.shape[1]))


@pytest.mark.parametrize("model_cls", FAMILIES)
def test_construction_draws_only_w(model_cls):
    torch.manual_seed(0)
    model = model_cls()
    after_model = torch.rand(1)
    torch.manual_seed(0)
    torch.randn(*model.w.shape)
    assert torch.equal(torch.rand(1), after_model)


def test_shapes():
    x = torch.randn(7, 3)
    assert LinearRegression(in_features=3)(x).shape == (7, 1)
    assert LogisticRegression(in_features=3)(x).shape == (7, 1)
    assert PolynomialRegression(degree=4)(x[:, :1]).shape == (7, 1)


def test_linear_forward_is_x_w_plus_b():
    model = LinearRegression(in_features=3)
    x = torch.randn(5, 3, dtype=torch.float32)
    torch.testing.assert_close(model(x), x @ model.w + model.b)
    one = LinearRegression()
    x1 = torch.randn(5, 1)
    torch.testing.assert_close(one(x1), x1 @ one.w + one.b)


def test_polynomial_features_and_forward():
    model = PolynomialRegression(degree=3)
    x = torch.tensor([[-3.0], [-0.5], [0.0], [2.0]])
    expected = torch.cat([x, x**2, x**3], dim=1)
    torch.testing.assert_close(model.features(x), expected)
    torch.testing.assert_close(model(x), expected @ model.w + model.b)
    assert PolynomialRegression(degree=2).w.shape == (2, 1)


def test_polynomial_degree_two_is_the_notes_exercise():
    model = PolynomialRegression(degree=2)
    assert model.features(torch.tensor([[3.0]])).tolist() == [[3.0, 9.0]]


def test_notes_loss_equals_fused_bce_where_clamp_is_inactive():
    logits = torch.linspace(-8, 8, 33).unsqueeze(1)
    y = (torch.arange(33) % 2).float().unsqueeze(1)
    torch.testing.assert_close(notes_binary_loss(logits, y), F.binary_cross_entropy_with_logits(logits, y))


def test_notes_loss_is_finite_when_saturated():
    logits = torch.tensor([[100.0], [-100.0]])
    y = torch.tensor([[0.0], [1.0]])
    loss = notes_binary_loss(logits, y)
    assert math.isfinite(loss.item())
    assert loss.item() == pytest.approx(-math.log(1e-12), rel=1e-5)


def test_threshold_is_logit_zero_as_probability_half():
    # logit >= 0 <=> p >= 0.5, the notes' y_pred.ge(0.5) on probabilities (p = 0.5 counts as 1).
    logits = torch.tensor([[-2.0], [-1e-7], [0.0], [0.3], [0.6]])
    assert predicted_labels(logits).flatten().tolist() == [0, 0, 1, 1, 1]
    assert torch.equal(predicted_labels(logits), torch.sigmoid(logits.double()).ge(0.5).long())


def test_accuracy_agrees_with_torchmetrics():
    torch.manual_seed(3)
    logits = torch.randn(500, 1) * 3
    y = torch.randint(0, 2, (500, 1))
    ours = (predicted_labels(logits) == y).double().mean()
    reference = binary_accuracy(torch.sigmoid(logits).flatten(), y.flatten(), threshold=0.5)
    assert ours.item() == pytest.approx(reference.item())


def test_regression_predict_gives_y_hat_without_gradients():
    model = PolynomialRegression()
    x = torch.randn(4, 1)
    out = model.predict(x)
    assert not out["y_hat"].requires_grad
    torch.testing.assert_close(out["y_hat"], model(x).detach())


def test_logistic_predict_gives_probability_and_label():
    model = LogisticRegression()
    x = torch.randn(6, 2)
    out = model.predict(x)
    torch.testing.assert_close(out["probability"], torch.sigmoid(model(x)))
    assert torch.equal(out["label"], (model(x) >= 0).long())


@pytest.mark.parametrize(
    ("factory", "argument"),
    [
        (lambda: LinearRegression(lr=0), "lr"),
        (lambda: LinearRegression(lr=-1e-2), "lr"),
        (lambda: LinearRegression(lr=float("nan")), "lr"),
        (lambda: LinearRegression(lr=float("inf")), "lr"),
        (lambda: LinearRegression(in_features=0), "in_features"),
        (lambda: LinearRegression(in_features=1.5), "in_features"),
        (lambda: LinearRegression(optimization="hand"), "optimization"),
        (lambda: LinearRegression(optimizer="NoSuchOpt"), "optimizer"),
        (lambda: PolynomialRegression(degree=0), "degree"),
        (lambda: PolynomialRegression(in_features=2), "in_features"),
        (lambda: LogisticRegression(loss="mse"), "loss"),
        (lambda: LogisticRegression(in_features=-2), "in_features"),
        (lambda: LinearRegression(l2=-0.1), "l2"),
        (lambda: LinearRegression(l1=float("nan")), "l1"),
        (lambda: LogisticRegression(l2=float("inf")), "l2"),
        (lambda: LinearRegression(updates_per_step=0), "updates_per_step"),
        (lambda: LinearRegression(optimizer_kwargs={"momentum": -1}), "optimizer_kwargs"),
        (lambda: LinearRegression(optimizer_kwargs={"nesterov_typo": True}), "optimizer_kwargs"),
        (lambda: LinearRegression(optimizer="Adam", optimizer_kwargs={"betas": "high"}), "optimizer_kwargs"),
        (lambda: LinearRegression(optimizer_kwargs={"lr": 0.1}), "optimizer_kwargs"),
        (lambda: SoftmaxRegression(num_classes=1), "num_classes"),
        (lambda: SoftmaxRegression(num_classes=None), "num_classes"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(factory, argument):
    with pytest.raises(ValueError, match=rf"^{argument}\b"):
        factory()


def test_rejected_construction_draws_no_random_numbers():
    torch.manual_seed(1)
    with pytest.raises(ValueError, match="lr"):
        LogisticRegression(lr=-1)
    drawn = torch.randn(2, 1)
    torch.manual_seed(1)
    assert torch.equal(drawn, torch.randn(2, 1))


def test_any_torch_optimizer_for_the_automatic_twin():
    torch.manual_seed(2017)
    model = LogisticRegression(optimizer="Adam", lr=0.1, optimizer_kwargs={"betas": [0.8, 0.9]})
    trainer = tiny_trainer(5)
    trainer.fit(model, LogisticDataModule(passes_per_epoch=5))
    optimizer = trainer.optimizers[0]
    assert isinstance(optimizer, torch.optim.Adam)
    assert tuple(optimizer.param_groups[0]["betas"]) == (0.8, 0.9)


def test_validation_and_test_metrics(tmp_path):
    logger = MemoryLogger()
    model = LogisticRegression()
    dm = LogisticDataModule(val_fraction=0.2, passes_per_epoch=50)
    trainer = tiny_trainer(100, logger=logger, num_sanity_val_steps=0)
    trainer.fit(model, dm)
    assert {"val/loss", "val/acc"} <= set(logger.metrics)
    assert len(logger.metrics["val/loss"]) == 2  # one per Lightning epoch
    results = trainer.test(model, dm, verbose=False)[0]
    x, y = dm.x[dm._val_index], dm.y[dm._val_index]
    with torch.no_grad():
        logits = model(x)
    assert results["test/loss"] == pytest.approx(F.binary_cross_entropy_with_logits(logits, y).item(), rel=1e-6)
    assert results["test/acc"] == pytest.approx(((logits >= 0).float() == y).float().mean().item())


def test_regression_on_user_arrays_reaches_least_squares():
    torch.manual_seed(0)
    x = torch.randn(200, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.25
    dm = ArrayDataModule(x=x, y=y, passes_per_epoch=100)
    model = LinearRegression(in_features=3, lr=0.1)
    tiny_trainer(300).fit(model, dm)
    solution = torch.linalg.lstsq(torch.cat([x, torch.ones(200, 1)], 1).double(), y.double()).solution
    torch.testing.assert_close(
        torch.cat([model.w.detach().flatten(), model.b.detach()]).double(), solution.flatten(), atol=1e-4, rtol=0
    )


def test_penalty_is_the_documented_objective():
    torch.manual_seed(0)
    model = LinearRegression(in_features=3, l2=0.3, l1=0.2)
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    w = model.w.detach()
    expected = ((x @ w + model.b.detach() - y) ** 2).mean() + 0.15 * (w**2).sum() + 0.2 * w.abs().sum()
    torch.testing.assert_close(model.objective(model(x), y).detach(), expected)
    # b is not penalised.
    with torch.no_grad():
        model.b.fill_(5.0)
    torch.testing.assert_close(model.penalty().detach(), 0.15 * (w**2).sum() + 0.2 * w.abs().sum())


def test_without_penalties_the_objective_is_the_loss_itself():
    model = LogisticRegression()
    x, y = torch.randn(5, 2), torch.randint(0, 2, (5, 1)).float()
    assert torch.equal(model.objective(model(x), y), model.loss(model(x), y))


def test_l2_gradient_is_sgd_weight_decay():
    """l2 is torch's weight_decay on w: one automatic update with l2 equals SGD(weight_decay=l2) on w."""
    results = []
    for kwargs in ({"l2": 0.5}, {"optimizer_kwargs": None}):
        torch.manual_seed(2017)
        model = LinearRegression(in_features=2, lr=0.1, **kwargs)
        x, y = torch.randn(10, 2), torch.randn(10, 1)
        loss = model.objective(model(x), y)
        loss.backward()
        if "l2" not in kwargs:
            model.w.grad += 0.5 * model.w.detach()
        results.append(model.w.grad.clone())
    torch.testing.assert_close(results[0], results[1])


def test_softmax_forward_loss_and_predict_against_torch():
    torch.manual_seed(1)
    model = SoftmaxRegression(in_features=4, num_classes=3)
    x, y = torch.randn(9, 4), torch.randint(0, 3, (9, 1))
    logits = x @ model.w + model.b
    torch.testing.assert_close(model(x), logits)
    reference = torch.nn.CrossEntropyLoss()(logits, y.flatten())
    torch.testing.assert_close(model.loss(model(x), y), reference)
    out = model.predict(x)
    torch.testing.assert_close(out["probability"], torch.softmax(logits, dim=1))
    assert out["probability"].sum(dim=1).allclose(torch.ones(9))
    assert torch.equal(out["label"].flatten(), logits.argmax(dim=1))
    correct = model.update_metrics(model(x), y, model.loss(model(x), y))["acc"]
    assert int(correct) == int((logits.argmax(dim=1) == y.flatten()).sum())


def test_softmax_validation_accuracy_is_torchmetrics_multiclass():
    from torchmetrics.functional.classification import multiclass_accuracy

    torch.manual_seed(2017)
    model = SoftmaxRegression(lr=0.05, l2=0.01)
    dm = IrisDataModule(val_fraction=0.2, passes_per_epoch=50)
    trainer = tiny_trainer(100, num_sanity_val_steps=0)
    trainer.fit(model, dm)
    results = trainer.test(model, dm, verbose=False)[0]
    x, y = dm.x[dm._val_index], dm.y[dm._val_index]
    with torch.no_grad():
        logits = model(x)
    expected = multiclass_accuracy(logits.argmax(dim=1), y.flatten(), num_classes=3, average="micro")
    assert results["test/acc"] == pytest.approx(expected.item())
