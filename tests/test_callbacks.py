"""The callbacks that watch training, used directly from a Trainer (library use)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from lightning.pytorch.callbacks import ModelCheckpoint

from lit_basics.callbacks import DivergenceStop, NotesInspector, PredictionsCSV, UpdateLog
from lit_basics.data import IrisDataModule, LinearDataModule, LogisticDataModule, PolynomialDataModule
from lit_basics.errors import DivergenceError
from lit_basics.models import LinearRegression, LogisticRegression, PolynomialRegression, SoftmaxRegression
from tests.helpers import MemoryLogger, tiny_trainer


def test_a_model_trains_without_any_callback():
    torch.manual_seed(2017)
    model = LogisticRegression(optimization="manual", updates_per_step=100)
    trainer = tiny_trainer(1000, watch=False)
    trainer.fit(model, LogisticDataModule(passes_per_epoch=100))
    assert trainer.global_step == 1000
    assert trainer.callback_metrics == {}


@pytest.mark.parametrize(
    ("model", "dm"),
    [
        (LinearRegression(l2=0.5, l1=0.1), LinearDataModule(passes_per_epoch=100)),
        (PolynomialRegression(l1=0.05, lr=1e-3), PolynomialDataModule(passes_per_epoch=100)),
        (LogisticRegression(l2=0.01, l1=0.002), LogisticDataModule(passes_per_epoch=100)),
        # The softmax lasso's exact optimum (an active-set search) takes ~12 s: in the slow set.
        pytest.param(
            SoftmaxRegression(l2=0.01, l1=0.001, lr=0.1), IrisDataModule(passes_per_epoch=100), marks=pytest.mark.slow
        ),
    ],
    ids=["ridge+lasso", "lasso", "logistic", "softmax"],
)
def test_loss_gap_of_a_penalised_fit_never_goes_below_zero(model, dm):
    """train/loss logs the whole objective and the optimum is exact: the gap stays >= 0 (float32
    rounding aside) and falls."""
    logger = MemoryLogger()
    trainer = tiny_trainer(400, logger=logger, watch=False, callbacks=[UpdateLog()])
    trainer.fit(model, dm)
    gaps = [value for _, value in logger.metrics["train/loss_gap"]]
    losses = [value for _, value in logger.metrics["train/loss"]]
    assert len(gaps) == 400
    assert min(g + 1e-6 * abs(v) + 1e-7 for g, v in zip(gaps, losses, strict=True)) >= 0
    assert gaps[-1] < gaps[0]


def test_progress_bar_shows_the_latest_values():
    trainer = tiny_trainer(120, watch=False, callbacks=[UpdateLog()], log_every_n_steps=50, enable_progress_bar=True)
    trainer.fit(
        LogisticRegression(optimization="manual", updates_per_step=100), LogisticDataModule(passes_per_epoch=100)
    )
    assert {"train/loss", "train/acc", "train/loss_gap"} <= set(trainer.progress_bar_metrics)


@pytest.mark.parametrize("check_every", [None, 7])
@pytest.mark.parametrize(("optimization", "per_step"), [("automatic", 1), ("manual", 100)], ids=["automatic", "manual"])
def test_divergence_names_the_exact_update_and_logs_up_to_it(check_every, optimization, per_step):
    logger = MemoryLogger()
    torch.manual_seed(2017)  # the notes' initial w: the loss overflows at update 11
    model = LinearRegression(lr=1.0, optimization=optimization, updates_per_step=per_step)
    trainer = tiny_trainer(
        50, logger=logger, watch=False, callbacks=[UpdateLog(), DivergenceStop(check_every_n_updates=check_every)]
    )
    with pytest.raises(DivergenceError, match=r"^update 11: the loss is inf \(not finite\)"):
        trainer.fit(model, LinearDataModule(passes_per_epoch=100))
    assert [step for step, _ in logger.metrics["train/loss"]] == list(range(10))
    assert all(math.isfinite(value) for _, value in logger.metrics["train/loss"])


def test_divergence_is_stopped_before_a_step_checkpoint(tmp_path):
    """A checkpoint due after the bad update is never written, whatever the check's cadence."""
    checkpoint = ModelCheckpoint(dirpath=tmp_path, every_n_train_steps=12, save_top_k=-1)
    trainer = tiny_trainer(
        50, callbacks=[DivergenceStop(check_every_n_updates=1000), checkpoint], enable_checkpointing=True
    )
    torch.manual_seed(2017)
    with pytest.raises(DivergenceError, match=r"^update 11:"):
        trainer.fit(LinearRegression(lr=1.0), LinearDataModule(passes_per_epoch=1000))
    assert list(tmp_path.iterdir()) == []


def test_inspector_sees_every_cadence_inside_multi_update_steps(tmp_path):
    from lightning.pytorch.loggers import TensorBoardLogger

    logger = TensorBoardLogger(tmp_path, name="inspect")
    inspector = NotesInspector(figure_every_n_updates=30)
    trainer = tiny_trainer(205, logger=logger, callbacks=[inspector], log_every_n_steps=20)
    model = LinearRegression(optimization="manual", updates_per_step=100)
    trainer.fit(model, LinearDataModule(passes_per_epoch=100))
    figures = sorted(p.name for p in (tmp_path / "inspect" / "version_0" / "figures").iterdir())
    assert figures == ["loss_contours.png"] + [f"step_{s:06d}.png" for s in [*range(0, 205, 30), 205]]


def test_predictions_csv_has_one_column_per_class_probability(tmp_path):
    torch.manual_seed(2017)
    model = SoftmaxRegression(lr=0.1, l2=0.01)
    dm = IrisDataModule(passes_per_epoch=100, batch_size=64)
    tiny_trainer(300).fit(model, dm)
    writer = PredictionsCSV(dirpath=str(tmp_path))
    tiny_trainer(1, callbacks=[writer]).predict(model, dm, return_predictions=False)
    lines = (tmp_path / "predictions.csv").read_text().splitlines()
    assert lines[0] == "row,probability_0,probability_1,probability_2,label"
    assert len(lines) == 151
    expected = model.predict(dm.x)
    for line, p, label in zip(lines[1:], expected["probability"], expected["label"].flatten(), strict=True):
        row = line.split(",")
        assert [float(v) for v in row[1:4]] == pytest.approx(p.tolist(), rel=1e-6)
        assert int(row[4]) == int(label)


def test_appended_events_read_back_between_the_writers_own(tmp_path):
    """UpdateLog appends its per-update events to the writer's file in one write: TensorBoard reads
    them, in step order, between events the writer itself wrote before and after."""
    from lightning.pytorch.loggers import TensorBoardLogger
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from lit_basics.callbacks.trace import append_events, tensorboard_file_writer

    logger = TensorBoardLogger(str(tmp_path), name="run")
    logger.log_metrics({"before": 1.0}, step=0)
    rows = [(step, {"train/loss": 1.0 / (step + 1), "train/acc": 0.5}) for step in range(120)]
    assert append_events(tensorboard_file_writer(logger), rows[:60])
    assert append_events(tensorboard_file_writer(logger), rows[60:])
    logger.log_metrics({"after": 2.0}, step=120)
    logger.finalize("success")
    events = EventAccumulator(logger.log_dir, size_guidance={"scalars": 0})
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("train/loss")] == [
        (s, pytest.approx(1.0 / (s + 1), rel=1e-7)) for s in range(120)
    ]
    assert [e.value for e in events.Scalars("before")] == [1.0]
    assert [e.value for e in events.Scalars("after")] == [2.0]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_masked_crc32c_is_tensorboards(data):
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as reference

    from lit_basics.callbacks.trace import masked_crc32c

    assert masked_crc32c(data) == reference(data)
