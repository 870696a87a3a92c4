"""TensorBoard: a real server serves a run's scalars, figures and hparams; `lit-basics tensorboard`.

(What a fit logs is checked event by event in tests/test_cli.py.)
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from lit_basics.cli import cli_main
from tests.helpers import free_port

pytestmark = pytest.mark.usefixtures("plain_argv")

REPO = Path(__file__).resolve().parents[1]


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


def one_error_line(capsys, args: list[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        cli_main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err  # no usage block, no traceback
    assert err[0].startswith("error: ")
    return err[0]


def test_tensorboard_command_refuses_a_missing_logdir(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    line = one_error_line(capsys, ["tensorboard", "--logdir", "nowhere"])
    assert (
        line == "error: lit-basics tensorboard --logdir nowhere: no such directory (run `lit-basics fit -c ...` first)"
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--port", "abc"], "argument --port: must be an integer in 0..65535, got 'abc'"),
        (["--port", "65536"], "argument --port: must be an integer in 0..65535, got '65536'"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_tensorboard_command_argument_mistakes_are_one_line(tmp_path, monkeypatch, capsys, args, expected):
    monkeypatch.chdir(tmp_path)
    line = one_error_line(capsys, ["tensorboard", *args])
    assert line == f"error: lit-basics tensorboard: {expected} (see lit-basics tensorboard --help)"


def test_tensorboard_command_unknown_host_and_port_in_use(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    line = one_error_line(capsys, ["tensorboard", "--host", "no-such-host.invalid"])
    assert line.startswith(
        "error: lit-basics tensorboard --host no-such-host.invalid --port 6006: cannot resolve this host name"
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_error_line(capsys, ["tensorboard", "--port", str(port)])
    assert line.startswith(f"error: lit-basics tensorboard --host 127.0.0.1 --port {port}: ")
    assert line.endswith("cannot listen there (Address already in use)")


def test_tour_command_argument_mistake_is_one_line(capsys):
    line = one_error_line(capsys, ["tour", "--bogus"])
    assert line == "error: lit-basics tour: unrecognized arguments: --bogus (see lit-basics tour --help)"
