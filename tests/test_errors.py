"""The error contract: every user mistake gets one `error:` line, exit status 2, no traceback,
and leaves no run directory, checkpoint or event file behind; untrusted checkpoints are refused
before anything in them is imported or called; a diverging fit stops without saving."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lit_basics.checkpoints import check_checkpoint
from lit_basics.cli import cli_main
from lit_basics.data import DataFileError, parse_csv
from lit_basics.errors import UserError
from lit_basics.models import LogisticRegression

REPO = Path(__file__).resolve().parents[1]
LINEAR = str(REPO / "configs" / "linear.yaml")
LOGISTIC = str(REPO / "configs" / "logistic.yaml")
POLYNOMIAL = str(REPO / "configs" / "polynomial.yaml")
MARKER = "payload-ran.marker"


@pytest.fixture(autouse=True)
def _plain_argv(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["lit-basics"])


def files_under(directory: Path) -> set[Path]:
    return {p.relative_to(directory) for p in directory.rglob("*")}


def run_cli_expecting_error(tmp_path: Path, monkeypatch, capsys, args: list[str]) -> str:
    """Run ``lit-basics args`` in ``tmp_path``: exit 2, and return the last stderr line."""
    monkeypatch.chdir(tmp_path)
    before = files_under(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli_main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.rstrip("\n").splitlines()[-1]
    assert last.startswith("error: ")
    assert files_under(tmp_path) == before, "the failed command left files behind"
    return last


# --- crafted inputs -----------------------------------------------------------------------


def write_data(tmp_path: Path, text: str) -> str:
    path = tmp_path / "inputs" / "bad.txt"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return str(path)


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory) -> Path:
    """A real checkpoint of the logistic config (50 updates)."""
    directory = tmp_path_factory.mktemp("good")
    old = os.getcwd()
    os.chdir(directory)
    argv = sys.argv
    sys.argv = ["lit-basics"]
    try:
        cli = cli_main(["fit", "-c", LOGISTIC, "--trainer.max_steps=50", "--trainer.enable_progress_bar=false"])
    finally:
        os.chdir(old)
        sys.argv = argv
    assert cli is not None
    return (
        Path(cli.trainer.log_dir).resolve()
        if Path(cli.trainer.log_dir).is_absolute()
        else directory / cli.trainer.log_dir
    )


def evil_module(directory: Path) -> None:
    """A module that leaves a marker file if it is imported or any of its functions is called."""
    (directory / "evil_payload.py").write_text(
        "import pathlib\n"
        f"pathlib.Path({str(directory / MARKER)!r}).write_text('imported')\n"
        "def make(*args, **kwargs):\n"
        f"    pathlib.Path({str(directory / MARKER)!r}).write_text('called')\n"
        "class Model:\n"
        "    pass\n"
    )


class _Payload:
    """Pickles to a call that writes the marker."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.write_text, (Path(self.path), "unpickled"))


def crafted_checkpoint(good: Path, directory: Path, kind: str) -> str:
    checkpoint = torch.load(good / "checkpoints" / "last.ckpt", weights_only=True)
    path = directory / "inputs" / f"{kind}.ckpt"
    path.parent.mkdir(exist_ok=True)
    if kind == "instantiator":
        checkpoint["hyper_parameters"]["_instantiator"] = "evil_payload.make"
    elif kind == "class_path":
        checkpoint["hyper_parameters"]["_class_path"] = "evil_payload.Model"
    elif kind == "pickled":
        checkpoint["hyper_parameters"]["lr"] = _Payload(str(directory / MARKER))
    elif kind == "not_plain":
        checkpoint["hyper_parameters"]["lr"] = torch.tensor(1.0)
    elif kind == "garbage":
        path.write_bytes(b"this is not a checkpoint\n")
        return str(path)
    torch.save(checkpoint, path)
    return str(path)


# --- the matrix ----------------------------------------------------------------------------

DATA_CASES = [
    ("missing_file", None, "error: data.init_args: {inputs}/missing.txt: no such file"),
    ("wrong_fields", "1,2,0\n3,4\n", "error: data.init_args: {path}:2: expected 3 comma-separated fields, found 2"),
    ("non_number", "1,2,0\n3,x,1\n", "error: data.init_args: {path}:2: field 2 is not a number: 'x'"),
    ("nan", "1,2,0\nnan,4,1\n", "error: data.init_args: {path}:2: field 1 is not finite: 'nan'"),
    ("inf", "1,2,0\n3,-inf,1\n", "error: data.init_args: {path}:2: field 2 is not finite: '-inf'"),
    ("label", "1,2,0\n3,4,0.5\n", "error: data.init_args: {path}:2: label must be 0 or 1, got 0.5"),
    ("empty", "", "error: data.init_args: {path}: empty file, no data rows"),
]


@pytest.mark.parametrize(("name", "text", "expected"), DATA_CASES, ids=[c[0] for c in DATA_CASES])
def test_bad_data_file(tmp_path, monkeypatch, capsys, name, text, expected):
    if text is None:
        (tmp_path / "inputs").mkdir()
        path = str(tmp_path / "inputs" / "missing.txt")
    else:
        path = write_data(tmp_path, text)
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, ["fit", "-c", LOGISTIC, f"--data.path={path}"])
    assert line == expected.format(path=path, inputs=tmp_path / "inputs")


CONFIG_CASES = [
    ("unknown_key", [LINEAR, "--model.foo=1"], "error: model.init_args: Option 'foo' is not accepted"),
    ("wrong_type", [LINEAR, "--model.lr=abc"], "error: model.init_args.lr: Expected a <class 'float'>. Got value: abc"),
    ("lr_zero", [LINEAR, "--model.lr=0"], "error: model.init_args.lr must be a finite number > 0, got 0.0"),
    ("lr_negative", [LINEAR, "--model.lr=-0.5"], "error: model.init_args.lr must be a finite number > 0, got -0.5"),
    ("lr_infinite", [LINEAR, "--model.lr=.inf"], "error: model.init_args.lr must be a finite number > 0, got inf"),
    ("degree", [POLYNOMIAL, "--model.degree=0"], "error: model.init_args.degree must be an integer >= 1, got 0"),
    (
        "batch_size",
        [LINEAR, "--data.batch_size=0"],
        "error: data.init_args.batch_size must be a positive integer or null (full batch), got 0",
    ),
    (
        "val_fraction",
        [LINEAR, "--data.val_fraction=1.0"],
        "error: data.init_args.val_fraction must be in [0, 1), got 1.0",
    ),
    (
        "unknown_model",
        [LINEAR, "--model=Perceptron"],
        "error: model: unknown class 'Perceptron'; choose one of LinearRegression, PolynomialRegression, "
        "LogisticRegression",
    ),
    (
        "unknown_data",
        [LINEAR, "--data=MNIST"],
        "error: data: unknown class 'MNIST'; choose one of LinearDataModule, PolynomialDataModule, LogisticDataModule, "
        "ArrayDataModule",
    ),
    (
        "in_features",
        [LOGISTIC, "--model.in_features=3"],
        "error: model.init_args.in_features is set from the data (data.num_features); remove it from the command line",
    ),
    ("trainer_key", [LINEAR, "--trainer.max_stepz=3"], "error: Unrecognized arguments: --trainer.max_stepz=3"),
    (
        "manual_adam",
        [LINEAR, "--model.optimization=manual", "--model.optimizer=Adam"],
        "error: model.init_args: optimizer='Adam' with optimizer_kwargs={}: the manual twin does plain gradient "
        "descent by hand (p -= lr * p.grad); use optimization='automatic' for other optimizers",
    ),
]


@pytest.mark.parametrize(("name", "args", "expected"), CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_bad_config_value(tmp_path, monkeypatch, capsys, name, args, expected):
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, ["fit", "-c", *args])
    assert line == expected


def test_missing_config_file(tmp_path, monkeypatch, capsys):
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, ["fit", "-c", "nope.yaml"])
    assert line == f"error: config: File does not exist: '{tmp_path / 'nope.yaml'}'" or line.startswith(
        "error: config: File does not exist"
    )


def test_config_file_that_is_not_yaml(tmp_path, monkeypatch, capsys):
    config = tmp_path / "inputs" / "broken.yaml"
    config.parent.mkdir()
    config.write_text("model:\n  class_path: lit_basics.models.LinearRegression\n  init_args: {lr: [\n")
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, ["fit", "-c", LINEAR, "-c", str(config)])
    assert line.startswith(f"error: {config}:4: not valid YAML: ")


def test_array_data_without_data(tmp_path, monkeypatch, capsys):
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, ["fit", "-c", LOGISTIC, "--data=ArrayDataModule"])
    assert line == "error: data.init_args.path or x and y must be given: a CSV file, or arrays or tensors"


def test_in_features_in_a_config_file(tmp_path, monkeypatch, capsys):
    config = tmp_path / "inputs" / "mine.yaml"
    config.parent.mkdir()
    config.write_text("model:\n  class_path: lit_basics.models.LinearRegression\n  init_args:\n    in_features: 4\n")
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, ["fit", "-c", LINEAR, "-c", str(config)])
    assert line == (
        f"error: model.init_args.in_features is set from the data (data.num_features); remove it from {config}"
    )


CHECKPOINT_CASES = [
    ("instantiator", "refused: the checkpoint names a function to call (_instantiator)"),
    ("class_path", "refused: _class_path 'evil_payload.Model' is not a lit_basics model"),
    ("pickled", "refused: the checkpoint holds a pickled object"),
    ("not_plain", "refused: hyperparameter 'lr' is not a plain value"),
    ("garbage", "not a readable checkpoint ("),
]


@pytest.mark.parametrize(("kind", "expected"), CHECKPOINT_CASES, ids=[c[0] for c in CHECKPOINT_CASES])
@pytest.mark.parametrize("command", ["predict", "fit"])
def test_untrusted_checkpoint_is_refused_before_its_payload_runs(
    tmp_path, monkeypatch, capsys, good_checkpoint, kind, expected, command
):
    evil_module(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = crafted_checkpoint(good_checkpoint, tmp_path, kind)
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, [command, "-c", LOGISTIC, f"--ckpt_path={path}"])
    assert line.startswith(f"error: {path}: {expected}")
    assert not (tmp_path / MARKER).exists()
    with pytest.raises(UserError, match=r"refused|not a readable"):
        LogisticRegression.load_from_checkpoint(path)
    assert not (tmp_path / MARKER).exists()
    assert "evil_payload" not in sys.modules


def test_missing_checkpoint(tmp_path, monkeypatch, capsys):
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, ["test", "-c", LOGISTIC, "--ckpt_path=gone.ckpt"])
    assert line == "error: gone.ckpt: no such checkpoint file"


def test_own_checkpoints_pass_the_check(good_checkpoint):
    checkpoint = check_checkpoint(good_checkpoint / "checkpoints" / "last.ckpt")
    assert checkpoint["hyper_parameters"]["_class_path"] == "lit_basics.models.LogisticRegression"
    model = LogisticRegression.load_from_checkpoint(good_checkpoint / "checkpoints" / "last.ckpt")
    torch.testing.assert_close(model.w, checkpoint["state_dict"]["w"])


def test_help_and_print_config_still_work(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for args in (["--help"], ["fit", "--help"], ["fit", "-c", LINEAR, "--print_config"]):
        with pytest.raises(SystemExit) as exit_info:
            cli_main(args)
        assert exit_info.value.code == 0
    assert capsys.readouterr().out.count("usage:") == 2
    assert list(tmp_path.iterdir()) == []


# --- divergence ----------------------------------------------------------------------------


def test_divergence_stops_at_once_and_saves_no_checkpoint(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["fit", "-c", LINEAR, "--model.lr=1", "--trainer.max_steps=50"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.rstrip().splitlines()[-1]
    assert last.startswith(
        "error: update 11: the loss is inf (not finite): training stopped, these weights were not saved;"
    )
    assert "try a smaller learning rate than model.init_args.lr=1.0" in last
    assert not list(tmp_path.rglob("*.ckpt"))


def test_divergence_is_caught_at_a_flush_when_not_checked_every_update(tmp_path, monkeypatch, capsys):
    """Off the single-CPU path (DDP, accelerators) the check runs on each flush, before checkpoints."""
    from lit_basics.models.base import GradientDescentModule

    original = GradientDescentModule.on_train_start

    def flush_only(self):
        original(self)
        self._check_each_update = False

    monkeypatch.setattr(GradientDescentModule, "on_train_start", flush_only)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        cli_main(["fit", "-c", LINEAR, "--model.lr=1", "--trainer.max_steps=50", "--data.passes_per_epoch=5"])
    last = capsys.readouterr().err.rstrip().splitlines()[-1]
    assert last.startswith("error: update 11: the loss is inf (not finite)")
    checkpoints = sorted(p.name for p in tmp_path.rglob("*.ckpt"))
    assert checkpoints == ["epoch=1-step=10.ckpt", "last.ckpt"]  # saved before update 11, at step 10
    for path in tmp_path.rglob("*.ckpt"):
        state = torch.load(path, weights_only=True)["state_dict"]
        assert all(bool(torch.isfinite(v).all()) for v in state.values())


@pytest.mark.slow
def test_real_command_prints_no_traceback(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1,2,0\n3,4\n")
    for args in (["fit", "-c", LOGISTIC, f"--data.path={bad}"], ["fit", "-c", LINEAR, "--model.lr=1"]):
        out = subprocess.run([sys.executable, "-m", "lit_basics", *args], cwd=tmp_path, capture_output=True, text=True)
        assert out.returncode == 2
        assert "Traceback" not in out.stderr
        assert out.stderr.rstrip().splitlines()[-1].startswith("error: ")


# --- the parser, property-based ------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_parser_on_arbitrary_bytes_parses_or_raises_the_documented_error(tmp_path, data):
    path = tmp_path / "any.csv"
    path.write_bytes(data)
    try:
        table = parse_csv(path)
    except DataFileError as exc:
        message = str(exc)
    else:
        message = None
    if message is not None:
        assert message.startswith(f"{path}:")
        assert "\n" not in message
    else:
        assert table.ndim == 2
        assert table.shape[0] >= 1
        assert np.isfinite(table).all()


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 5).flatmap(lambda width: st.lists(st.lists(finite, min_size=width, max_size=width), min_size=1)))
def test_valid_files_round_trip_exactly(tmp_path, rows):
    path = tmp_path / "valid.csv"
    path.write_text("".join(",".join(repr(v) for v in row) + "\n" for row in rows))
    parsed = parse_csv(path)
    assert parsed.tolist() == rows
