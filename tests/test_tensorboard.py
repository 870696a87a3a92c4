"""TensorBoard inspection: the optimum, the logged tags, figures, hparams, and a real server."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize
import torch
from conftest import free_port
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lit_basics.cli import cli_main
from lit_basics.data import LinearDataModule, LogisticDataModule, PolynomialDataModule
from lit_basics.models import LinearRegression, PolynomialRegression
from lit_basics.reference import least_squares_optimum, logistic_optimum

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _plain_argv(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["lit-basics"])


def test_least_squares_matches_numpy():
    for dm, model in ((LinearDataModule(), LinearRegression()), (PolynomialDataModule(), PolynomialRegression())):
        features = model.features(dm.x).double()
        design = np.hstack([features.numpy(), np.ones((features.shape[0], 1))])
        solution, *_ = np.linalg.lstsq(design, dm.y.double().numpy(), rcond=None)
        optimum = least_squares_optimum(features, dm.y)
        np.testing.assert_allclose(optimum.w.numpy().ravel(), solution[:-1].ravel(), rtol=1e-9)
        np.testing.assert_allclose(optimum.b.numpy(), solution[-1], rtol=1e-9, atol=1e-12)


def test_polynomial_optimum_is_the_notes_target():
    dm = PolynomialDataModule()
    optimum = PolynomialRegression().optimum(dm.x, dm.y)
    np.testing.assert_allclose(optimum.w.numpy().ravel(), [0.5, 3.0, 2.4], atol=1e-6)
    assert optimum.b.item() == pytest.approx(0.9, abs=1e-6)


def test_logistic_optimum_matches_scipy():
    dm = LogisticDataModule()
    x, y = dm.x.double().numpy(), dm.y.double().numpy().ravel()

    def loss_and_grad(theta):
        z = x @ theta[:2] + theta[2]
        loss = np.mean(np.logaddexp(0, z) - y * z)
        residual = 1 / (1 + np.exp(-z)) - y
        return loss, np.append(x.T @ residual, residual.sum()) / len(y)

    result = scipy.optimize.minimize(loss_and_grad, np.zeros(3), jac=True, method="BFGS", options={"gtol": 1e-12})
    optimum = logistic_optimum(dm.x, dm.y)
    ours = np.append(optimum.w.numpy().ravel(), optimum.b.numpy())
    np.testing.assert_allclose(ours, result.x, rtol=1e-6)
    assert optimum.loss == pytest.approx(result.fun, rel=1e-9)


def test_logistic_optimum_refuses_separable_data():
    x = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    y = torch.tensor([[0.0], [0.0], [1.0], [1.0]])
    with pytest.raises(ValueError, match="separable"):
        logistic_optimum(x, y)


def read_events(log_dir: Path):
    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    return events


@pytest.mark.parametrize("config", ["linear", "polynomial", "logistic"])
def test_fit_logs_gap_trajectories_figures_and_hparams(tmp_path, monkeypatch, config):
    monkeypatch.chdir(tmp_path)
    cli = cli_main(["fit", "-c", str(REPO / "configs" / f"{config}.yaml"), "--trainer.enable_progress_bar=false"])
    model, trainer = cli.model, cli.trainer
    log_dir = Path(trainer.log_dir).resolve()
    events = read_events(log_dir)
    scalars = set(events.Tags()["scalars"])
    k = model.w.shape[0]
    expected = {"train/loss", "train/loss_gap", "params/b", "params/grad_norm", "hp/final_loss"}
    expected |= {f"params/w{i}" for i in range(k)}
    assert expected <= scalars
    # The gap is the loss minus the exact optimum, at every update.
    x, y = cli.datamodule.training_rows()
    optimal = model.optimum(x, y).loss
    losses = events.Scalars("train/loss")
    gaps = events.Scalars("train/loss_gap")
    assert [g.step for g in gaps] == [e.step for e in losses] == list(range(trainer.global_step))
    for loss, gap in zip(losses, gaps, strict=True):
        assert gap.value == pytest.approx(loss.value - optimal, rel=1e-5, abs=1e-6)
    # Trajectories at the logging cadence, ending at the final parameters.
    w0 = events.Scalars("params/w0")
    assert w0[-1].value == pytest.approx(model.w[0, 0].item(), rel=1e-6)
    # Figures: in TensorBoard and as PNG files, at start, cadence and end.
    [tag] = [t for t in events.Tags()["images"]]
    assert tag == f"figure/{type(model).__name__}"
    pngs = sorted((log_dir / "figures").glob("step_*.png"))
    assert pngs[0].name == "step_000000.png"
    assert pngs[-1].name == f"step_{trainer.global_step:06d}.png"
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    # Hyperparameters with results: no placeholder hp_metric.
    assert "hp_metric" not in scalars
    final = events.Scalars("hp/final_loss")[-1].value
    with torch.no_grad():
        assert final == pytest.approx(model.loss(model(x), y).item(), rel=1e-5)


def http_json(url: str, payload: dict | None = None):
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def stop(process: subprocess.Popen) -> None:
    """Always stop a server we started: terminate, then kill if it lingers; close its pipe."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def wait_until_serving(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"tensorboard exited with {process.returncode}")
        try:
            http_json(f"{url}/data/runs")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise AssertionError(f"tensorboard did not answer at {url} within {seconds} s")


@pytest.mark.slow
def test_real_tensorboard_serves_the_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli_main(["fit", "-c", str(REPO / "configs" / "logistic.yaml"), "--trainer.enable_progress_bar=false"])
    executable = shutil.which("tensorboard") or str(Path(sys.executable).with_name("tensorboard"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [executable, "--logdir", str(tmp_path / "runs"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_serving(url, process)
        run = "logistic/version_0"
        assert http_json(f"{url}/data/runs") == [run]
        scalar_tags = set(http_json(f"{url}/data/plugin/scalars/tags")[run])
        assert {"train/loss", "train/acc", "train/loss_gap", "params/w0", "params/w1", "params/b"} <= scalar_tags
        assert "figure/LogisticRegression" in http_json(f"{url}/data/plugin/images/tags")[run]
        loss = http_json(f"{url}/data/plugin/scalars/scalars?run={run}&tag=train/loss")
        assert len(loss) == 1000
        groups = http_json(
            f"{url}/data/plugin/hparams/session_groups",
            {
                "experimentName": "",
                "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS"],
                "startIndex": 0,
                "sliceSize": 10,
            },
        )
        [group] = groups["sessionGroups"]
        assert group["hparams"]["lr"] == 1.0
        assert group["hparams"]["loss"] == "bce_with_logits"
        metrics = {m["name"]["tag"]: m["value"] for m in group["metricValues"]}
        assert metrics["hp/final_acc"] == pytest.approx(0.9, abs=0.05)
        assert metrics["hp/final_loss"] == pytest.approx(loss[-1][2], rel=0.05)
    finally:
        stop(process)


@pytest.mark.slow
def test_lit_basics_tensorboard_command_prints_url_and_serves(tmp_path):
    (tmp_path / "runs").mkdir()
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "lit_basics", "tensorboard", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(f"TensorBoard http://127.0.0.1:{port}/ serving {tmp_path / 'runs'}")
        wait_until_serving(f"http://127.0.0.1:{port}", process)
    finally:
        stop(process)


def test_tensorboard_command_refuses_a_missing_logdir(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["tensorboard", "--logdir", "nowhere"])
    assert exit_info.value.code == 2
    assert "--logdir nowhere: no such directory" in capsys.readouterr().err
