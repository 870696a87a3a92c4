"""DDP on CPU (gloo): parity with one process, disjoint shards, rank-0-only outputs, the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

from lit_basics.callbacks import DivergenceStop, UpdateLog
from lit_basics.data import IrisDataModule, LinearDataModule, LogisticDataModule, PolynomialDataModule
from lit_basics.models import LinearRegression, LogisticRegression, PolynomialRegression, SoftmaxRegression
from tests.helpers import params_of, tiny_trainer

REPO = Path(__file__).resolve().parents[1]
CASES = [
    (LinearRegression, LinearDataModule, 11, {}),  # 15 rows: shards of 7 and 8
    (PolynomialRegression, PolynomialDataModule, 101, {}),  # 61 rows: 30 and 31
    (LogisticRegression, LogisticDataModule, 200, {}),  # 100 rows: 50 and 50
    (LogisticRegression, LogisticDataModule, 200, {"l2": 0.01, "l1": 0.001}),
    (SoftmaxRegression, IrisDataModule, 150, {"l2": 0.01, "lr": 0.1}),  # 150 rows: 75 and 75
    (LinearRegression, LinearDataModule, 60, {"momentum": 0.8, "lr": 0.02}),  # the velocity, all-reduced
    (PolynomialRegression, PolynomialDataModule, 101, {"momentum": 0.7, "nesterov": True, "lr": 0.005}),
]
# Float32 summation order alone moves the parameters this much: softmax on iris (κ ≈ 2.9e4) after
# 150 updates ends 1.9e-6 (automatic) and 3.4e-6 (manual) apart with its rows merely permuted.
TOLERANCE = {SoftmaxRegression: 1e-5}


def fit(model_cls, dm_cls, updates, optimization, model_kwargs, **trainer_kwargs):
    torch.manual_seed(2017)
    model = model_cls(optimization=optimization, updates_per_step=50, **model_kwargs)
    if trainer_kwargs.get("precision") == "64-true":
        # ddp_spawn loads the spawned processes' weights into this model: float64 ones keep every bit.
        model.double()
    trainer = tiny_trainer(updates, **trainer_kwargs)
    trainer.fit(model, dm_cls(passes_per_epoch=100))
    return model, trainer


@pytest.mark.slow
@pytest.mark.parametrize("optimization", ["automatic", "manual"])
@pytest.mark.parametrize(
    ("model_cls", "dm_cls", "updates", "model_kwargs"),
    CASES,
    ids=["linear", "polynomial", "logistic", "logistic-penalised", "softmax", "linear-momentum", "polynomial-nesterov"],
)
def test_two_processes_match_one(model_cls, dm_cls, updates, model_kwargs, optimization):
    """Every update all-reduces (manual twin: 50 updates per step, each through manual_backward)."""
    single, _ = fit(model_cls, dm_cls, updates, optimization, model_kwargs)
    double, trainer = fit(model_cls, dm_cls, updates, optimization, model_kwargs, devices=2, strategy="ddp_spawn")
    assert trainer.world_size == 2
    relative = ((params_of(double) - params_of(single)).abs() / params_of(single).abs().clamp_min(1e-3)).max().item()
    assert relative <= TOLERANCE.get(model_cls, 1e-6), f"relative difference {relative:.3g}"


@pytest.mark.slow
@pytest.mark.parametrize("case", [0, 2, 4], ids=["linear", "logistic", "softmax"])
def test_two_processes_match_one_in_float64(case):
    """precision="64-true" under DDP: the shards are float64 too, and the float32 summation-order
    differences above shrink to float64's."""
    model_cls, dm_cls, updates, model_kwargs = CASES[case]
    single, _ = fit(model_cls, dm_cls, updates, "manual", model_kwargs, precision="64-true")
    double, trainer = fit(
        model_cls, dm_cls, updates, "manual", model_kwargs, precision="64-true", devices=2, strategy="ddp_spawn"
    )
    assert trainer.world_size == 2
    assert params_of(double).dtype == params_of(single).dtype == torch.float64
    relative = ((params_of(double) - params_of(single)).abs() / params_of(single).abs().clamp_min(1e-3)).max().item()
    assert relative <= 1e-12, f"relative difference {relative:.3g}"


@pytest.mark.slow
def test_divergence_stops_every_process_at_the_same_update(tmp_path):
    from lightning.pytorch.callbacks import ModelCheckpoint

    trainer = tiny_trainer(
        50,
        devices=2,
        strategy="ddp_spawn",
        callbacks=[
            UpdateLog(),
            DivergenceStop(),
            ModelCheckpoint(dirpath=tmp_path, every_n_train_steps=20),
        ],
        enable_checkpointing=True,
        log_every_n_steps=5,
    )
    torch.manual_seed(2017)
    # ddp_spawn re-raises a process's exception with its text. (Which update overflows first can
    # differ by one from a single process: each shard's mean overflows later than the whole mean.)
    with pytest.raises(Exception, match=r"DivergenceError: update 1[12]: the loss is"):
        trainer.fit(
            LinearRegression(lr=1.0, optimization="manual", updates_per_step=100),
            LinearDataModule(passes_per_epoch=100),
        )
    assert list(tmp_path.iterdir()) == []


class _RecordRows(pl.Callback):
    """Each rank writes the rows it trained on (first feature) and whether it logged."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def on_train_start(self, trainer, pl_module):
        self.rows: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.rows.extend(batch[0][:, 0].tolist())

    def on_train_end(self, trainer, pl_module):
        record = {"rank": trainer.global_rank, "rows": self.rows, "world_size": trainer.world_size}
        (self.directory / f"rank{trainer.global_rank}.json").write_text(json.dumps(record))


@pytest.mark.slow
def test_mini_batches_are_sharded_disjointly_and_only_rank_zero_writes(tmp_path):
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import TensorBoardLogger

    dm = LogisticDataModule(batch_size=16, passes_per_epoch=1)
    trainer = tiny_trainer(
        7,  # one epoch: ceil(50 / 16) = 4 batches per rank... and 3 of the next
        devices=2,
        strategy="ddp_spawn",
        logger=TensorBoardLogger(tmp_path / "logs", name="ddp"),
        callbacks=[
            _RecordRows(tmp_path),
            ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True),
        ],
        enable_checkpointing=True,
    )
    trainer.fit(LogisticRegression(), dm)
    records = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    first_epoch = [r["rows"][:50] for r in records]  # each rank's shard is 50 rows: 16 + 16 + 16 + 2
    assert set(first_epoch[0]).isdisjoint(first_epoch[1])
    assert sorted(first_epoch[0] + first_epoch[1]) == sorted(dm.x[:, 0].tolist())
    # One event file, one checkpoint directory: rank 0 only.
    assert len(list((tmp_path / "logs").rglob("events.out.tfevents.*"))) == 1
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["epoch=1-step=7.ckpt", "last.ckpt"]


@pytest.mark.slow
@pytest.mark.parametrize("optimization", ["automatic", "manual"])
def test_real_cli_ddp_matches_one_process(tmp_path, optimization):
    """`lit-basics fit ... --trainer.devices=2 --trainer.strategy=ddp` in a subprocess (ddp re-launches)."""
    results = {}
    for devices, strategy in ((1, "auto"), (2, "ddp")):
        run_dir = tmp_path / f"d{devices}"
        run_dir.mkdir()
        command = [
            sys.executable,
            "-m",
            "lit_basics",
            "fit",
            "-c",
            str(REPO / "configs" / "logistic.yaml"),
            "--trainer.accelerator=cpu",
            f"--trainer.devices={devices}",
            f"--trainer.strategy={strategy}",
            "--trainer.max_steps=300",
            f"--model.optimization={optimization}",
            "--trainer.enable_progress_bar=false",
        ]
        out = subprocess.run(command, cwd=run_dir, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        [ckpt] = run_dir.glob("runs/logistic/version_*/checkpoints/last.ckpt")
        state = torch.load(ckpt, weights_only=True)
        assert state["global_step"] == 300
        results[devices] = torch.cat([state["state_dict"]["w"].flatten(), state["state_dict"]["b"]])
        # Only rank 0 wrote: one version directory, one event file.
        assert len(list(run_dir.glob("runs/logistic/version_*"))) == 1
        assert len(list(run_dir.rglob("events.out.tfevents.*"))) == 1
        assert {p.name for p in run_dir.iterdir()} == {"runs"}
    relative = ((results[2] - results[1]).abs() / results[1].abs()).max().item()
    assert relative <= 1e-6


@pytest.mark.slow
def test_ddp_config_runs_on_two_cpu_processes(tmp_path):
    command = [
        sys.executable,
        "-m",
        "lit_basics",
        "fit",
        "-c",
        str(REPO / "configs" / "ddp.yaml"),
        "--trainer.accelerator=cpu",
        "--trainer.devices=2",
        "--trainer.max_steps=100",
        "--trainer.enable_progress_bar=false",
    ]
    out = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Trained 100 update(s)" in out.stdout
    assert len(list(tmp_path.glob("runs/logistic_ddp/version_0/checkpoints/last.ckpt"))) == 1


@pytest.mark.slow
def test_validation_metrics_are_reduced_over_ranks():
    """torchmetrics state is synced: 2 processes report the accuracy and loss of the whole split."""
    results = {}
    for devices, strategy in ((1, "auto"), (2, "ddp_spawn")):
        torch.manual_seed(2017)
        model = LogisticRegression()
        # 25 held-out rows: shards of 12 and 13, so an unweighted mean of rank means would differ.
        dm = LogisticDataModule(val_fraction=0.25, passes_per_epoch=100)
        trainer = tiny_trainer(100, devices=devices, strategy=strategy, num_sanity_val_steps=0)
        trainer.fit(model, dm)
        results[devices] = {k: float(trainer.callback_metrics[k]) for k in ("val/loss", "val/acc")}
    assert results[2]["val/acc"] == pytest.approx(results[1]["val/acc"], abs=1e-9)
    assert results[2]["val/loss"] == pytest.approx(results[1]["val/loss"], rel=1e-6)
