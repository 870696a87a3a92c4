"""``shard=True``: each DDP process reads and keeps only its rows; whatever comes from every row
(the scaling, the levels, the exact optimum, the diagnosis, the coefficient table) is a sum over
the shards and equals one process's. Oracles: the same table read whole (``shard=False``), and one
process."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import pytest
import torch
from palmerpenguins import load_penguins

from lit_basics.callbacks import CoefficientsCSV
from lit_basics.cli.app import planned_processes
from lit_basics.coefficients import data_fit_answer
from lit_basics.data import ArrayDataModule, DataFileError
from lit_basics.data.reader import read_batches, read_table
from lit_basics.data.scaling import ColumnMoments
from lit_basics.diagnostics import diagnose_fit
from lit_basics.errors import ArgumentError
from lit_basics.models import LinearRegression, LogisticRegression, PolynomialRegression, SoftmaxRegression
from tests.helpers import tiny_trainer

REPO = Path(__file__).resolve().parents[1]
#: A mixed table: text features (island, sex), missing values (NA), class names (species).
TABLE = {"target": "species", "missing": "drop", "scale": "standardize", "val_fraction": 0.2, "categorical": ["year"]}


def penguins(tmp_path: Path, suffix: str = ".csv") -> Path:
    frame = load_penguins().sample(frac=1.0, random_state=1).reset_index(drop=True)
    path = tmp_path / f"penguins{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False, na_rep="NA")
    return path


def one_process(dm: ArrayDataModule) -> ArrayDataModule:
    """``dm`` set up as a one-process fit sets it up (a shard=True module reads its rows then)."""
    trainer = tiny_trainer(1)
    dm.trainer = trainer
    dm.setup("fit")
    return dm


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_one_process_shard_is_the_table_read_whole(tmp_path, suffix):
    path = penguins(tmp_path, suffix)
    whole = ArrayDataModule(path=str(path), **TABLE)
    shard = ArrayDataModule(path=str(path), shard=True, **TABLE)
    # Known before any row is held: what the CLI links and prints.
    assert shard.x.shape[0] == 0
    assert (shard.num_features, shard.num_classes, shard.feature_names) == (
        whole.num_features,
        whole.num_classes,
        whole.feature_names,
    )
    assert shard.describe() == whole.describe()
    assert shard.encoding.state_dict() == whole.encoding.state_dict()
    one_process(shard)
    # The training rows first, then the held-out ones: both splits are views of one block.
    for split in ("_train_index", "_val_index"):
        assert torch.equal(shard._rows(getattr(shard, split))[1], whole._rows(getattr(whole, split))[1])
        assert torch.allclose(shard._rows(getattr(shard, split))[0], whole._rows(getattr(whole, split))[0], atol=1e-6)
    x, _ = shard.training_rows()
    assert x.data_ptr() == shard.x.data_ptr()  # a view, not a copy
    torch.testing.assert_close(shard.scaling.offset, whole.scaling.offset, rtol=1e-13, atol=1e-12)
    torch.testing.assert_close(shard.scaling.divisor, whole.scaling.divisor, rtol=1e-13, atol=0)


@pytest.mark.parametrize(
    ("text", "kwargs"),
    [
        ("a,b,y\n1,NA,0\n2,NA,1\n", {"missing": "drop"}),  # a column all missing
        ("a,y\n1,x\n2,x\n", {}),  # one class
        ("a,y\n1,u\n2,v\n", {"num_classes": 3}),  # num_classes against the class names
        ("a,y\n1,2\n?,3\n4,5\n", {}),  # a missing value
        ("a,y\n1,0\n2,1.5\n", {"num_classes": 2}),  # a class label out of range
        ("a,y\n1,0\n1e39,1\n", {}),  # a feature float32 cannot hold
        ("a,y\n1,0\n2,1e39\n", {}),  # a target float32 cannot hold
        ("k,y\nu,0\nu,1\n", {}),  # every categorical feature has one level
        ("a,y\n1,0\nNA,NA\n", {"missing": "drop"}),  # everything left after the drop: one row
    ],
)
def test_the_streaming_pass_refuses_what_the_whole_read_refuses(tmp_path, text, kwargs):
    path = tmp_path / "t.csv"
    path.write_text(text)
    errors = []
    for shard in (False, True):
        try:
            dm = ArrayDataModule(path=str(path), shard=shard, **kwargs)
        except (DataFileError, ArgumentError) as exc:
            errors.append((type(exc), str(exc)))
        else:
            errors.append((None, dm.describe()))
    assert errors[0] == errors[1]


def test_a_level_only_in_held_out_rows_is_named_by_the_streaming_pass(tmp_path):
    path = tmp_path / "rare.csv"
    rows = ["k,x,y"] + [f"{'a' if i % 2 else 'b'},{i},{i % 3}" for i in range(20)] + ["rare,5,1"]
    path.write_text("\n".join(rows) + "\n")
    seed = next(s for s in range(100) if 20 in torch.randperm(21, generator=torch.Generator().manual_seed(s))[:6])
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(path))}:22: column 1 \('k'\): level 'rare' was not"):
        ArrayDataModule(path=str(path), val_fraction=0.3, seed=seed, shard=True)


def test_read_batches_holds_the_rows_asked_for(tmp_path):
    path = penguins(tmp_path)
    whole = read_table(path, columns=[0, 2, 7])
    rows = np.random.default_rng(0).random(whole.num_rows) < 0.3
    parts = list(read_batches(path, columns=[0, 2, 7], text=[0], rows=rows))
    held = np.concatenate([p.file_rows for p in parts])
    assert np.array_equal(held, np.flatnonzero(rows))
    for c in (0, 2, 7):
        got = pd.concat([p.columns[c].to_pandas() for p in parts], ignore_index=True)
        expected = whole.columns[c].to_pandas()[rows].reset_index(drop=True)
        pd.testing.assert_series_equal(got, expected, check_names=False)


def test_column_moments_merge_to_the_two_pass_statistics():
    values = np.random.default_rng(3).normal(1e4, 3.0, size=(1001, 3))
    merged = ColumnMoments.empty(3)
    for start, stop in ((0, 1), (1, 400), (400, 401), (401, 1001)):
        part = ColumnMoments.empty(3)
        part.update(values[start:stop])
        merged.merge(part)
    np.testing.assert_allclose(merged.mean, values.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(merged.m2 / merged.count, values.var(axis=0), rtol=1e-10)
    np.testing.assert_array_equal(merged.top, values.max(axis=0))


@pytest.mark.parametrize(
    ("trainer", "processes"),
    [
        ({"devices": 2, "strategy": "ddp"}, 2),
        ({"devices": "2", "num_nodes": 2}, 4),
        ({"devices": [0, 1, 3]}, 3),
        ({"devices": "0,1"}, 2),
        ({"devices": 1}, 1),
        ({"devices": "auto", "accelerator": "cpu"}, 1),
        ({"devices": 4, "strategy": "single_device"}, 1),
    ],
)
def test_the_cli_counts_the_processes_a_configuration_runs(trainer, processes):
    assert planned_processes(trainer) == processes


class Probe(pl.Callback):
    """At the fit's start, what every row gives, written per process as JSON."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def on_fit_start(self, trainer, pl_module):
        dm = trainer.datamodule
        diagnosis, _ = diagnose_fit(trainer, pl_module, dm)
        assert diagnosis is not None
        x, _ = dm.training_rows()
        found = {
            "rows_held": int(dm.x.shape[0]),
            "training_rows_held": int(x.shape[0]),
            "offset": dm.scaling.offset.tolist(),
            "divisor": dm.scaling.divisor.tolist(),
            "encoding": dm.encoding.state_dict(),
            "optimum_loss": diagnosis.optimum.loss,
            "optimum": torch.cat([diagnosis.optimum.w.flatten(), diagnosis.optimum.b.flatten()]).tolist(),
            "condition_number": diagnosis.condition_number,
            "max_stable_lr": diagnosis.max_stable_lr,
            "standardized": dm.standardized_training_features().sum(dim=0).tolist(),
            "numeric": dm.encoding.numeric_inputs,
        }
        # The coefficient table at the optimum (a collective: every process computes it).
        saved = pl_module.w.detach().clone(), pl_module.b.detach().clone()
        with torch.no_grad():
            pl_module.w.copy_(diagnosis.optimum.w.reshape(pl_module.w.shape))
            pl_module.b.copy_(diagnosis.optimum.b.reshape(pl_module.b.shape))
            answer = data_fit_answer(pl_module, dm, best=diagnosis.optimum, warn=False)
            pl_module.w.copy_(saved[0])
            pl_module.b.copy_(saved[1])
        table = answer.table
        found["table"] = {column: table.column(column) for column in ("estimate", "std_error", "statistic")}
        found["glance"] = {k: v for k, v in answer.glance.as_dict().items() if not math.isnan(v)}
        (self.directory / f"rank{trainer.global_rank}-of-{trainer.world_size}.json").write_text(json.dumps(found))


#: (model, its arguments, the data module's): softmax (Newton, the Hessian's sums), least squares
#: (the TSQR of the shards' R factors, the refinement's extended-precision sums), a Legendre
#: polynomial (the map of x learned from every shard's extremes).
FITS = {
    "softmax": (SoftmaxRegression, {"num_classes": 3, "lr": 0.5, "l2": 0.01}, TABLE),
    # Robust standard errors: the leverages and the scores' sums over every shard's rows.
    "least-squares": (LinearRegression, {"lr": 0.1, "std_errors": "HC3"}, {**TABLE, "target": "body_mass_g"}),
    "legendre": (
        PolynomialRegression,
        {"degree": 3, "basis": "legendre", "lr": 0.1},
        {"target": "body_mass_g", "features": ["flipper_length_mm"], "missing": "drop", "val_fraction": 0.2},
    ),
}


def _fit(path: Path, out: Path, devices: int, shard: bool, case: str) -> None:
    torch.manual_seed(0)
    model_cls, model_kwargs, data_kwargs = FITS[case]
    dm = ArrayDataModule(path=str(path), shard=shard, passes_per_epoch=10, **data_kwargs)
    if model_cls is not PolynomialRegression:
        model_kwargs = {"in_features": dm.num_features, **model_kwargs}
    model = model_cls(**model_kwargs)
    callbacks = [Probe(out), CoefficientsCSV(dirpath=str(out), filename=f"coefficients-{devices}.csv")]
    trainer = tiny_trainer(
        20, devices=devices, strategy="ddp_spawn" if devices > 1 else "auto", callbacks=callbacks, watch=False
    )
    trainer.fit(model, dm)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


@pytest.mark.parametrize("case", ["softmax", "least-squares", pytest.param("legendre", marks=pytest.mark.slow)])
def test_two_processes_each_hold_their_shard_and_agree_with_one(tmp_path, case):
    path = penguins(tmp_path)
    _fit(path, tmp_path, 1, shard=False, case=case)
    _fit(path, tmp_path, 2, shard=True, case=case)
    one = json.loads((tmp_path / "rank0-of-1.json").read_text())
    ranks = [json.loads((tmp_path / f"rank{r}-of-2.json").read_text()) for r in range(2)]
    # Each process holds half the rows (its training block and its held-out block), not all.
    assert sum(r["rows_held"] for r in ranks) == one["rows_held"]
    assert sum(r["training_rows_held"] for r in ranks) == one["training_rows_held"]
    assert abs(ranks[0]["training_rows_held"] - ranks[1]["training_rows_held"]) <= 1
    for rank in ranks:
        assert rank["encoding"] == one["encoding"]
        np.testing.assert_allclose(rank["offset"], one["offset"], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(rank["divisor"], one["divisor"], rtol=1e-12)
        np.testing.assert_allclose(rank["optimum"], one["optimum"], rtol=1e-6, atol=1e-9)
        assert rank["optimum_loss"] == pytest.approx(one["optimum_loss"], rel=1e-9)
        assert rank["condition_number"] == pytest.approx(one["condition_number"], rel=1e-6)
        assert rank["max_stable_lr"] == pytest.approx(one["max_stable_lr"], rel=1e-9)
        for column, values in one["table"].items():
            np.testing.assert_allclose(rank["table"][column], values, rtol=1e-6, atol=1e-9)
        assert rank["glance"].keys() == one["glance"].keys()
        for name, value in one["glance"].items():
            assert rank["glance"][name] == pytest.approx(value, rel=1e-6, abs=1e-9), name
    # The standardized numeric inputs (the scaling advice) sum to zero over every shard together;
    # the one-hot ones are left 0/1.
    numeric = np.array(one["numeric"])
    total = np.add(ranks[0]["standardized"], ranks[1]["standardized"])
    np.testing.assert_allclose(total[numeric], 0.0, atol=1e-3)
    np.testing.assert_allclose(total[~numeric], np.array(one["standardized"])[~numeric], atol=1e-3)
    # The fit's coefficient table, computed by both processes from the shards' sums, written by
    # rank 0, at parameters float32 training reached in another summation order.
    a = pd.read_csv(tmp_path / "coefficients-1.csv")
    b = pd.read_csv(tmp_path / "coefficients-2.csv")
    assert list(a["term"]) == list(b["term"])
    for column in ("estimate", "std_error", "statistic"):
        np.testing.assert_allclose(b[column], a[column], rtol=1e-4, atol=1e-7)


@pytest.mark.slow
def test_the_cli_reads_shards_under_ddp_and_says_what_one_process_says(tmp_path):
    """`lit-basics fit` on 2 processes: shard=True by itself, the same fit-start lines and table."""
    path = penguins(tmp_path)
    outputs = {}
    for devices, strategy in ((1, "auto"), (2, "ddp")):
        run_dir = tmp_path / f"d{devices}"
        run_dir.mkdir()
        command = [
            sys.executable,
            "-m",
            "lit_basics",
            "fit",
            "--model=LogisticRegression",
            "--model.init_args.lr=auto",
            "--data=ArrayDataModule",
            f"--data.init_args.path={path}",
            "--data.init_args.target=sex",
            "--data.init_args.missing=drop",
            "--data.init_args.scale=standardize",
            "--data.init_args.val_fraction=0.2",
            "--trainer.accelerator=cpu",
            f"--trainer.devices={devices}",
            f"--trainer.strategy={strategy}",
            "--trainer.max_steps=200",
            "--trainer.enable_progress_bar=false",
        ]
        out = subprocess.run(command, cwd=run_dir, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-3000:]
        outputs[devices] = out.stdout
        [config] = run_dir.glob("runs/logistic/version_0/config.yaml")
        assert ("shard: true" in config.read_text()) == (devices == 2)
    lines = {d: [line for line in text.splitlines() if line.startswith(("Automatic:", "Gradient descent:"))]
             for d, text in outputs.items()}  # fmt: skip
    assert len(lines[1]) == 2
    assert lines[2] == lines[1]
    assert "each process reads its shard of the rows" in outputs[2]
    # Said in so many words, shard=false is kept: every process reads the whole table.
    command = [*command[:-3], "--data.init_args.shard=false", *command[-3:]]
    out = subprocess.run(command, cwd=run_dir, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "each process reads its shard" not in out.stdout
    assert "shard: false" in next(run_dir.glob("runs/logistic/version_1/config.yaml")).read_text()
    tables = {
        d: pd.read_csv(next((tmp_path / f"d{d}").glob("runs/logistic/version_0/coefficients.csv"))) for d in (1, 2)
    }
    np.testing.assert_allclose(tables[2]["estimate"], tables[1]["estimate"], rtol=1e-5)
    np.testing.assert_allclose(tables[2]["std_error"], tables[1]["std_error"], rtol=1e-5)


def test_predicting_the_data_file_in_shards_is_refused(tmp_path):
    path = penguins(tmp_path)
    dm = one_process(ArrayDataModule(path=str(path), shard=True, **TABLE))
    dm.predict_dataloader()  # one process: its shard is every row
    dm.row_shards.strategy = type("TwoProcesses", (), {"world_size": 2, "global_rank": 0})()
    with pytest.raises(ArgumentError, match="shard"):
        dm.predict_dataloader()


def test_shard_needs_a_table():
    with pytest.raises(ArgumentError, match=r"^shard"):
        ArrayDataModule(x=[[1.0], [2.0]], y=[0.0, 1.0], shard=True)
    with pytest.raises(ArgumentError, match=r"^shard"):
        ArrayDataModule(x=[[1.0], [2.0]], y=[0.0, 1.0], shard="yes")  # type: ignore[arg-type]


def test_logistic_regression_on_two_class_names_in_shards(tmp_path):
    path = penguins(tmp_path)
    dm = ArrayDataModule(path=str(path), target="sex", missing="drop", shard=True)
    assert dm.targets_are_binary()
    model = LogisticRegression(in_features=dm.num_features)
    trainer = tiny_trainer(3)
    trainer.fit(model, dm)
    assert dm.y.unique().tolist() == [0, 1]


def test_a_parquet_shard_reads_only_its_row_groups(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    frame = pd.DataFrame({"x": np.arange(1000.0), "k": [f"k{i % 7}" for i in range(1000)], "y": np.arange(1000) % 2})
    path = tmp_path / "groups.parquet"
    frame.to_parquet(path, row_group_size=100)
    rows = np.zeros(1000, dtype=bool)
    rows[[5, 250, 251, 999]] = True
    read = []
    original = pq.ParquetFile.iter_batches

    def spy(self, *args, **kwargs):
        read.extend(kwargs["row_groups"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    parts = list(read_batches(path, columns=[0, 1, 2], text=[1], rows=rows))
    assert read == [0, 2, 9]
    assert np.concatenate([p.file_rows for p in parts]).tolist() == [5, 250, 251, 999]
    assert pd.concat([p.columns[1].to_pandas() for p in parts]).tolist() == ["k5", "k5", "k6", "k5"]
    assert pd.concat([p.columns[0].to_pandas() for p in parts]).tolist() == [5.0, 250.0, 251.0, 999.0]


@pytest.mark.slow
def test_a_sharded_fit_resumes_bit_for_bit_and_its_checkpoint_predicts(tmp_path):
    """Killed at 50 updates and resumed to 100 on 2 processes: the parameters of an uninterrupted
    100-update run, bit for bit; the checkpoint predicts new rows in one process."""
    frame = load_penguins().sample(frac=1.0, random_state=2).reset_index(drop=True)
    frame.iloc[:-20].to_csv(tmp_path / "train.csv", index=False, na_rep="NA")
    new = frame.iloc[-20:].drop(columns=["body_mass_g"])
    new.to_csv(tmp_path / "new.csv", index=False, na_rep="NA")
    # The same table, target and encoding for the fit and the predict.
    data = [
        "--data=ArrayDataModule",
        f"--data.init_args.path={tmp_path / 'train.csv'}",
        "--data.init_args.target=body_mass_g",
        "--data.init_args.missing=drop",
        "--data.init_args.scale=standardize",
        "--data.init_args.val_fraction=0.2",
    ]
    common = [
        sys.executable,
        "-m",
        "lit_basics",
        "fit",
        "--model=LinearRegression",
        "--model.init_args.lr=0.1",
        *data,
        "--data.init_args.passes_per_epoch=10",
        "--trainer.accelerator=cpu",
        "--trainer.devices=2",
        "--trainer.strategy=ddp",
        "--trainer.enable_progress_bar=false",
    ]
    states = {}
    for name, extra in (("whole", ["--trainer.max_steps=100"]), ("first", ["--trainer.max_steps=50"])):
        out = subprocess.run([*common, *extra], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-3000:]
        states[name] = torch.load(next(tmp_path.glob("runs/linear/version_*/checkpoints/last.ckpt")), weights_only=True)
        if name == "whole":
            (tmp_path / "runs").rename(tmp_path / "whole")
    out = subprocess.run(
        [*common, "--trainer.max_steps=100", "--ckpt_path=last"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.count("Resuming from") == 1
    resumed = torch.load(next(tmp_path.glob("runs/linear/version_0/checkpoints/last.ckpt")), weights_only=True)
    assert resumed["global_step"] == states["whole"]["global_step"] == 100
    for key in ("w", "b"):
        assert torch.equal(resumed["state_dict"][key], states["whole"]["state_dict"][key])
    # What the data learned is in the checkpoint, as a one-process fit stores it.
    assert resumed["ArrayDataModule"] == states["whole"]["ArrayDataModule"]
    checkpoint = next(tmp_path.glob("runs/linear/version_0/checkpoints/last.ckpt"))
    predict = [
        sys.executable,
        "-m",
        "lit_basics",
        "predict",
        "--model=LinearRegression",
        *data,
        f"--data.init_args.predict_path={tmp_path / 'new.csv'}",
        "--trainer.accelerator=cpu",
        f"--ckpt_path={checkpoint}",
    ]
    out = subprocess.run(predict, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    [written] = tmp_path.glob("runs/linear/version_*/predictions.csv")
    predictions = pd.read_csv(written)
    assert len(predictions) == 20
    complete = new.notna().all(axis=1).to_numpy()
    assert predictions["y_hat"].notna().to_numpy().tolist() == complete.tolist()


@pytest.mark.slow
def test_a_mistake_found_reading_the_shards_is_one_line_and_leaves_nothing(tmp_path):
    """A value that overflows float32 once scaled is found when the processes read their rows:
    every process stops, one error line is printed (rank 0's), and the run directory the logger
    had started is gone."""
    path = tmp_path / "t.csv"
    path.write_text("a,b,y\n" + "".join(f"1e-30,{i},{i % 2}\n" for i in range(20)) + "-1e10,3,1\n")
    command = [
        sys.executable,
        "-m",
        "lit_basics",
        "fit",
        "--model=LogisticRegression",
        "--data=ArrayDataModule",
        f"--data.init_args.path={path}",
        "--data.init_args.scale=max",
        "--trainer.accelerator=cpu",
        "--trainer.devices=2",
        "--trainer.strategy=ddp",
        "--trainer.max_steps=5",
        "--trainer.enable_progress_bar=false",
    ]
    out = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {path}:22: feature 1 ('a'): -1e+10 cannot be held in float32 once scaled (max)"]
    assert "Traceback" not in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]
