"""``precision="64-true"``: the data follow the parameters into float64, from the file's values."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from lit_basics.cli import cli_main
from lit_basics.data import ArrayDataModule, LinearDataModule, LogisticDataModule
from lit_basics.models import LinearRegression, LogisticRegression
from tests.helpers import tiny_trainer
from tests.test_cli import QUIET, SINGLE_DEVICE_CONFIGS

pytestmark = pytest.mark.usefixtures("plain_argv")


@pytest.mark.parametrize("config", SINGLE_DEVICE_CONFIGS, ids=lambda c: c.stem)
def test_every_config_trains_in_float64(tmp_path, monkeypatch, capsys, config):
    monkeypatch.chdir(tmp_path)
    updates = 40
    cli = cli_main(["fit", "-c", str(config), "--trainer.precision=64-true", f"--trainer.max_steps={updates}", QUIET])
    model, dm = cli.model, cli.datamodule
    assert cli.trainer.global_step == updates
    assert model.w.dtype == model.b.dtype == torch.float64
    assert dm.x.dtype == torch.float64
    assert dm.y.dtype == (torch.int64 if config.stem == "softmax" else torch.float64)
    checkpoint = torch.load(Path(cli.trainer.log_dir) / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["state_dict"]["w"].dtype == torch.float64
    # The gap is measured against the optimum of the float64 data, in float64: never below zero.
    x, y = dm.training_rows()
    assert (
        model.reference_objective(x, y).value(model.reference_objective(x, y).join(model.w, model.b))
        >= model.optimum(x, y).loss - 1e-15
    )
    assert "Trained 40 update(s)" in capsys.readouterr().out


@pytest.mark.parametrize("optimization", ["automatic", "manual"])
def test_the_notes_loop_in_float64_is_the_float64_fit(optimization):
    """The notes' linear regression, transcribed in float64 (w.data = w.data - lr * w.grad.data),
    against both twins under precision="64-true": the same parameters, bit for bit."""
    torch.manual_seed(2017)
    model = LinearRegression(optimization=optimization, updates_per_step=25)
    w = model.w.detach().clone().double().view(1).requires_grad_()
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    dm = LinearDataModule(passes_per_epoch=50)
    x, y = dm.x.double(), dm.y.double()  # the notes' float32 numbers, widened
    for _ in range(50):
        loss = torch.mean((x * w + b - y) ** 2)
        loss.backward()
        w.data = w.data - 1e-2 * w.grad.data
        b.data = b.data - 1e-2 * b.grad.data
        w.grad.zero_()
        b.grad.zero_()
    tiny_trainer(50, precision="64-true").fit(model, dm)
    assert torch.equal(model.w.detach().view(1), w.detach())
    assert torch.equal(model.b.detach(), b.detach())


def test_a_table_is_read_again_in_float64_with_every_digit(tmp_path):
    path = tmp_path / "digits.csv"
    path.write_text("a,b,y\n0.1,1.0000000001,0.3\n0.7,2.0000000003,0.1\n0.2,3.0000000007,0.9\n")
    dm = ArrayDataModule(path=str(path))
    assert dm.x[0, 1].item() == 1.0  # float32 cannot hold the tenth digit
    dm.use_dtype(torch.float64)
    assert dm.x.tolist() == [[0.1, 1.0000000001], [0.7, 2.0000000003], [0.2, 3.0000000007]]
    assert dm.y.flatten().tolist() == [0.3, 0.1, 0.9]
    dm.use_dtype(torch.float32)
    assert dm.x.dtype == torch.float32


def test_a_float64_fit_of_a_table_predicts_from_float64_rows(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("a,y\n" + "".join(f"{i / 7:.15f},{int(i % 3 == 0)}\n" for i in range(40)))
    new = tmp_path / "new.csv"
    new.write_text("a\n0.123456789012345\n")
    dm = ArrayDataModule(path=str(train), predict_path=str(new), scale="standardize")
    model = LogisticRegression(in_features=1, l2=0.1)
    trainer = tiny_trainer(20, precision="64-true")
    trainer.fit(model, dm)
    (batch,) = trainer.predict(model, dm)
    assert batch["probability"].dtype == torch.float64
    logits = (dm.scaling.apply(torch.tensor([[0.123456789012345]], dtype=torch.float64), torch.float64)) @ model.w
    assert batch["probability"].item() == torch.sigmoid(logits + model.b).item()


def test_the_notes_data_modules_keep_their_dtypes_at_32_bits():
    torch.manual_seed(2017)
    dm = LogisticDataModule()
    tiny_trainer(2).fit(LogisticRegression(), dm)
    assert dm.x.dtype == torch.float32


def test_the_configs_say_nothing_about_precision():
    # Float64 is a command-line choice (--trainer.precision=64-true); the configs are the notes'.
    for config in SINGLE_DEVICE_CONFIGS:
        assert "precision" not in yaml.safe_load(config.read_text()).get("trainer", {})
