"""The lit-basics CLI: every config end to end, its TensorBoard events read back, checkpoints."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lit_basics.cli import cli_main
from lit_basics.models import LinearRegression, LogisticRegression, PolynomialRegression

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))
SINGLE_DEVICE_CONFIGS = [c for c in CONFIGS if c.stem in ("linear", "polynomial", "logistic")]


@pytest.fixture(autouse=True)
def _plain_argv(monkeypatch):
    # LightningCLI warns when called with args while sys.argv holds pytest's own arguments.
    monkeypatch.setattr(sys, "argv", ["lit-basics"])


def scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_every_config_is_tested():
    # The notes' configs run here; configs/ddp.yaml runs in tests/test_distributed.py (subprocess).
    assert {c.stem for c in CONFIGS} == {"linear", "polynomial", "logistic", "ddp"}


@pytest.mark.parametrize("optimization", ["automatic", "manual"])
@pytest.mark.parametrize("config", SINGLE_DEVICE_CONFIGS, ids=lambda c: c.stem)
def test_config_fits_and_logs_one_scalar_per_update(tmp_path, monkeypatch, capsys, config, optimization):
    monkeypatch.chdir(tmp_path)
    settings = yaml.safe_load(config.read_text())
    updates = settings["trainer"]["max_steps"]
    cli = cli_main(["fit", "-c", str(config), f"--model.optimization={optimization}"])
    trainer = cli.trainer
    assert trainer.global_step == updates
    log_dir = Path(trainer.log_dir).resolve()
    assert log_dir.is_relative_to(tmp_path)
    assert (log_dir / "config.yaml").is_file()
    assert (log_dir / "hparams.yaml").is_file()
    assert (log_dir / "checkpoints" / "last.ckpt").is_file()
    found = scalars(log_dir)
    expected_tags = {"train/loss", "train/acc"} if config.stem == "logistic" else {"train/loss"}
    assert expected_tags <= set(found)
    for tag in expected_tags:
        assert [step for step, _ in found[tag]] == list(range(updates)), tag
    out = capsys.readouterr().out
    assert f"Trained {updates} update(s)" in out
    assert f"Logs: {trainer.log_dir}" in out


def test_logged_losses_are_the_notes_losses(tmp_path, monkeypatch):
    """The event file holds each update's loss (float32), as the notes compute it."""
    from notes_reference import notes_logistic_bce

    monkeypatch.chdir(tmp_path)
    cli = cli_main(["fit", "-c", str(REPO / "configs" / "logistic.yaml"), "--trainer.max_steps=200"])
    logged = [value for _, value in scalars(Path(cli.trainer.log_dir))["train/loss"]]
    # The config's seed-2017 BCE run has the first section's initial w (no earlier draw).
    torch.manual_seed(2017)
    reference = notes_logistic_bce(updates=200, seed=None)
    assert logged == [pytest.approx(r["loss"], rel=1e-6) for r in reference]


def test_short_class_names_and_link_of_feature_count(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "three.csv"
    data.write_text("".join(f"{i},{2 * i},{i % 3},{i * 0.5}\n" for i in range(20)))
    cli = cli_main(
        [
            "fit",
            "--model=LinearRegression",
            "--data=ArrayDataModule",
            f"--data.path={data}",
            "--trainer.max_steps=3",
            "--trainer.accelerator=cpu",
            "--trainer.enable_progress_bar=false",
            "--trainer.logger=false",
            "--trainer.enable_checkpointing=false",
        ]
    )
    assert isinstance(cli.model, LinearRegression)
    assert cli.model.in_features == 3
    assert cli.model.w.shape == (3, 1)


def test_feature_count_cannot_be_set_against_the_data(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["fit", "-c", str(REPO / "configs" / "logistic.yaml"), "--model.init_args.in_features=5"])
    assert exit_info.value.code != 0
    assert not (tmp_path / "runs").exists()


def test_print_config(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["fit", "-c", str(REPO / "configs" / "polynomial.yaml"), "--model.degree=2", "--print_config"])
    assert exit_info.value.code == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["model"]["init_args"]["degree"] == 2
    assert printed["seed_everything"] == 2017
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("config", "model_cls"),
    [("linear", LinearRegression), ("polynomial", PolynomialRegression), ("logistic", LogisticRegression)],
)
def test_checkpoint_round_trip(tmp_path, monkeypatch, config, model_cls):
    monkeypatch.chdir(tmp_path)
    cli = cli_main(["fit", "-c", str(REPO / "configs" / f"{config}.yaml"), "--trainer.enable_progress_bar=false"])
    path = Path(cli.trainer.log_dir) / "checkpoints" / "last.ckpt"
    # Hyperparameters are plain values: the checkpoint loads with weights_only=True.
    state = torch.load(path, weights_only=True)
    assert state["global_step"] == cli.trainer.global_step
    assert "_instantiator" not in state["hyper_parameters"]
    loaded = model_cls.load_from_checkpoint(path, weights_only=True)
    assert dict(loaded.hparams) == {k: v for k, v in cli.model.hparams.items() if k != "_class_path"}
    torch.testing.assert_close(loaded.w, cli.model.w)
    torch.testing.assert_close(loaded.b, cli.model.b)
    x = cli.datamodule.x[:5].float() if config != "polynomial" else cli.datamodule.x[:5]
    torch.testing.assert_close(loaded(x), cli.model(x))


# Evaluating a checkpoint writes a new log version: ModelCheckpoint notes its dirpath changed.
@pytest.mark.filterwarnings("ignore:The dirpath has changed from:UserWarning")
def test_validate_test_and_predict_subcommands(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = str(REPO / "configs" / "logistic.yaml")
    fit = cli_main(["fit", "-c", config, "--trainer.max_steps=50", "--data.val_fraction=0.2"])
    ckpt = str(Path(fit.trainer.log_dir) / "checkpoints" / "last.ckpt")
    for command in ("validate", "test"):
        cli = cli_main([command, "-c", config, "--data.val_fraction=0.2", f"--ckpt_path={ckpt}"])
        assert cli.trainer.callback_metrics[f"{'val' if command == 'validate' else 'test'}/acc"] > 0.5
    cli = cli_main(["predict", "-c", config, f"--ckpt_path={ckpt}", "--data.batch_size=40"])
    assert cli.trainer.predict_loop.predictions is not None
