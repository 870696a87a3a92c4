"""The manual twin's updates drive Lightning's step count (max_steps, checkpoints, logs), also when
one Lightning step takes many of them (updates_per_step)."""

from __future__ import annotations

import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from lit_basics.data import FullBatch, LogisticDataModule
from lit_basics.models import LogisticRegression, NotesSGD
from tests.helpers import MemoryLogger, tiny_trainer

TWINS = [("automatic", 1), ("manual", 1), ("manual", 100), ("manual", 7)]
IDS = ["automatic", "manual", "manual-100", "manual-7"]


@pytest.mark.parametrize(("optimization", "per_step"), TWINS, ids=IDS)
def test_max_steps_stops_and_epochs_count_passes(optimization, per_step):
    model = LogisticRegression(optimization=optimization, updates_per_step=per_step)
    trainer = tiny_trainer(37)
    trainer.fit(model, LogisticDataModule(passes_per_epoch=10))
    assert trainer.global_step == 37
    # An epoch is 10 passes = 10 updates whatever a step takes: 3 whole epochs and 7 updates into a 4th.
    assert trainer.current_epoch == 4


@pytest.mark.parametrize(("optimization", "per_step"), TWINS[:3], ids=IDS[:3])
def test_checkpoints_every_n_updates(tmp_path, optimization, per_step):
    checkpoint = ModelCheckpoint(dirpath=tmp_path, every_n_train_steps=100, save_top_k=-1, save_last=True)
    model = LogisticRegression(optimization=optimization, updates_per_step=per_step)
    trainer = tiny_trainer(300, callbacks=[checkpoint], enable_checkpointing=True)
    trainer.fit(model, LogisticDataModule(passes_per_epoch=1000))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["epoch=0-step=100.ckpt", "epoch=0-step=200.ckpt", "epoch=0-step=300.ckpt", "last.ckpt"]
    state = torch.load(tmp_path / "last.ckpt", weights_only=True)
    assert state["global_step"] == 300
    torch.testing.assert_close(state["state_dict"]["w"], model.w.detach())


@pytest.mark.parametrize(("optimization", "per_step"), TWINS, ids=IDS)
def test_epoch_end_checkpoints_hold_the_epochs_updates(tmp_path, optimization, per_step):
    checkpoint = ModelCheckpoint(dirpath=tmp_path, save_top_k=-1)
    model = LogisticRegression(optimization=optimization, updates_per_step=per_step)
    trainer = tiny_trainer(250, callbacks=[checkpoint], enable_checkpointing=True)
    trainer.fit(model, LogisticDataModule(passes_per_epoch=100))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "epoch=0-step=100.ckpt",
        "epoch=1-step=200.ckpt",
        "epoch=2-step=250.ckpt",
    ]


# Epochs of 7 updates and flushes every 10: Lightning's notice about it assumes self.log per step.
@pytest.mark.filterwarnings("ignore:The number of training batches .7. is smaller than the logging interval")
@pytest.mark.parametrize(("optimization", "per_step"), TWINS, ids=IDS)
def test_step_indexed_logs_have_one_point_per_update(optimization, per_step):
    logger = MemoryLogger()
    trainer = tiny_trainer(25, logger=logger, log_every_n_steps=10)
    model = LogisticRegression(optimization=optimization, updates_per_step=per_step)
    trainer.fit(model, LogisticDataModule(passes_per_epoch=7))
    for tag in ("train/loss", "train/acc"):
        assert [step for step, _ in logger.metrics[tag]] == list(range(25)), tag


def test_mini_batches_get_one_update_per_step():
    model = LogisticRegression(optimization="manual", updates_per_step=100)
    dm = LogisticDataModule(batch_size=30, passes_per_epoch=2)
    trainer = tiny_trainer(10)
    trainer.fit(model, dm)
    assert trainer.global_step == 10
    batch = next(iter(dm.train_dataloader()))
    assert not isinstance(batch, FullBatch)
    assert model.updates_in_step(batch) == 1


def test_manual_twin_steps_the_notes_sgd():
    model = LogisticRegression(optimization="manual")
    assert isinstance(model.configure_optimizers(), NotesSGD)


def test_manual_twin_rejects_other_optimizers():
    with pytest.raises(ValueError, match=r"^optimizer must be 'SGD'"):
        LogisticRegression(optimization="manual", optimizer="Adam")
    with pytest.raises(ValueError, match=r"^optimizer must be 'SGD'"):
        LogisticRegression(optimization="manual", optimizer_kwargs={"momentum": 0.9})
