"""The error contract: every user mistake, in every config section, gets one `error:` line, exit
status 2, no traceback, and leaves nothing behind; untrusted checkpoints are refused before anything
in them is imported or called; a diverging fit stops without saving."""

from __future__ import annotations

import copy
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lit_basics.checkpoints import check_checkpoint
from lit_basics.cli import cli_main
from lit_basics.data import DataFileError, parse_csv
from lit_basics.errors import UserError
from lit_basics.models import LogisticRegression

pytestmark = pytest.mark.usefixtures("plain_argv")

REPO = Path(__file__).resolve().parents[1]
LINEAR = str(REPO / "configs" / "linear.yaml")
LOGISTIC = str(REPO / "configs" / "logistic.yaml")
POLYNOMIAL = str(REPO / "configs" / "polynomial.yaml")
MARKER = "payload-ran.marker"


def files_under(directory: Path) -> set[Path]:
    return {p.relative_to(directory) for p in directory.rglob("*")}


def run_cli_expecting_error(tmp_path: Path, monkeypatch, capsys, args: list[str]) -> str:
    """Run ``lit-basics args`` in ``tmp_path``: exit 2, and return the last stderr line."""
    monkeypatch.chdir(tmp_path)
    before = files_under(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli_main([*args, "--trainer.enable_progress_bar=false"] if args[0] != "fit" or "-c" in args else args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.rstrip("\n").splitlines()[-1]
    assert last.startswith("error: ")
    assert files_under(tmp_path) == before, "the failed command left files behind"
    return last


# --- data ----------------------------------------------------------------------------------


def write_data(tmp_path: Path, text: str) -> str:
    path = tmp_path / "inputs" / "bad.txt"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return str(path)


DATA_CASES = [
    ("missing_file", None, "error: data.init_args: {inputs}/missing.txt: no such file"),
    ("wrong_fields", "1,2,0\n3,4\n", "error: data.init_args: {path}:2: expected 3 fields separated by ',', found 2"),
    ("non_number", "1,2,0\n3,x,1\n", "error: data.init_args: {path}:2: column 2 is not a number: 'x'"),
    ("nan", "1,2,0\nnan,4,1\n", "error: data.init_args: {path}:2: column 1: a missing value"),
    ("inf", "1,2,0\n3,-inf,1\n", "error: data.init_args: {path}:2: column 2 is not finite: -inf"),
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


TABLE_CASES = [
    # (name, files, extra arguments, the error line); {d} is the inputs folder
    (
        "unknown_delimiter",
        {"t.csv": "a,y\n1,0\n2,1\n"},
        ["--data.delimiter=ab"],
        "error: data.init_args.delimiter 'ab' is not a delimiter: give one character (',', ';', '|') or tab, space "
        "(runs of spaces), or leave it out to detect it",
    ),
    (
        "categorical_missing_column",
        {"t.csv": "a,y\n1,0\n2,1\n"},
        ["--data.categorical=[nope]"],
        "error: data.init_args.categorical 'nope' is not a column of {d}/t.csv; its columns: 'a', 'y'",
    ),
    (
        "numeric_level_unseen",
        {"t.csv": "code,x,y\n1,0.5,0\n2,0.1,1\n1,0.2,1\n", "new.csv": "code,x\n2,0.3\n7,0.4\n"},
        ["--data.categorical=[code]", "--data.predict_path={d}/new.csv"],
        "error: data.init_args: {d}/new.csv:3: column 1 ('code'): level '7' was not seen in training; the levels: "
        "'1', '2'",
    ),
    (
        "column_all_missing",
        {"t.csv": "a,b,y\n1,NA,0\n2,,1\n"},
        ["--data.missing=drop"],
        "error: data.init_args: {d}/t.csv: column 2 ('b') has no values (every row is missing)",
    ),
    (
        "target_one_class",
        {"t.csv": "a,y\n1,yes\n2,yes\n"},
        [],
        "error: data.init_args: {d}/t.csv: the target column 2 ('y') holds one class, 'yes': a classifier needs rows "
        "of two classes or more",
    ),
    (
        "missing_value",
        {"t.csv": "a,y\n1,0\n?,1\n"},
        [],
        "error: data.init_args: {d}/t.csv:3: column 1 ('a'): a missing value; 1 of 2 rows hold one (set "
        "--data.init_args.missing=drop to drop them)",
    ),
    (
        "predict_row_missing",
        {"t.csv": "a,y\n1,0\n2,1\n", "new.csv": "a\n1\nNA\n"},
        ["--data.predict_path={d}/new.csv"],
        "error: data.init_args: {d}/new.csv:3: column 1 ('a'): a missing value in a row to predict (1 such rows; "
        "with --data.init_args.missing=drop they get an empty prediction)",
    ),
    (
        "one_column_read",
        {"t.csv": "a\tb\ty\n1\t2\t0\n"},
        ["--data.delimiter=;"],
        "error: data.init_args: {d}/t.csv: expected at least one feature and a target per line, found 1 column (read "
        "as one column with delimiter ';', but its lines hold tabs: set --data.init_args.delimiter='tab')",
    ),
]


@pytest.mark.parametrize(("name", "files", "extra", "expected"), TABLE_CASES, ids=[c[0] for c in TABLE_CASES])
def test_table_mistakes_through_the_cli(tmp_path, monkeypatch, capsys, name, files, extra, expected):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for file, text in files.items():
        (inputs / file).write_text(text)
    args = ["fit", "--seed_everything=2017", "--model=LogisticRegression", "--data=ArrayDataModule"]
    args += [f"--data.path={inputs}/t.csv", *(a.format(d=inputs) for a in extra)]
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, args)
    assert line == expected.format(d=inputs)


def test_a_nested_parquet_column_through_the_cli(tmp_path, monkeypatch, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    pq.write_table(pa.table({"x": [1.0, 2.0], "tags": [[1], [2, 3]], "y": [0.0, 1.0]}), inputs / "t.parquet")
    args = ["fit", "--seed_everything=2017", "--model=LogisticRegression", "--data=ArrayDataModule"]
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, [*args, f"--data.path={inputs}/t.parquet"])
    assert line == (
        f"error: data.init_args: {inputs}/t.parquet: column 2 ('tags') is nested (list<element: int64>): "
        "give a flat table"
    )


def test_a_regression_on_class_names_through_the_cli(tmp_path, monkeypatch, capsys):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "t.csv").write_text("a,kind\n1,x\n2,y\n")
    args = ["fit", "--seed_everything=2017", "--model=LinearRegression", "--data=ArrayDataModule"]
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, [*args, f"--data.path={inputs}/t.csv"])
    assert line == (
        "error: data: kind holds class names ('x', 'y'); LinearRegression needs numbers: use LogisticRegression "
        "(two classes) or SoftmaxRegression"
    )


def test_bad_class_label_in_a_users_csv(tmp_path, monkeypatch, capsys):
    path = write_data(tmp_path, "0.1,0.2,0\n0.3,0.4,1\n0.5,0.6,7\n")
    line = run_cli_expecting_error(
        tmp_path,
        monkeypatch,
        capsys,
        [
            "fit",
            "--seed_everything=2017",  # else Lightning warns that it picked a seed (once per process)
            "--model=SoftmaxRegression",
            "--data=ArrayDataModule",
            f"--data.path={path}",
            "--data.num_classes=3",
        ],
    )
    assert line == f"error: data.init_args: {path}:3: class label must be an integer in 0..2, got 7"


# --- every section of a configuration ---------------------------------------------------------

CONFIG_CASES = [
    # model
    ("unknown_key", [LINEAR, "--model.foo=1"], "error: model.init_args: Option 'foo' is not accepted"),
    (
        "wrong_type",
        [LINEAR, "--model.lr=abc"],
        "error: model.init_args.lr: Expected a <class 'float'>; Expected a typing.Literal['auto']. Got value: abc",
    ),
    ("lr_zero", [LINEAR, "--model.lr=0"], "error: model.init_args.lr must be a finite number > 0, got 0.0"),
    ("lr_negative", [LINEAR, "--model.lr=-0.5"], "error: model.init_args.lr must be a finite number > 0, got -0.5"),
    ("lr_infinite", [LINEAR, "--model.lr=.inf"], "error: model.init_args.lr must be a finite number > 0, got inf"),
    ("l2_negative", [LINEAR, "--model.l2=-1"], "error: model.init_args.l2 must be a finite number >= 0, got -1.0"),
    ("l1_nan", [LINEAR, "--model.l1=.nan"], "error: model.init_args.l1 must be a finite number >= 0, got nan"),
    (
        "updates_per_step",
        [LINEAR, "--model.updates_per_step=0"],
        "error: model.init_args.updates_per_step must be an integer >= 1, got 0",
    ),
    ("degree", [POLYNOMIAL, "--model.degree=0"], "error: model.init_args.degree must be an integer >= 1, got 0"),
    (
        "unknown_model",
        [LINEAR, "--model=Perceptron"],
        "error: model: unknown class 'Perceptron'; choose one of LinearRegression, PolynomialRegression, "
        "LogisticRegression, SoftmaxRegression",
    ),
    (
        "in_features",
        [LOGISTIC, "--model.in_features=3"],
        "error: model.init_args.in_features is set from the data (data.num_features); remove it from the command line",
    ),
    (
        "manual_adam",
        [LINEAR, "--model.optimization=manual", "--model.optimizer=Adam"],
        "error: model.init_args.optimizer must be 'SGD' without optimizer_kwargs for the manual twin, which does "
        "gradient descent by hand (p -= lr * p.grad; momentum and nesterov are the model's own arguments); got 'Adam' "
        "with {}: use optimization='automatic' for other optimizers",
    ),
    (
        "std_errors_of_least_squares",
        [LOGISTIC, "--model.std_errors=HC1"],
        "error: model.init_args.std_errors 'HC1' corrects least squares' residuals; LogisticRegression has "
        "'classical' or 'HC0' (the sandwich of the likelihood's scores, as statsmodels' Logit and MNLogit and R's "
        "vcovHC)",
    ),
    (
        "std_errors_unknown",
        [LINEAR, "--model.std_errors=HC4"],
        "error: model.init_args.std_errors: Expected a typing.Literal['classical', 'HC0', 'HC1', 'HC2', 'HC3']. "
        "Got value: HC4",
    ),
    # optimizer and its kwargs
    (
        "optimizer_name",
        [LINEAR, "--model.optimizer=Nope"],
        "error: model.init_args.optimizer must name a torch.optim optimizer such as 'SGD' or 'Adam', got 'Nope'",
    ),
    (
        "optimizer_kwargs_value",
        [LINEAR, "--model.optimizer_kwargs={momentum: -1}"],
        "error: model.init_args.optimizer_kwargs {'momentum': -1} are not accepted by torch.optim.SGD: "
        "Invalid momentum value: -1",
    ),
    (
        "optimizer_kwargs_key",
        [LINEAR, "--model.optimizer_kwargs={bogus: 1}"],
        "error: model.init_args.optimizer_kwargs {'bogus': 1} are not accepted by torch.optim.SGD: SGD.__init__() got "
        "an unexpected keyword argument 'bogus'",
    ),
    (
        "optimizer_kwargs_type",
        [LINEAR, "--model.optimizer_kwargs=[1, 2]"],
        "error: model.init_args.optimizer_kwargs: Expected a <class 'dict'>. Got value: [1, 2]",
    ),
    # data
    (
        "batch_size",
        [LINEAR, "--data.batch_size=0"],
        "error: data.init_args.batch_size must be a positive integer or null (full batch), got 0",
    ),
    (
        "batch_size_type",
        [LINEAR, "--data.batch_size=1.5"],
        "error: data.init_args.batch_size: Expected a <class 'int'>. Got value: 1.5",
    ),
    (
        "val_fraction",
        [LINEAR, "--data.val_fraction=1.0"],
        "error: data.init_args.val_fraction must be in [0, 1), got 1.0",
    ),
    (
        "val_fraction_holding_out_every_row",
        [LINEAR, "--data.val_fraction=0.99"],
        "error: data.init_args.val_fraction must leave training rows, got 0.99: all 15 rows would be held out",
    ),
    (
        "unknown_data",
        [LINEAR, "--data=MNIST"],
        "error: data: unknown class 'MNIST'; choose one of LinearDataModule, PolynomialDataModule, LogisticDataModule, "
        "IrisDataModule, ArrayDataModule",
    ),
    (
        "array_without_data",
        [LOGISTIC, "--data=ArrayDataModule"],
        "error: data.init_args.path or x and y must be given: a table file, or arrays or tensors",
    ),
    (
        "classes_for_logistic",
        [LOGISTIC, "--data=IrisDataModule"],
        "error: data: has 3 classes; LogisticRegression needs 0/1 labels: use SoftmaxRegression",
    ),
    (
        "no_classes_for_softmax",
        [LINEAR, "--model=SoftmaxRegression"],
        "error: model.init_args.num_classes must be an integer >= 2, got None: the data has no class labels "
        "(ArrayDataModule reads them with its num_classes argument)",
    ),
    # trainer
    ("trainer_key", [LINEAR, "--trainer.max_stepz=3"], "error: Unrecognized arguments: --trainer.max_stepz=3"),
    (
        "trainer_type",
        [LINEAR, "--trainer.max_steps=abc"],
        "error: trainer.max_steps: Expected a <class 'int'>. Got value: abc",
    ),
    (
        "trainer_devices",
        [LINEAR, "--trainer.accelerator=cpu", "--trainer.devices=0"],
        "error: trainer: `Trainer(devices='0')` value is not a valid input using cpu accelerator.",
    ),
    (
        "trainer_device_indices_on_cpu",
        [LINEAR, "--trainer.accelerator=cpu", "--trainer.devices=0,1"],
        "error: trainer: `devices` selected with `CPUAccelerator` should be an int > 0.",
    ),
    (
        "manual_accumulation",
        [LINEAR, "--model.optimization=manual", "--trainer.accumulate_grad_batches=2"],
        "error: trainer: Automatic gradient accumulation is not supported for manual optimization. Remove "
        "`Trainer(accumulate_grad_batches=2)` or switch to automatic optimization.",
    ),
    # trainer arguments Lightning takes without a word and fails on mid-run (or misreads)
    (
        "accumulate_zero",
        [LOGISTIC, "--trainer.accumulate_grad_batches=0"],
        "error: trainer.accumulate_grad_batches must be an integer >= 1, got 0",
    ),
    (
        "accumulate_negative",
        [LOGISTIC, "--trainer.accumulate_grad_batches=-2"],
        "error: trainer.accumulate_grad_batches must be an integer >= 1, got -2",
    ),
    (
        "validation_cadence",
        [LOGISTIC, "--trainer.check_val_every_n_epoch=0", "--data.val_fraction=0.2"],
        "error: trainer.check_val_every_n_epoch must be an integer >= 1 or null (validate by val_check_interval "
        "batches), got 0",
    ),
    (
        "log_cadence",
        [LOGISTIC, "--trainer.log_every_n_steps=-1"],
        "error: trainer.log_every_n_steps must be an integer >= 0 (0: no logging), got -1",
    ),
    (
        "clip_value",
        [LOGISTIC, "--trainer.gradient_clip_val=-1"],
        "error: trainer.gradient_clip_val must be a number >= 0 or null, got -1.0",
    ),
    (
        "min_steps",
        [LOGISTIC, "--trainer.min_steps=-5"],
        "error: trainer.min_steps must be an integer >= 0 or null, got -5",
    ),
    (
        "sanity_steps",
        [LOGISTIC, "--trainer.num_sanity_val_steps=-3"],
        "error: trainer.num_sanity_val_steps must be an integer >= 0, or -1 (all validation batches), got -3",
    ),
    (
        "seed",
        [LINEAR, "--seed_everything=abc"],
        "error: seed_everything: Expected a <class 'bool'>; Expected a <class 'int'>. Got value: abc",
    ),
    (
        "seed_negative",
        [LINEAR, "--seed_everything=-1"],
        "error: seed_everything: must be true, false or an integer in [0, 4294967295], got -1",
    ),
    (
        "seed_too_large",
        [LINEAR, "--seed_everything=4294967296"],
        "error: seed_everything: must be true, false or an integer in [0, 4294967295], got 4294967296",
    ),
    # logger
    (
        "logger_key",
        [LINEAR, "--trainer.logger.init_args.bogus=1"],
        "error: trainer.logger.init_args: Option 'bogus' is not accepted",
    ),
    # callbacks that Lightning would let fail mid-run
    (
        "checkpoint_monitor_never_logged",
        [LOGISTIC, "--trainer.callbacks+=ModelCheckpoint", "--trainer.callbacks.monitor=train/bogus"],
        "error: trainer.callbacks.ModelCheckpoint.init_args.monitor 'train/bogus' is never logged: this fit logs "
        "epoch, step, train/acc, train/loss, train/loss_gap",
    ),
    (
        "early_stopping_on_validation_without_validation_rows",
        [LOGISTIC, "--trainer.callbacks+=EarlyStopping", "--trainer.callbacks.monitor=val/loss"],
        "error: trainer.callbacks.EarlyStopping.init_args.monitor 'val/loss' is never logged: no validation rows "
        "are held out (set data.init_args.val_fraction > 0)",
    ),
    (
        "learning_rate_monitor_without_logger",
        [LOGISTIC, "--trainer.callbacks+=LearningRateMonitor", "--trainer.logger=false"],
        "error: trainer.callbacks.LearningRateMonitor: logs to the logger, and trainer.logger is false: remove one",
    ),
    (
        "half_precision_parameters",
        [LOGISTIC, "--trainer.precision=bf16-true"],
        "error: trainer.precision 'bf16-true' holds the parameters in 16 bits (about 3 significant digits): "
        "gradient descent's small updates round away and the exact optimum cannot be compared; use 32-true (the "
        "notes), 64-true (float64 end to end), or a mixed precision (16-mixed, bf16-mixed: float32 parameters)",
    ),
    # ckpt_path
    ("missing_checkpoint", [LINEAR, "--ckpt_path=gone.ckpt"], "error: gone.ckpt: no such checkpoint file"),
    (
        "no_previous_run",
        [LOGISTIC, "--ckpt_path=last"],
        "error: ckpt_path: last: no checkpoint under runs/logistic/version_*/checkpoints",
    ),
    (
        "best_in_a_new_process",
        [LOGISTIC, "--ckpt_path=best"],
        "error: ckpt_path: best means the best checkpoint of an earlier fit in the same process, and every "
        "lit-basics command is a new process: give the checkpoint's file (runs/<name>/version_N/checkpoints/...)",
    ),
    (
        "no_hpc_checkpoint",
        [LOGISTIC, "--ckpt_path=hpc"],
        "error: ckpt_path: hpc: no hpc_ckpt_N.ckpt in runs (trainer.default_root_dir)",
    ),
    (
        "registry",
        [LOGISTIC, "--ckpt_path=registry"],
        "error: ckpt_path: registry checkpoints are not loaded (they could not be checked first): download the file "
        "and give its path",
    ),
]


@pytest.mark.parametrize(("name", "args", "expected"), CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_bad_config_value(tmp_path, monkeypatch, capsys, name, args, expected):
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, ["fit", "-c", *args])
    assert line == expected


def config_with(tmp_path: Path, edit) -> str:
    """configs/logistic.yaml with ``edit(config)`` applied, written under tmp_path/inputs."""
    config = yaml.safe_load(Path(LOGISTIC).read_text())
    edit(config)
    path = tmp_path / "inputs" / "config.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return str(path)


def section(config, key):
    """An always-on callback's section (``inspector:``, ``checkpoint:``, ...) of a config."""
    return config.setdefault(key, {})


def logger(config):
    """The config's logger section (the CLI's default TensorBoardLogger, spelled out)."""
    return config["trainer"].setdefault(
        "logger", {"class_path": "lightning.pytorch.loggers.TensorBoardLogger", "init_args": {}}
    )


CALLBACK_AND_LOGGER_CASES = [
    (
        "inspector",
        lambda c: section(c, "inspector").update(figure_every_n_updates=0),
        "error: inspector.figure_every_n_updates must be an integer >= 1, got 0",
    ),
    (
        "inspector_features",
        lambda c: section(c, "inspector").update(figure_features=[1]),
        "error: inspector.figure_features must be two feature indices >= 0, got [1]",
    ),
    (
        "update_log_type",
        lambda c: section(c, "update_log").update(loss_gap="maybe"),
        "error: update_log.loss_gap: Expected a <class 'bool'>. Got value: maybe",
    ),
    (
        "divergence_stop",
        lambda c: section(c, "divergence_stop").update(check_every_n_updates=0),
        "error: divergence_stop.check_every_n_updates must be an integer >= 1, got 0",
    ),
    (
        "checkpoint_value",
        lambda c: section(c, "checkpoint").update(every_n_train_steps=-1),
        "error: checkpoint: Invalid value for every_n_train_steps=-1. Must be >= 0",
    ),
    (
        "checkpoint_cadence",
        lambda c: (
            section(c, "checkpoint").update(every_n_train_steps=30),
            c["model"]["init_args"].update(optimization="manual"),
        ),
        "error: checkpoint.every_n_train_steps must be a multiple of "
        "model.init_args.updates_per_step=100 (the manual twin takes that many updates per step: a checkpoint between "
        "them would be skipped), got 30",
    ),
    (
        "two_checkpoints_with_one_state_key",
        lambda c: (
            c["trainer"]
            .setdefault("callbacks", [])
            .append({"class_path": "lightning.pytorch.callbacks.ModelCheckpoint", "init_args": {"save_last": "link"}})
        ),
        "error: trainer.callbacks: two ModelCheckpoint callbacks with the same settings (ModelCheckpoint{'monitor': "
        "None, 'mode': 'min', 'every_n_train_steps': 0, 'every_n_epochs': 1, 'train_time_interval': None}): a "
        "checkpoint keeps one state per callback; give one of them another monitor, mode or cadence, or remove it",
    ),
    (
        "inspector_features_beyond_the_data",
        lambda c: section(c, "inspector").update(figure_features=[0, 5]),
        "error: inspector.figure_features must be feature indices below the data's 2 features, got [0, 5]",
    ),
    (
        "predictions_filename_with_a_directory",
        lambda c: section(c, "predictions").update(filename="out/predictions.csv"),
        "error: predictions.filename must be a file name without a directory (see dirpath), got 'out/predictions.csv'",
    ),
    (
        "logger_name_leaving_save_dir",
        lambda c: logger(c)["init_args"].update(name="../elsewhere"),
        "error: trainer.logger.init_args.name: '../elsewhere' with version 0 puts the run in "
        "runs/../elsewhere/version_0, outside save_dir runs: name a directory inside it (no '..')",
    ),
    (
        "unknown_callback",
        lambda c: c["trainer"].setdefault("callbacks", []).append({"class_path": "lit_basics.callbacks.Nope"}),
        "error: trainer.callbacks: unknown class 'lit_basics.callbacks.Nope'",
    ),
    (
        "unknown_logger",
        lambda c: logger(c).update(class_path="lightning.pytorch.loggers.Nope"),
        "error: trainer.logger: unknown class 'lightning.pytorch.loggers.Nope'",
    ),
    (
        "logger_type",
        lambda c: logger(c)["init_args"].update(version=[1]),
        "error: trainer.logger.init_args.version: Expected a <class 'int'>; Expected a <class 'str'>. Got value: [1]",
    ),
]


@pytest.mark.parametrize(
    ("name", "edit", "expected"), CALLBACK_AND_LOGGER_CASES, ids=[c[0] for c in CALLBACK_AND_LOGGER_CASES]
)
def test_bad_callback_or_logger_argument_in_a_config_file(tmp_path, monkeypatch, capsys, name, edit, expected):
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, ["fit", "-c", config_with(tmp_path, edit)])
    assert line == expected


OUTPUT_CASES = [
    (
        "logger_save_dir",
        lambda c: logger(c)["init_args"].update(save_dir="afile/runs"),
        "trainer.logger.init_args.save_dir",
        "afile/runs/logistic/version_0",
    ),
    (
        "checkpoint_dirpath",
        lambda c: section(c, "checkpoint").update(dirpath="afile/ckpt"),
        "checkpoint.dirpath",
        "{tmp}/afile/ckpt",
    ),
    (
        "predictions_dirpath",
        lambda c: section(c, "predictions").update(dirpath="afile/out"),
        "predictions.dirpath",
        "afile/out",
    ),
    (
        "no_logger_root_dir",
        lambda c: c["trainer"].update(logger=False, default_root_dir="afile/root"),
        "trainer.default_root_dir",
        "afile/root",
    ),
]


@pytest.mark.parametrize(("name", "edit", "key", "directory"), OUTPUT_CASES, ids=[c[0] for c in OUTPUT_CASES])
def test_an_output_directory_that_cannot_be_created(tmp_path, monkeypatch, capsys, name, edit, key, directory):
    (tmp_path / "afile").write_text("a file, not a directory\n")
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, ["fit", "-c", config_with(tmp_path, edit)])
    assert (
        line == f"error: {key}: cannot create {directory.format(tmp=tmp_path)}: {tmp_path / 'afile'} is not a directory"
    )


def test_validate_without_validation_rows(tmp_path, monkeypatch, capsys):
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, ["validate", "-c", LOGISTIC])
    assert line == (
        "error: data.init_args.val_fraction: 0 holds out no rows for `validate`; set a share, e.g. "
        "--data.init_args.val_fraction=0.2 (the fit's value validates on the rows that fit held out)"
    )


SHAPE_CASES = [
    ("trainer_list", lambda c: c.update(trainer=[1, 2]), "trainer must be a mapping of Trainer arguments, got a list"),
    (
        "one_callback_not_in_a_list",
        lambda c: c["trainer"].update(callbacks={"class_path": "lit_basics.callbacks.UpdateLog"}),
        "trainer.callbacks must be a list (one '- class_path: ...' entry each), got a dict",
    ),
    (
        "empty_init_args",
        lambda c: c["model"].update(init_args=None),
        "model.init_args must be a mapping of argument: value, got nothing",
    ),
    (
        "callback_init_args_list",
        lambda c: c["trainer"].update(callbacks=[{"class_path": "x.Y", "init_args": [1]}]),
        "trainer.callbacks[0].init_args must be a mapping of argument: value, got a list",
    ),
]


@pytest.mark.parametrize(("name", "edit", "expected"), SHAPE_CASES, ids=[c[0] for c in SHAPE_CASES])
def test_a_config_section_of_the_wrong_shape(tmp_path, monkeypatch, capsys, name, edit, expected):
    path = config_with(tmp_path, edit)
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, ["fit", "-c", path])
    assert line == f"error: {path}: {expected}"


def test_missing_config_file(tmp_path, monkeypatch, capsys):
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, ["fit", "-c", "nope.yaml"])
    assert line == f"error: config: File does not exist: '{tmp_path / 'nope.yaml'}'"


def test_empty_config_file(tmp_path, monkeypatch, capsys):
    path = tmp_path / "inputs" / "empty.yaml"
    path.parent.mkdir()
    path.write_text("# nothing yet\n")
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, ["fit", "-c", str(path)])
    assert line == f"error: {path}: is empty: a config is a mapping of sections (model:, data:, trainer:, ...)"


def test_config_file_that_is_not_yaml(tmp_path, monkeypatch, capsys):
    config = tmp_path / "inputs" / "broken.yaml"
    config.parent.mkdir()
    config.write_text("model:\n  class_path: lit_basics.models.LinearRegression\n  init_args: {lr: [\n")
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, ["fit", "-c", LINEAR, "-c", str(config)])
    assert line.startswith(f"error: {config}:4: not valid YAML: ")


@pytest.mark.parametrize("key", ["in_features", "num_classes"])
def test_linked_key_in_a_config_file(tmp_path, monkeypatch, capsys, key):
    config = tmp_path / "inputs" / "mine.yaml"
    config.parent.mkdir()
    config.write_text(f"model:\n  class_path: lit_basics.models.SoftmaxRegression\n  init_args:\n    {key}: 4\n")
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, ["fit", "-c", LINEAR, "-c", str(config)])
    source = "data.num_features" if key == "in_features" else "data.num_classes"
    assert line == f"error: model.init_args.{key} is set from the data ({source}); remove it from {config}"


# --- checkpoints from elsewhere ------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory) -> Path:
    """A real checkpoint of the logistic config (50 updates): its run directory."""
    directory = tmp_path_factory.mktemp("good")
    old, argv = os.getcwd(), sys.argv
    os.chdir(directory)
    sys.argv = ["lit-basics"]
    try:
        cli = cli_main(["fit", "-c", LOGISTIC, "--trainer.max_steps=50", "--trainer.enable_progress_bar=false"])
    finally:
        os.chdir(old)
        sys.argv = argv
    assert cli is not None
    return directory / cli.trainer.log_dir


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


def test_checkpoint_that_names_no_model_is_refused(tmp_path, monkeypatch, capsys, good_checkpoint):
    checkpoint = torch.load(good_checkpoint / "checkpoints" / "last.ckpt", weights_only=True)
    checkpoint["hyper_parameters"].pop("_class_path")
    path = tmp_path / "inputs" / "other.ckpt"
    path.parent.mkdir()
    torch.save(checkpoint, path)
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, ["test", "-c", LINEAR, f"--ckpt_path={path}"])
    assert line == f"error: ckpt_path: {path}: its hyperparameters name no lit_basics model (_class_path)"


def test_checkpoint_of_another_model_is_refused(tmp_path, monkeypatch, capsys, good_checkpoint):
    path = good_checkpoint / "checkpoints" / "last.ckpt"  # logistic regression on 2 features
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, ["predict", "-c", LINEAR, f"--ckpt_path={path}"])
    assert line == (
        f"error: ckpt_path: {path}: a checkpoint of LogisticRegression, but the configured model is "
        "LinearRegression: use the config the checkpoint was trained with"
    )


def test_checkpoint_of_a_model_for_other_data_is_refused(tmp_path, monkeypatch, capsys, good_checkpoint):
    path = good_checkpoint / "checkpoints" / "last.ckpt"  # logistic regression on 2 features
    data = write_data(tmp_path, "1.0,2.0,3.0,1\n4.0,5.0,7.0,0\n2.0,9.0,1.0,1\n5.0,1.0,2.0,0\n")  # 3 features
    line = run_cli_expecting_error(
        tmp_path,
        monkeypatch,
        capsys,
        ["predict", "-c", LOGISTIC, f"--data.init_args.path={data}", f"--ckpt_path={path}"],
    )
    assert line == f"error: ckpt_path: {path}: its w has shape (2, 1), the configured model's (3, 1)"


@pytest.mark.parametrize("command", ["validate", "test", "predict"])
def test_evaluating_last_without_a_trained_run(tmp_path, monkeypatch, capsys, command):
    # Lightning would warn and evaluate the untrained model.
    line = run_cli_expecting_error(
        tmp_path, monkeypatch, capsys, [command, "-c", LOGISTIC, "--data.val_fraction=0.2", "--ckpt_path=last"]
    )
    assert line == "error: ckpt_path: last: no checkpoint under runs/logistic/version_*/checkpoints"


def test_an_untrusted_hpc_checkpoint_is_refused(tmp_path, monkeypatch, capsys, good_checkpoint):
    evil_module(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = Path(crafted_checkpoint(good_checkpoint, tmp_path, "instantiator"))
    (tmp_path / "runs").mkdir()
    path.rename(tmp_path / "runs" / "hpc_ckpt_2.ckpt")
    line = run_cli_expecting_error(tmp_path, monkeypatch, capsys, ["predict", "-c", LOGISTIC, "--ckpt_path=hpc"])
    assert line.startswith("error: runs/hpc_ckpt_2.ckpt: refused: the checkpoint names a function to call")
    assert not (tmp_path / MARKER).exists()


def test_own_checkpoints_pass_the_check(good_checkpoint):
    checkpoint = check_checkpoint(good_checkpoint / "checkpoints" / "last.ckpt")
    assert checkpoint["hyper_parameters"]["_class_path"] == "lit_basics.models.LogisticRegression"
    model = LogisticRegression.load_from_checkpoint(good_checkpoint / "checkpoints" / "last.ckpt")
    torch.testing.assert_close(model.w, checkpoint["state_dict"]["w"])


def test_help_and_print_config_still_work(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for args in (["--help"], ["fit", "--help"], ["fit", "-c", LINEAR, "--print_config"], ["tour", "--help"]):
        with pytest.raises(SystemExit) as exit_info:
            cli_main(args)
        assert exit_info.value.code == 0
    assert capsys.readouterr().out.count("usage:") == 3
    assert list(tmp_path.iterdir()) == []


# --- divergence ----------------------------------------------------------------------------


@pytest.mark.parametrize("optimization", ["automatic", "manual"])
def test_divergence_stops_at_once_and_saves_no_checkpoint(tmp_path, monkeypatch, capsys, optimization):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli_main(
            ["fit", "-c", LINEAR, "--model.lr=1", "--trainer.max_steps=50", f"--model.optimization={optimization}"]
        )
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.rstrip().splitlines()
    assert lines[-1].startswith(
        "error: update 11: the loss is inf (not finite): training stopped, these weights were not saved;"
    )
    assert (
        "try a smaller learning rate than model.init_args.lr=1.0 (gradient descent is stable below 2/λmax = 0.02315)"
        in lines[-1]
    )
    # Announced before training: the bound, named.
    assert any(line.startswith("warning: model.init_args.lr=1 is not below 2/λmax = 0.02315") for line in lines)
    assert not list(tmp_path.rglob("*.ckpt"))


def test_divergence_is_caught_before_a_checkpoint_when_checked_at_a_cadence(tmp_path, monkeypatch, capsys):
    """Off the single-CPU path (DDP, accelerators) the check runs at a cadence, and before every
    checkpoint: an epoch-end checkpoint after the bad update is never written."""
    monkeypatch.chdir(tmp_path)
    config = config_with(
        tmp_path,
        lambda c: (
            section(c, "divergence_stop").update(check_every_n_updates=40),
            c["data"]["init_args"].update(passes_per_epoch=5),
        ),
    )
    with pytest.raises(SystemExit):
        cli_main(
            ["fit", "-c", config, "-c", LINEAR, "--model.lr=1", "--trainer.max_steps=50", "--data.passes_per_epoch=5"]
        )
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


def test_copy_of_config_is_not_shared():
    """(config_with edits a deep copy: the repository's configs are never changed.)"""
    original = Path(LOGISTIC).read_text()
    edited = copy.deepcopy(yaml.safe_load(original))
    edited["model"]["init_args"]["lr"] = 5
    assert Path(LOGISTIC).read_text() == original


def test_a_callback_whose_package_is_missing(tmp_path, monkeypatch, capsys):
    if importlib.util.find_spec("rich") is not None:
        pytest.skip("rich is installed here")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:  # (run_cli_expecting_error switches progress bars off)
        cli_main(["fit", "-c", LOGISTIC, "--trainer.callbacks+=RichProgressBar"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: trainer.callbacks.RichProgressBar.init_args: `RichProgressBar` requires `rich`")
    assert "Traceback" not in "\n".join(err)
    assert files_under(tmp_path) == set()


# --- this round: empty paths, more Trainer divisors, always-on callbacks, faults mid-run ---------


EMPTY_PATH_CASES = [
    (["fit", "-c", LOGISTIC, "--ckpt_path="], "error: ckpt_path: is empty: give a file, or leave the option out"),
    (
        ["predict", "-c", LOGISTIC, "--ckpt_path= "],
        "error: ckpt_path: is empty: give a file, or leave the option out",
    ),
    (
        ["fit", "-c", LOGISTIC, "--data.path="],
        "error: data.init_args.path: is empty: give a file, or leave the option out",
    ),
    (
        ["predict", "-c", LOGISTIC, "--data.predict_path="],
        "error: data.init_args.predict_path: is empty: give a file, or leave the option out",
    ),
    (
        ["fit", "--model=LinearRegression", "--data=ArrayDataModule", "--data.path="],
        "error: data.init_args.path: is empty: give a file, or leave the option out",
    ),
    (
        ["test", "-c", LOGISTIC, "--trainer.default_root_dir="],
        "error: trainer.default_root_dir: is empty: give a directory, or leave the option out",
    ),
    (
        ["fit", "-c", LOGISTIC, "--checkpoint.dirpath="],
        "error: checkpoint.dirpath: is empty: give a directory, or leave the option out",
    ),
]


@pytest.mark.parametrize(("args", "expected"), EMPTY_PATH_CASES)
def test_an_empty_path_option_in_any_subcommand(tmp_path, monkeypatch, capsys, args, expected):
    assert run_cli_expecting_error(tmp_path, monkeypatch, capsys, args) == expected


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (
            "--trainer.val_check_interval=0",
            "error: trainer.val_check_interval must be a share of the epoch in (0, 1] or a number of batches >= 1, "
            "or null, got 0",
        ),
        (
            "--trainer.val_check_interval=0.0",
            "error: trainer.val_check_interval must be a share of the epoch in (0, 1] or a number of batches >= 1, "
            "or null, got 0.0",
        ),
    ],
)
def test_trainer_values_lightning_divides_by(tmp_path, monkeypatch, capsys, option, expected):
    args = ["fit", "-c", LOGISTIC, "--data.val_fraction=0.2", option]
    assert run_cli_expecting_error(tmp_path, monkeypatch, capsys, args) == expected


def test_an_always_on_callback_listed_again(tmp_path, monkeypatch, capsys):
    line = run_cli_expecting_error(
        tmp_path, monkeypatch, capsys, ["fit", "-c", LOGISTIC, "--trainer.callbacks+=lit_basics.callbacks.UpdateLog"]
    )
    assert line == (
        "error: trainer.callbacks: UpdateLog is attached to every run: configure it under `update_log:` "
        "(e.g. --update_log.<argument>=...) instead of listing it"
    )


def test_a_run_without_a_config_stops_on_divergence(tmp_path, monkeypatch, capsys):
    """No config file: the divergence stop is on, the exit is 2, no checkpoint holds inf."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["fit", "--model=LinearRegression", "--data=LinearDataModule", "--model.lr=1", QUIET_BAR])
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.rstrip().splitlines()[-1]
    assert last.startswith(
        "error: update 11: the loss is inf (not finite): training stopped, these weights were not saved"
    )
    assert last.endswith("the logs up to it are in runs/linear/version_0")
    assert not list(tmp_path.rglob("*.ckpt"))


QUIET_BAR = "--trainer.enable_progress_bar=false"


def test_a_disk_that_fills_up_mid_run(tmp_path, monkeypatch, capsys):
    """A write that finds no room (ENOSPC at the third checkpoint) ends the run with one line naming
    the path and what was kept; the checkpoints kept load, the logs read back."""
    import errno

    import lightning.fabric.utilities.cloud_io as cloud_io

    monkeypatch.chdir(tmp_path)
    real_save = cloud_io._atomic_save
    saves = []

    def save(checkpoint, filepath):
        saves.append(str(filepath))
        if len(saves) == 3:
            with open(filepath, "wb") as f:  # half a checkpoint, as an interrupted copy leaves it
                f.write(b"PK\x03\x04 truncated")
            raise OSError(errno.ENOSPC, "No space left on device", str(filepath))
        real_save(checkpoint, filepath)

    monkeypatch.setattr("lightning.fabric.plugins.io.torch_io._atomic_save", save)
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["fit", "-c", LOGISTIC, "--trainer.max_steps=1000", QUIET_BAR])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.rstrip().splitlines()[-1]
    failed = saves[2]
    assert last.startswith(f"error: {failed}: No space left on device: the run stopped after 300 update(s); ")
    assert "its logs up to then are in runs/logistic/version_0" in last
    assert (
        "the last complete checkpoint is runs/logistic/version_0/checkpoints/epoch=1-step=200.ckpt (update 200)" in last
    )
    assert f"removed the incomplete {failed}" in last
    for path in (tmp_path / "runs").rglob("*.ckpt"):
        assert torch.load(path, weights_only=True)["global_step"] == 200
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "runs" / "logistic" / "version_0"), size_guidance={"scalars": 0})
    events.Reload()
    assert [e.step for e in events.Scalars("train/loss")][:300] == list(range(300))


@pytest.mark.slow
def test_a_real_full_disk(tmp_path):
    """The same on a real 1 MiB file system (tmpfs): where the write really fails is not chosen."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN)")
    try:
        out = subprocess.run(
            [sys.executable, "-m", "lit_basics", "fit", "-c", LOGISTIC, "--trainer.max_steps=100000", QUIET_BAR],
            cwd=disk,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert out.returncode == 2, out.stderr[-2000:]
        assert "Traceback" not in out.stderr
        last = out.stderr.rstrip().splitlines()[-1]
        assert last.startswith("error: ")
        assert "No space left on device: the run stopped after " in last
        assert str(disk) not in last  # paths relative to the run's working directory
        assert "/tmp" not in last.split(":")[1]  # names the run's file, not a temporary copy
        for path in disk.rglob("*.ckpt"):
            if not path.is_symlink():
                torch.load(path, weights_only=True)  # every checkpoint left loads
    finally:
        subprocess.run(["umount", str(disk)], check=False)


MOMENTUM_CASES = [
    (
        ["fit", "-c", LINEAR, "--model.momentum=-0.5"],
        "error: model.init_args.momentum must be a finite number >= 0, got -0.5",
    ),
    (
        ["fit", "-c", LINEAR, "--model.momentum=1"],
        "error: model.init_args.momentum must be in [0, 1) (the velocity would grow without bound), got 1.0",
    ),
    (
        ["fit", "-c", LINEAR, "--model.momentum=auto"],
        "error: model.init_args.momentum 'auto' needs lr='auto' too: the best β goes with its own step",
    ),
    (
        ["fit", "-c", LINEAR, "--model.nesterov=true"],
        "error: model.init_args.nesterov needs momentum > 0 (Nesterov's update looks ahead along the velocity)",
    ),
    (
        ["fit", "-c", LINEAR, "--model.lr=auto", "--model.optimizer=Adam"],
        "error: model.init_args.lr 'auto' is a step of gradient descent (optimizer SGD), not of Adam",
    ),
    (
        ["fit", "-c", LINEAR, "--model.momentum=0.9", "--model.optimizer_kwargs={momentum: 0.5}"],
        "error: model.init_args.momentum is given twice: as momentum=0.9/nesterov=False and in optimizer_kwargs "
        "(momentum): give it once, as momentum (and nesterov)",
    ),
    (
        ["fit", "-c", LINEAR, "--model.lr=auto", "--data.batch_size=5"],
        "error: model.init_args.lr: 'auto' needs full-batch data (data.init_args.batch_size null, shuffle false): "
        "it is computed from every training row",
    ),
    (
        ["fit", "-c", LINEAR, "--model.lr=fast"],
        "error: model.init_args.lr: Expected a <class 'float'>; Expected a typing.Literal['auto']. Got value: fast",
    ),
]
#: compare runs fit's variants: its mistakes are the same one line, nothing left behind.
COMPARE_CASES = [
    (["compare"], "error: compare: needs a model: -c <config> (or --model X --data Y)"),
    (["compare", "-c", "nope.yaml"], "error: compare: nope.yaml: cannot read the config: No such file or directory"),
    (
        ["compare", "-c", LINEAR, "--model.momentum=2"],
        "error: model.init_args.momentum must be in [0, 1) (the velocity would grow without bound), got 2.0",
    ),
]


@pytest.mark.parametrize(("args", "expected"), MOMENTUM_CASES + COMPARE_CASES)
def test_momentum_auto_and_compare_mistakes(tmp_path, monkeypatch, capsys, args, expected):
    assert run_cli_expecting_error(tmp_path, monkeypatch, capsys, args) == expected
