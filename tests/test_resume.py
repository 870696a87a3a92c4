"""Faults and reproducibility: kill -9 then `--ckpt_path last` resumes bit for bit; same seed,
same bits; predictions written to the run directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lit_basics.cli import cli_main

pytestmark = pytest.mark.usefixtures("plain_argv")

REPO = Path(__file__).resolve().parents[1]
LOGISTIC = str(REPO / "configs" / "logistic.yaml")


def lit_basics(cwd: Path, *args: str) -> subprocess.Popen:
    """``lit-basics fit -c configs/logistic.yaml ARGS`` in ``cwd``; its stderr goes to cwd/stderr.txt."""
    with (cwd / "stderr.txt").open("a") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "lit_basics", "fit", "-c", LOGISTIC, "--trainer.enable_progress_bar=false", *args],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def final_params(run_dir: Path) -> tuple[int, torch.Tensor]:
    [ckpt] = run_dir.glob("runs/logistic/version_*/checkpoints/last.ckpt")
    state = torch.load(ckpt, weights_only=True)
    return state["global_step"], torch.cat([state["state_dict"]["w"].flatten(), state["state_dict"]["b"]])


VARIANTS = {
    "automatic": ["--model.optimization=automatic"],
    "manual": ["--model.optimization=manual"],  # 100 updates per Lightning step, as configured
    "manual_one_per_step": ["--model.optimization=manual", "--model.updates_per_step=1"],
    "shuffled_minibatch": ["--data.batch_size=16", "--data.shuffle=true", "--data.passes_per_epoch=25"],
    # The velocity is optimizer state: saved in every checkpoint, restored on resume.
    "momentum_automatic": ["--model.momentum=0.9", "--model.lr=0.2"],
    "nesterov_manual": ["--model.optimization=manual", "--model.momentum=0.8", "--model.nesterov=true"],
}


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_kill_9_then_resume_equals_an_uninterrupted_run(tmp_path, variant):
    extra = VARIANTS[variant]
    total = 2000
    # Uninterrupted reference.
    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    reference = lit_basics(reference_dir, f"--trainer.max_steps={total}", *extra)
    assert reference.wait(timeout=300) == 0, (reference_dir / "stderr.txt").read_text()[-2000:]
    # Killed run: a long run, killed with SIGKILL as soon as a checkpoint exists.
    run_dir = tmp_path / "killed"
    run_dir.mkdir()
    victim = lit_basics(run_dir, "--trainer.max_steps=1000000", *extra)
    checkpoints = run_dir / "runs" / "logistic" / "version_0" / "checkpoints"
    deadline = time.monotonic() + 240
    while not any(checkpoints.glob("epoch=*.ckpt")) and time.monotonic() < deadline:
        assert victim.poll() is None, "the run ended before it could be killed"
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    # Resume: the newest checkpoint of this config's runs, to the same total.
    resumed = lit_basics(run_dir, f"--trainer.max_steps={total}", "--ckpt_path=last", *extra)
    assert resumed.wait(timeout=300) == 0, (run_dir / "stderr.txt").read_text()[-2000:]
    step, params = final_params(run_dir)
    reference_step, reference_params = final_params(reference_dir)
    assert step == reference_step == total  # the manual twin's step count is restored too
    assert torch.equal(params, reference_params)


def test_ckpt_path_last_without_a_previous_run_is_an_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["fit", "-c", LOGISTIC, "--ckpt_path=last"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.rstrip().splitlines()[-1] == (
        "error: ckpt_path: last: no checkpoint under runs/logistic/version_*/checkpoints"
    )


@pytest.mark.parametrize("logger", [pytest.param("tensorboard", marks=pytest.mark.slow), "none"])
def test_resume_in_process_continues_the_same_run(tmp_path, monkeypatch, logger):
    monkeypatch.chdir(tmp_path)
    extra = ["--trainer.enable_progress_bar=false", "--model.optimization=manual"]
    if logger == "none":
        extra.append("--trainer.logger=false")
    cli_main(["fit", "-c", LOGISTIC, "--trainer.max_steps=200", *extra])
    resumed = cli_main(["fit", "-c", LOGISTIC, "--trainer.max_steps=300", "--ckpt_path=last", *extra])
    assert resumed is not None
    assert resumed.trainer.global_step == 300
    assert Path(resumed.trainer.log_dir).name == "version_0"
    assert [p.name for p in (tmp_path / "runs" / "logistic").iterdir()] == ["version_0"]
    straight = cli_main(["fit", "-c", LOGISTIC, "--trainer.max_steps=300", *extra])
    assert torch.equal(resumed.model.w, straight.model.w)


@pytest.mark.parametrize(
    "config",
    [
        "polynomial",
        "logistic",
        pytest.param("linear", marks=pytest.mark.slow),
        pytest.param("softmax", marks=pytest.mark.slow),
    ],
)
def test_same_seed_same_bits(tmp_path, monkeypatch, config):
    monkeypatch.chdir(tmp_path)
    runs = []
    for _ in range(2):
        cli = cli_main(
            [
                "fit",
                "-c",
                str(REPO / "configs" / f"{config}.yaml"),
                "--trainer.enable_progress_bar=false",
                "--data.batch_size=8",
                "--data.shuffle=true",
                "--trainer.max_steps=40",
            ]
        )
        assert cli is not None
        events = EventAccumulator(str(cli.trainer.log_dir), size_guidance={"scalars": 0})
        events.Reload()
        losses = [e.value for e in events.Scalars("train/loss")]
        runs.append((torch.cat([cli.model.w.detach().flatten(), cli.model.b.detach()]), losses))
    assert torch.equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    assert len(runs[0][1]) == 40


def test_predict_writes_probability_and_label_per_row(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    fit = cli_main(["fit", "-c", LOGISTIC, "--trainer.max_steps=300", "--trainer.enable_progress_bar=false"])
    assert fit is not None
    ckpt = str(Path(fit.trainer.log_dir) / "checkpoints" / "last.ckpt")
    cli = cli_main(["predict", "-c", LOGISTIC, f"--ckpt_path={ckpt}", "--trainer.enable_progress_bar=false"])
    assert cli is not None
    path = Path(cli.trainer.log_dir) / "predictions.csv"
    assert f"Predictions (100 rows): {path}" in capsys.readouterr().out
    lines = path.read_text().splitlines()
    assert lines[0] == "row,probability,label"
    assert len(lines) == 101
    x = cli.datamodule.x
    with torch.no_grad():
        expected = fit.model.predict(x)
    for line, p, label in zip(lines[1:], expected["probability"].flatten(), expected["label"].flatten(), strict=True):
        _, prob, lab = line.split(",")
        assert float(prob) == pytest.approx(p.item(), rel=1e-6)
        assert int(lab) == label.item()


def test_predict_regression_writes_y_hat(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = str(REPO / "configs" / "linear.yaml")
    fit = cli_main(["fit", "-c", config, "--trainer.enable_progress_bar=false"])
    assert fit is not None
    ckpt = str(Path(fit.trainer.log_dir) / "checkpoints" / "last.ckpt")
    cli = cli_main(["predict", "-c", config, f"--ckpt_path={ckpt}", "--trainer.enable_progress_bar=false"])
    assert cli is not None
    lines = (Path(cli.trainer.log_dir) / "predictions.csv").read_text().splitlines()
    assert lines[0] == "row,y_hat"
    assert len(lines) == 16
