"""The lit-basics CLI: every config end to end, its TensorBoard events read back, outputs under
runs/ only, checkpoints, the other subcommands."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
import yaml
from lightning.pytorch.utilities.rank_zero import rank_zero_only
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lit_basics.cli import cli_main
from lit_basics.cli.known_warnings import _show, filter_known_warnings
from lit_basics.diagnostics import diagnose
from lit_basics.errors import UserError
from lit_basics.models import LinearRegression, LogisticRegression, PolynomialRegression, SoftmaxRegression
from lit_basics.notes_loops import notes_logistic_bce
from lit_basics.reference import IllConditionedWarning

pytestmark = pytest.mark.usefixtures("plain_argv")

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))
SINGLE_DEVICE_CONFIGS = [c for c in CONFIGS if c.stem != "ddp"]
QUIET = "--trainer.enable_progress_bar=false"


def scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:  # tag -> [(step, value)]
    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def files_under(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*")}


def test_every_config_is_tested():
    # The single-device configs run here; configs/ddp.yaml runs in tests/test_distributed.py (subprocess).
    assert {c.stem for c in CONFIGS} == {"linear", "polynomial", "logistic", "softmax", "ddp"}


def test_every_config_key_is_commented():
    for config in CONFIGS:
        for number, line in enumerate(config.read_text().splitlines(), start=1):
            stripped = line.strip()
            if ":" in stripped and not stripped.startswith(("#", "- class_path", "class_path", "init_args")):
                key, _, value = stripped.partition(":")
                if value.strip() and not value.strip().startswith("#"):
                    assert "#" in value, f"{config.name}:{number}: `{key}` has no comment"


@pytest.mark.parametrize("optimization", ["automatic", "manual"])
@pytest.mark.parametrize("config", SINGLE_DEVICE_CONFIGS, ids=lambda c: c.stem)
def test_config_fits_and_logs_what_it_promises(tmp_path, monkeypatch, capsys, config, optimization):
    """One run of each config and twin (manual: 100 updates per Lightning step, as configured),
    its outputs under runs/ and its TensorBoard events read back: one point per update, the gap
    to the exact optimum, trajectories and figures at every cadence, hparams with the diagnosis."""
    monkeypatch.chdir(tmp_path)
    settings = yaml.safe_load(config.read_text())
    updates = min(settings["trainer"]["max_steps"], 600)
    cli = cli_main(
        ["fit", "-c", str(config), f"--model.optimization={optimization}", f"--trainer.max_steps={updates}", QUIET]
    )
    model, trainer = cli.model, cli.trainer
    assert trainer.global_step == updates
    log_dir = Path(trainer.log_dir).resolve()
    assert log_dir.is_relative_to(tmp_path / "runs")
    assert {p.name for p in tmp_path.iterdir()} == {"runs"}
    assert (log_dir / "config.yaml").is_file()
    assert (log_dir / "hparams.yaml").is_file()
    assert (log_dir / "checkpoints" / "last.ckpt").is_file()
    out = capsys.readouterr().out
    assert f"Trained {updates} update(s)" in out
    assert f"Logs: {trainer.log_dir}" in out
    assert "Gradient descent: lr=" in out
    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    classifier = config.stem in ("logistic", "softmax")
    expected = {"train/loss", "train/loss_gap", "params/grad_norm", "hp/final_loss", "hp/final_loss_gap"}
    expected |= {"hp/condition_number", "hp/max_stable_lr", "hp/predicted_updates"}
    expected |= {"train/acc", "hp/final_acc"} if classifier else set()
    expected |= {f"params/w{i}" for i in range(model.w.numel())}
    expected |= {"params/b"} if model.b.numel() == 1 else {f"params/b{i}" for i in range(model.b.numel())}
    assert expected <= scalars
    assert "hp_metric" not in scalars  # no placeholder
    # One point per update; the gap is the loss minus the exact optimum.
    x, y = cli.datamodule.training_rows()
    optimal = model.optimum(x, y).loss
    losses, gaps = events.Scalars("train/loss"), events.Scalars("train/loss_gap")
    assert [g.step for g in gaps] == [e.step for e in losses] == list(range(updates))
    for loss, gap in zip(losses, gaps, strict=True):
        assert gap.value == pytest.approx(loss.value - optimal, rel=1e-5, abs=1e-6)
    if classifier:
        assert [e.step for e in events.Scalars("train/acc")] == list(range(updates))
    # Trajectories at every multiple of the logging cadence (also inside the manual twin's steps of
    # 100 updates), ending at the final parameters.
    cadence = trainer.log_every_n_steps
    w0 = events.Scalars("params/w0")
    multiples = list(range(0, updates, cadence))
    assert [e.step for e in w0] == [*multiples, updates]
    assert [e.step for e in events.Scalars("params/grad_norm")] == multiples
    assert w0[-1].value == pytest.approx(model.w.flatten()[0].item(), rel=1e-6)
    # Figures: in TensorBoard and as PNG files, at start, every cadence and end.
    inspector = next(c for c in trainer.callbacks if type(c).__name__ == "NotesInspector")
    tags = set(events.Tags()["images"])
    assert f"figure/{type(model).__name__}" in tags
    pngs = sorted(p.name for p in (log_dir / "figures").glob("step_*.png"))
    figure_steps = sorted({*range(0, updates, inspector.figure_every_n_updates), updates})
    assert pngs == [f"step_{s:06d}.png" for s in figure_steps]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in (log_dir / "figures").glob("*.png"))
    # The loss contours with the gradient-descent path: two-parameter models only.
    two_parameters = model.w.numel() + model.b.numel() == 2
    assert ("figure/loss_contours" in tags) == two_parameters
    assert (log_dir / "figures" / "loss_contours.png").is_file() == two_parameters
    # Hyperparameters with results and the diagnosis from the run's start.
    with torch.no_grad():
        final = model.objective(model(x), y).item()
    assert events.Scalars("hp/final_loss")[-1].value == pytest.approx(final, rel=1e-5)
    if classifier and config.stem == "softmax":
        assert events.Scalars("hp/final_acc")[-1].value >= 0.95
    torch.manual_seed(settings.get("seed_everything", 2017))  # the CLI default
    start = type(model)(**{k: v for k, v in model.hparams.items() if not k.startswith("_")})
    diagnosis = diagnose(start, x, y)
    assert events.Scalars("hp/condition_number")[-1].value == pytest.approx(diagnosis.condition_number, rel=1e-5)
    assert events.Scalars("hp/max_stable_lr")[-1].value == pytest.approx(diagnosis.max_stable_lr, rel=1e-5)
    assert events.Scalars("hp/predicted_updates")[-1].value == diagnosis.updates_to_gap(1e-3)


def test_logged_losses_are_the_notes_losses(tmp_path, monkeypatch):
    """The event file holds each update's loss (float32), as the notes compute it."""
    monkeypatch.chdir(tmp_path)
    cli = cli_main(["fit", "-c", str(REPO / "configs" / "logistic.yaml"), "--trainer.max_steps=200", QUIET])
    logged = [value for _, value in scalars(Path(cli.trainer.log_dir))["train/loss"]]
    # The config's seed-2017 BCE run has the first section's initial w (no earlier draw).
    torch.manual_seed(2017)
    reference = notes_logistic_bce(updates=200, seed=None)
    assert logged == [pytest.approx(r["loss"], rel=1e-6) for r in reference]


def test_without_a_logger_everything_still_goes_under_runs_and_runs_twice(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["fit", "-c", str(REPO / "configs" / "linear.yaml"), "--trainer.logger=false", QUIET]
    first, second = cli_main(args), cli_main(args)
    assert {p.name for p in tmp_path.iterdir()} == {"runs"}
    assert sorted(files_under(tmp_path / "runs" / "linear")) == [
        "version_0",
        "version_0/checkpoints",
        "version_0/checkpoints/epoch=0-step=11.ckpt",
        "version_0/checkpoints/last.ckpt",
        "version_0/coefficients.csv",
        "version_0/config.yaml",
        "version_0/glance.csv",
        "version_1",
        "version_1/checkpoints",
        "version_1/checkpoints/epoch=0-step=11.ckpt",
        "version_1/checkpoints/last.ckpt",
        "version_1/coefficients.csv",
        "version_1/config.yaml",
        "version_1/glance.csv",
    ]
    assert first.trainer.global_step == second.trainer.global_step == 11
    # And predictions of a logger-less run land in a run directory of their own too.
    ckpt = tmp_path / "runs" / "linear" / "version_0" / "checkpoints" / "last.ckpt"
    cli_main(
        ["predict", "-c", str(REPO / "configs" / "linear.yaml"), "--trainer.logger=false", f"--ckpt_path={ckpt}", QUIET]
    )
    assert (tmp_path / "runs" / "linear" / "version_2" / "predictions.csv").is_file()
    assert {p.name for p in tmp_path.iterdir()} == {"runs"}


def test_default_logger_writes_under_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli_main(
        [
            "fit",
            "--model=LinearRegression",
            "--data=LinearDataModule",
            "--trainer.max_steps=3",
            "--seed_everything=1",
            QUIET,
        ]
    )
    assert {p.name for p in tmp_path.iterdir()} == {"runs"}
    assert (tmp_path / "runs" / "linear" / "version_0").is_dir()  # named after the model


def test_short_class_names_and_links_from_the_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "three.csv"
    data.write_text("".join(f"{i},{i * i % 7},{i % 3},{i % 4}\n" for i in range(20)))
    common = [
        "--data=ArrayDataModule",
        f"--data.path={data}",
        "--trainer.max_steps=3",
        "--trainer.logger=false",
        "--seed_everything=1",
        QUIET,
    ]
    cli = cli_main(["fit", "--model=LinearRegression", *common])
    assert isinstance(cli.model, LinearRegression)
    assert cli.model.in_features == 3
    assert cli.model.w.shape == (3, 1)
    cli = cli_main(["fit", "--model=SoftmaxRegression", *common, "--data.num_classes=4"])
    assert isinstance(cli.model, SoftmaxRegression)
    assert (cli.model.in_features, cli.model.num_classes) == (3, 4)


def test_print_config(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["fit", "-c", str(REPO / "configs" / "polynomial.yaml"), "--model.degree=2", "--print_config"])
    assert exit_info.value.code == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["model"]["init_args"]["degree"] == 2
    assert printed["seed_everything"] == 2017
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("config", "model_cls"),
    [
        ("linear", LinearRegression),
        ("polynomial", PolynomialRegression),
        ("logistic", LogisticRegression),
        ("softmax", SoftmaxRegression),
    ],
)
def test_checkpoint_round_trip(tmp_path, monkeypatch, config, model_cls):
    monkeypatch.chdir(tmp_path)
    cli = cli_main(["fit", "-c", str(REPO / "configs" / f"{config}.yaml"), "--trainer.max_steps=150", QUIET])
    path = Path(cli.trainer.log_dir) / "checkpoints" / "last.ckpt"
    # Hyperparameters are plain values and name no function: the checkpoint loads with weights_only=True.
    state = torch.load(path, weights_only=True)
    assert state["global_step"] == cli.trainer.global_step
    assert "_instantiator" not in state["hyper_parameters"]
    assert state["hyper_parameters"]["_class_path"] == f"lit_basics.models.{model_cls.__name__}"
    loaded = model_cls.load_from_checkpoint(path, weights_only=True)
    assert dict(loaded.hparams) == dict(cli.model.hparams)
    torch.testing.assert_close(loaded.w, cli.model.w)
    torch.testing.assert_close(loaded.b, cli.model.b)
    x = cli.datamodule.x[:5]
    torch.testing.assert_close(loaded(x), cli.model(x))


# Evaluating a checkpoint writes a new log version: ModelCheckpoint notes its dirpath changed.
@pytest.mark.filterwarnings("ignore:The dirpath has changed from:UserWarning")
def test_validate_test_and_predict_subcommands(tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.chdir(tmp_path)
    # A process with arguments of its own (a Jupyter kernel's `-f kernel.json`): cli_main(args)
    # parses args alone, and LightningCLI's warning about sys.argv (an error in this suite) stays away.
    monkeypatch.setattr("sys.argv", ["ipykernel_launcher.py", "-f", "kernel.json"])
    config = str(REPO / "configs" / "logistic.yaml")
    fit = cli_main(["fit", "-c", config, "--trainer.max_steps=100", "--data.val_fraction=0.2", QUIET])
    ckpt = str(Path(fit.trainer.log_dir) / "checkpoints" / "last.ckpt")
    for command in ("validate", "test"):
        cli = cli_main([command, "-c", config, "--data.val_fraction=0.2", f"--ckpt_path={ckpt}", QUIET])
        assert cli.trainer.callback_metrics[f"{'val' if command == 'validate' else 'test'}/acc"] > 0.5
    cli = cli_main(["predict", "-c", config, f"--ckpt_path={ckpt}", "--data.batch_size=40", QUIET])
    assert cli.trainer.predict_loop.predictions is not None
    assert {p.name for p in tmp_path.iterdir()} == {"runs"}
    # The run names the checkpoint it evaluates, once per command; Lightning's notices of it are silenced.
    assert capsys.readouterr().out.count(f"Using {ckpt}\n") == 3
    assert not [r.message for r in caplog.records if "from the checkpoint" in r.getMessage()]
    cli_main(["fit", "-c", config, "--trainer.max_steps=150", "--data.val_fraction=0.2", f"--ckpt_path={ckpt}", QUIET])
    assert f"Resuming from {ckpt}\n" in capsys.readouterr().out


@pytest.mark.slow  # 10 s: kept out of the test command's time (CI runs the slow set)
def test_evaluation_commands_resolve_last_and_hpc_to_trained_weights(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = str(REPO / "configs" / "logistic.yaml")
    fit = cli_main(["fit", "-c", config, "--trainer.max_steps=50", "--data.val_fraction=0.2", "--model.l2=0.1", QUIET])
    trained = torch.load(Path(fit.trainer.log_dir) / "checkpoints" / "last.ckpt", weights_only=True)
    # A later evaluation run (its own run directory, no checkpoints) does not hide the trained one.
    cli_main(
        [
            "validate",
            "-c",
            config,
            "--data.val_fraction=0.2",
            f"--ckpt_path={tmp_path / fit.trainer.log_dir / 'checkpoints' / 'last.ckpt'}",
            QUIET,
        ]
    )
    for command in ("validate", "test", "predict"):
        cli = cli_main([command, "-c", config, "--data.val_fraction=0.2", "--ckpt_path=last", QUIET])
        torch.testing.assert_close(cli.model.w, trained["state_dict"]["w"], rtol=0, atol=0)
        assert cli.model.l2 == 0.1  # the checkpoint's hyperparameters, as for any checkpoint path
    (tmp_path / "runs" / "hpc_ckpt_1.ckpt").write_bytes(
        (Path(fit.trainer.log_dir) / "checkpoints" / "last.ckpt").read_bytes()
    )
    cli = cli_main(["predict", "-c", config, "--ckpt_path=hpc", QUIET])
    torch.testing.assert_close(cli.model.w, trained["state_dict"]["w"], rtol=0, atol=0)


@pytest.mark.parametrize("progress_bar", [True, False])
def test_early_stopping_can_monitor_the_training_loss(tmp_path, monkeypatch, progress_bar):
    # UpdateLog hands the latest train/loss to monitoring callbacks, with or without a progress bar.
    monkeypatch.chdir(tmp_path)
    cli = cli_main(
        [
            "fit",
            "-c",
            str(REPO / "configs" / "logistic.yaml"),
            f"--trainer.enable_progress_bar={str(progress_bar).lower()}",
            "--trainer.callbacks+=EarlyStopping",
            "--trainer.callbacks.monitor=train/loss",
            "--trainer.callbacks.min_delta=0.05",
            "--trainer.callbacks.patience=1",
        ]
    )
    # The loss falls by less than 0.05 per 100 updates after a few hundred: stopped well before 1000.
    assert 100 <= cli.trainer.global_step < 1000
    assert cli.trainer.global_step % 100 == 0
    assert "train/loss" in cli.trainer.callback_metrics


@pytest.mark.slow
def test_compare_runs_every_variant_and_predicts_what_it_measures(tmp_path, monkeypatch, capsys):
    """`lit-basics compare -c configs/linear.yaml`: every variant a run under runs/linear-compare/,
    the predicted updates equal the measured ones (squared error: exact), the paths' figure."""
    from lit_basics.cli.compare import run_compare

    monkeypatch.chdir(tmp_path)
    rows = run_compare(["-c", str(REPO / "configs" / "linear.yaml"), "--trainer.max_steps=1100"])
    out = capsys.readouterr().out
    assert [row.variant for row in rows] == ["config", "best_step", "heavy_ball", "nesterov", "adam", "standardized"]
    for row in rows:
        assert (tmp_path / "runs" / "linear-compare" / row.variant / "config.yaml").is_file()
        if row.variant != "adam":
            assert row.predicted is not None
            assert row.measured == row.predicted, row
    by_name = {row.variant: row for row in rows}
    assert by_name["config"].predicted == 954
    assert by_name["best_step"].predicted == 417
    assert by_name["heavy_ball"].measured < 104  # at least as good as Polyak's settings
    assert by_name["nesterov"].momentum > 0
    assert "| variant | lr | β | predicted updates to a gap <= 0.001 | measured (in 1100) | final gap |" in out
    assert (tmp_path / "runs" / "linear-compare" / "compare_paths.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(UserError, match="already holds config, best_step"):
        run_compare(["-c", str(REPO / "configs" / "linear.yaml"), "--trainer.max_steps=10"])


def test_lit_basics_warnings_are_printed_by_rank_zero_only(monkeypatch, capsys):
    """Every DDP process reaches the same warning from the same sums: one line, not one each."""
    for rank, printed in ((1, ""), (0, "warning: the same in every process\n")):
        monkeypatch.setattr(rank_zero_only, "rank", rank)
        _show(IllConditionedWarning("the same in every process"), IllConditionedWarning, "f.py", 1)
        assert capsys.readouterr().err == printed


def test_a_silenced_notice_is_silenced_from_every_rank(caplog):
    """Lightning prefixes a notice from a DDP process other than rank 0 with its rank: "[rank: 1]
    Seed set to 2017" is the same notice as rank 0's "Seed set to 2017"."""
    filter_known_warnings()
    logger = logging.getLogger("lightning.fabric.utilities.seed")
    with caplog.at_level(logging.INFO, logger="lightning.fabric.utilities.seed"):
        for message in ("Seed set to 2017", "[rank: 1] Seed set to 2017", "[rank: 1] something else"):
            logger.info(message)
    assert [r.getMessage() for r in caplog.records] == ["[rank: 1] something else"]
