"""The manual twin's hand update still drives Lightning's step count: max_steps, checkpoints, logs."""

from __future__ import annotations

import pytest
import torch
from conftest import MemoryLogger, tiny_trainer
from lightning.pytorch.callbacks import ModelCheckpoint

from lit_basics.data import LogisticDataModule
from lit_basics.models import LogisticRegression


@pytest.mark.parametrize("optimization", ["automatic", "manual"])
def test_max_steps_stops_and_steps_are_counted(optimization):
    model = LogisticRegression(optimization=optimization)
    trainer = tiny_trainer(37)
    trainer.fit(model, LogisticDataModule(passes_per_epoch=10))
    assert trainer.global_step == 37
    assert trainer.current_epoch == 4  # 3 whole epochs of 10 updates, stopped 7 into the 4th (0-based count)


@pytest.mark.parametrize("optimization", ["automatic", "manual"])
def test_checkpoints_are_saved_by_step(tmp_path, optimization):
    checkpoint = ModelCheckpoint(dirpath=tmp_path, every_n_train_steps=10, save_top_k=-1, save_last=True)
    model = LogisticRegression(optimization=optimization)
    trainer = tiny_trainer(30, callbacks=[checkpoint], enable_checkpointing=True)
    trainer.fit(model, LogisticDataModule(passes_per_epoch=100))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["epoch=0-step=10.ckpt", "epoch=0-step=20.ckpt", "epoch=0-step=30.ckpt", "last.ckpt"]
    state = torch.load(tmp_path / "last.ckpt", weights_only=True)
    assert state["global_step"] == 30
    torch.testing.assert_close(state["state_dict"]["w"], model.w.detach())


# Epochs of 7 updates and flushes every 10: Lightning's notice about it assumes self.log per step.
@pytest.mark.filterwarnings("ignore:The number of training batches .7. is smaller than the logging interval")
@pytest.mark.parametrize("optimization", ["automatic", "manual"])
def test_step_indexed_logs_have_one_point_per_update(optimization):
    logger = MemoryLogger()
    trainer = tiny_trainer(25, logger=logger, log_every_n_steps=10)
    trainer.fit(LogisticRegression(optimization=optimization), LogisticDataModule(passes_per_epoch=7))
    for tag in ("train/loss", "train/acc"):
        assert [step for step, _ in logger.metrics[tag]] == list(range(25)), tag


def test_manual_twin_rejects_other_optimizers():
    with pytest.raises(ValueError, match="optimizer="):
        LogisticRegression(optimization="manual", optimizer="Adam")
    with pytest.raises(ValueError, match="optimizer="):
        LogisticRegression(optimization="manual", optimizer_kwargs={"momentum": 0.9})
