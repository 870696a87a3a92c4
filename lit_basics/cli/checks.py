"""The checks a run makes of its configuration before it writes anything: each raises a
:class:`~lit_basics.errors.ConfigError` naming the config key.

Lightning checks most of the Trainer's arguments itself; :func:`check_trainer_settings` covers the
ones it takes without a word and then fails on mid-run (``accumulate_grad_batches=0`` divides by
zero at the first batch) or silently misreads (``gradient_clip_val=-1``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import lightning.pytorch as pl
from lightning.pytorch import Callback
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint

from lit_basics.callbacks import UpdateLog
from lit_basics.cli.instantiate import ALWAYS_ON
from lit_basics.data import InMemoryDataModule
from lit_basics.errors import ArgumentError, ConfigError
from lit_basics.models import GradientDescentModule, LogisticRegression, SoftmaxRegression

__all__ = [
    "check_always_on",
    "check_callback_states",
    "check_checkpoint_cadence",
    "check_checkpoint_fits",
    "check_ckpt_keyword",
    "check_monitors",
    "check_paths",
    "check_seed",
    "check_targets",
    "check_trainer_settings",
]

#: Trainer arguments Lightning does not check, with the least value each can take (``None`` is
#: allowed where Lightning's signature allows it).
_TRAINER_MINIMUMS: dict[str, tuple[int | float, str]] = {
    "accumulate_grad_batches": (1, "an integer >= 1"),
    "check_val_every_n_epoch": (1, "an integer >= 1 or null (validate by val_check_interval batches)"),
    "log_every_n_steps": (0, "an integer >= 0 (0: no logging)"),
    "num_sanity_val_steps": (-1, "an integer >= 0, or -1 (all validation batches)"),
    "min_steps": (0, "an integer >= 0 or null"),
    "min_epochs": (0, "an integer >= 0 or null"),
    "gradient_clip_val": (0, "a number >= 0 or null"),
}
#: Trainer arguments Lightning divides by or takes modulo of, where 0 is refused here (an integer
#: ``val_check_interval`` is a count of batches; a float is a share of the epoch, and 0.0 of it is
#: no validation at all, so it is refused too).
_TRAINER_DIVISORS: dict[str, str] = {
    "val_check_interval": "a share of the epoch in (0, 1] or a number of batches >= 1, or null",
    "reload_dataloaders_every_n_epochs": "an integer >= 0 (0: never reload)",
}
#: Precisions whose parameters are 16-bit floats: refused (see :func:`check_trainer_settings`).
_HALF_PRECISIONS = ("16-true", "bf16-true")
#: The range numpy (and so ``seed_everything``) accepts.
_SEED_RANGE = (0, 2**32 - 1)


def check_trainer_settings(trainer: Mapping[str, Any] | None) -> None:
    """The Trainer arguments of :data:`_TRAINER_MINIMUMS` are in range, and the precision keeps
    float32 or float64 parameters.

    Example:
        >>> check_trainer_settings({"accumulate_grad_batches": 0})
        Traceback (most recent call last):
        ...
        lit_basics.errors.ConfigError: trainer.accumulate_grad_batches must be an integer >= 1, got 0
    """
    for name, (least, what) in _TRAINER_MINIMUMS.items():
        value = (trainer or {}).get(name)
        if value is not None and not isinstance(value, bool) and isinstance(value, (int, float)) and value < least:
            raise ConfigError("trainer", ArgumentError(name, f"must be {what}, got {value!r}"))
    interval = (trainer or {}).get("val_check_interval")
    if isinstance(interval, (int, float)) and not isinstance(interval, bool) and interval <= 0:
        raise ConfigError(
            "trainer",
            ArgumentError("val_check_interval", f"must be {_TRAINER_DIVISORS['val_check_interval']}, got {interval!r}"),
        )
    precision = str((trainer or {}).get("precision"))
    if precision in _HALF_PRECISIONS:
        raise ConfigError(
            "trainer",
            ArgumentError(
                "precision",
                f"{precision!r} holds the parameters in 16 bits (about 3 significant digits): gradient descent's "
                "small updates round away and the exact optimum cannot be compared; use 32-true (the notes), "
                "64-true (float64 end to end), or a mixed precision (16-mixed, bf16-mixed: float32 parameters)",
            ),
        )
    reload = (trainer or {}).get("reload_dataloaders_every_n_epochs")
    if isinstance(reload, int) and not isinstance(reload, bool) and reload < 0:
        raise ConfigError(
            "trainer",
            ArgumentError(
                "reload_dataloaders_every_n_epochs",
                f"must be {_TRAINER_DIVISORS['reload_dataloaders_every_n_epochs']}, got {reload!r}",
            ),
        )


def check_paths(config: Any) -> None:
    """No path option is an empty string (``--ckpt_path=``, ``--data.path=``, ...): an empty path
    would silently mean "none" to some of them and the working directory to others.

    Example:
        >>> check_paths({"ckpt_path": ""})
        Traceback (most recent call last):
        ...
        lit_basics.errors.ConfigError: ckpt_path: is empty: give a file, or leave the option out
    """

    def section(value: Any) -> Mapping[str, Any]:
        return value if hasattr(value, "get") else {}

    trainer = section(config.get("trainer"))
    data_args = section(section(config.get("data")).get("init_args"))
    logger_args = section(section(trainer.get("logger")).get("init_args"))
    keys: list[tuple[str, Any]] = [
        ("ckpt_path", config.get("ckpt_path")),
        ("data.init_args.path", data_args.get("path")),
        ("data.init_args.predict_path", data_args.get("predict_path")),
        ("trainer.default_root_dir", trainer.get("default_root_dir")),
        ("trainer.logger.init_args.save_dir", logger_args.get("save_dir")),
        ("checkpoint.dirpath", section(config.get("checkpoint")).get("dirpath")),
        ("predictions.dirpath", section(config.get("predictions")).get("dirpath")),
    ]
    for callback in trainer.get("callbacks") or []:
        name = str(section(callback).get("class_path", "")).rsplit(".", 1)[-1]
        keys.append(
            (f"trainer.callbacks.{name}.init_args.dirpath", section(section(callback).get("init_args")).get("dirpath"))
        )
    for key, value in keys:
        if isinstance(value, str) and not value.strip():
            what = "a file" if key.endswith("path") and not key.endswith("dirpath") else "a directory"
            raise ConfigError(key, f"is empty: give {what}, or leave the option out")


def check_always_on(config: Any) -> None:
    """``trainer.callbacks`` does not list a callback every run has already (it would run twice).

    Raises:
        ConfigError: naming the callback's own config key.
    """
    trainer: Any = config.get("trainer")
    callbacks = (trainer.get("callbacks") if hasattr(trainer, "get") else None) or []
    names = {cls.__name__: key for key, cls in ALWAYS_ON.items()}
    for callback in callbacks:
        class_path = str(callback.get("class_path", "")) if hasattr(callback, "get") else ""
        name = class_path.rsplit(".", 1)[-1]
        if name in names and name != "ModelCheckpoint":
            raise ConfigError(
                "trainer.callbacks",
                f"{name} is attached to every run: configure it under `{names[name]}:` "
                f"(e.g. --{names[name]}.<argument>=...) instead of listing it",
            )


def check_seed(seed: Any) -> None:
    """``seed_everything`` is true, false or an integer numpy accepts as a seed.

    Example:
        >>> check_seed(-1)
        Traceback (most recent call last):
        ...
        lit_basics.errors.ConfigError: seed_everything: must be true, false or an integer in [0, 4294967295], got -1
    """
    low, high = _SEED_RANGE
    if isinstance(seed, int) and not isinstance(seed, bool) and not low <= seed <= high:
        raise ConfigError("seed_everything", f"must be true, false or an integer in [{low}, {high}], got {seed}")


def check_ckpt_keyword(ckpt_path: Literal["best", "hpc", "registry"], default_root_dir: str) -> Path:
    """The checkpoint file a keyword ``--ckpt_path`` (``best``, ``hpc``, ``registry``) names.

    - ``best``: the best checkpoint of a fit earlier in the same process; every ``lit-basics``
      command is a new process, so there is none.
    - ``hpc``: the newest ``hpc_ckpt_N.ckpt`` Lightning saved on a SLURM requeue in
      ``default_root_dir``; returned so the CLI checks it like any other checkpoint.
    - ``registry``: Lightning's model registry downloads checkpoints this CLI could not check first.

    Returns:
        the newest HPC checkpoint (to be checked like any other checkpoint before it is read).

    Raises:
        ConfigError: for ``best`` and ``registry``, and for ``hpc`` with no HPC checkpoint.
    """
    if ckpt_path == "best":
        raise ConfigError(
            "ckpt_path",
            "best means the best checkpoint of an earlier fit in the same process, and every lit-basics "
            "command is a new process: give the checkpoint's file (runs/<name>/version_N/checkpoints/...)",
        )
    if ckpt_path == "registry":
        raise ConfigError(
            "ckpt_path",
            "registry checkpoints are not loaded (they could not be checked first): download the file "
            "and give its path",
        )
    folder = Path(default_root_dir)
    found = sorted(
        (int(p.stem.removeprefix("hpc_ckpt_")), p)
        for p in folder.glob("hpc_ckpt_*.ckpt")
        if p.stem.removeprefix("hpc_ckpt_").isdigit()
    )
    if not found:
        raise ConfigError("ckpt_path", f"hpc: no hpc_ckpt_N.ckpt in {folder} (trainer.default_root_dir)")
    return found[-1][1]


def check_callback_states(callbacks: list[Any]) -> None:
    """A checkpoint keeps one state per callback ``state_key``: two callbacks with state and the
    same key (two ModelCheckpoint with the same monitor, mode and cadence) cannot both be saved,
    and Lightning refuses them."""
    seen: set[str] = set()
    for callback in callbacks:
        if not isinstance(callback, Callback) or type(callback).state_dict is Callback.state_dict:
            continue  # no state of its own: any number of them
        if callback.state_key in seen:
            name = type(callback).__name__
            raise ConfigError(
                "trainer.callbacks",
                f"two {name} callbacks with the same settings ({callback.state_key}): a checkpoint keeps one "
                f"state per callback; give one of them another monitor, mode or cadence, or remove it",
            )
        seen.add(callback.state_key)


def check_targets(model: GradientDescentModule, datamodule: InMemoryDataModule) -> None:
    """The model can learn the data's targets."""
    classes = datamodule.num_classes
    if isinstance(model, SoftmaxRegression) and classes is None:
        raise ConfigError(
            "data",
            "has real-valued targets; SoftmaxRegression needs class labels "
            "(ArrayDataModule with num_classes, IrisDataModule)",
        )
    names = getattr(datamodule, "classes", None)
    if names is not None and not isinstance(model, (LogisticRegression, SoftmaxRegression)):
        target = getattr(datamodule, "target_name", None) or "the target column"
        raise ConfigError(
            "data",
            f"{target!s} holds class names ({', '.join(map(repr, names[:5]))}{', ...' if len(names) > 5 else ''}); "
            f"{type(model).__name__} needs numbers: use LogisticRegression (two classes) or SoftmaxRegression",
        )
    if isinstance(model, LogisticRegression):
        if classes is not None and classes != 2:
            raise ConfigError(
                "data", f"has {classes} classes; LogisticRegression needs 0/1 labels: use SoftmaxRegression"
            )
        if not datamodule.targets_are_binary():
            raise ConfigError("data", "targets must be 0 or 1 for LogisticRegression")


def check_checkpoint_cadence(model: GradientDescentModule, datamodule: InMemoryDataModule, config: Any) -> None:
    """A manual-twin step of ``updates_per_step`` updates never stops for a checkpoint inside it."""
    if model.automatic_optimization or model.updates_per_step == 1 or not datamodule.full_batch:
        return
    sections = [("checkpoint", config.get("checkpoint") or {})]
    for callback in config["trainer"].get("callbacks") or []:
        if str(callback.get("class_path")).endswith("ModelCheckpoint"):
            sections.append(("trainer.callbacks.ModelCheckpoint.init_args", callback.get("init_args") or {}))
    for key, init_args in sections:
        every = init_args.get("every_n_train_steps")
        if every and every % model.updates_per_step:
            raise ConfigError(
                key,
                ArgumentError(
                    "every_n_train_steps",
                    f"must be a multiple of model.init_args.updates_per_step={model.updates_per_step} (the manual twin "
                    f"takes that many updates per step: a checkpoint between them would be skipped), got {every}",
                ),
            )


def check_checkpoint_fits(model: Any, datamodule: Any, ckpt_path: str, checkpoint: dict[str, Any]) -> None:
    """The model the checkpoint rebuilt fits the data, and its weights have the model's shapes."""
    for name, data_name in (("in_features", "num_features"), ("num_classes", "num_classes")):
        mine, data = getattr(model, name, None), getattr(datamodule, data_name, None)
        if mine is not None and data is not None and mine != data:
            raise ConfigError(
                "ckpt_path", f"{ckpt_path}: its model has {name}={mine}, the data's {data_name} is {data}"
            )
    state = checkpoint.get(type(datamodule).__qualname__)
    if isinstance(state, dict) and isinstance(datamodule, InMemoryDataModule):
        kind = (state.get("scaling") or {}).get("kind")
        if kind is not None and kind != datamodule.scale:
            raise ConfigError(
                "data.init_args.scale",
                f"{datamodule.scale!r}, but {ckpt_path} was trained on features scaled with {kind!r}: set "
                f"--data.init_args.scale={kind} (the checkpoint's statistics are then used)",
            )
        names = state.get("feature_names")
        if names is not None and datamodule.feature_names is not None and list(names) != datamodule.feature_names:
            raise ConfigError(
                "data.init_args",
                f"{ckpt_path} was trained on the features {', '.join(map(repr, names))}; the data's are "
                f"{', '.join(map(repr, datamodule.feature_names))}",
            )
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    for name, tensor in checkpoint["state_dict"].items():
        if name in expected and tuple(tensor.shape) != expected[name]:
            raise ConfigError(
                "ckpt_path",
                f"{ckpt_path}: its {name} has shape {tuple(tensor.shape)}, the configured model's {expected[name]}",
            )


def logged_metrics(trainer: pl.Trainer, model: Any, datamodule: Any) -> set[str] | None:
    """The names a fit logs through ``self.log`` (what ``ModelCheckpoint`` and ``EarlyStopping`` can
    monitor), or ``None`` where that cannot be known: another model or data, or a callback from
    outside lit_basics and Lightning (it may log anything)."""
    if not isinstance(model, GradientDescentModule) or not isinstance(datamodule, InMemoryDataModule):
        return None
    names: set[str] = set()
    for callback in trainer.callbacks:  # type: ignore[attr-defined]
        if not type(callback).__module__.startswith(("lit_basics.", "lightning.pytorch.")):
            return None
        if isinstance(callback, UpdateLog):
            names |= {f"train/{name}" for name in model.update_metric_kinds}
            if callback.loss_gap and datamodule.full_batch:
                names.add("train/loss_gap")
    if datamodule.val_fraction:
        names |= {f"val/{name}" for name in model.update_metric_kinds}
    return names


def check_monitors(trainer: pl.Trainer, model: Any, datamodule: Any) -> None:
    """Every monitored metric is one the fit logs, and a LearningRateMonitor has a logger.

    Lightning finds out only mid-run: ``ModelCheckpoint`` then warns and never saves, and
    ``EarlyStopping`` raises after the run directory is written.
    """
    for callback in trainer.callbacks:  # type: ignore[attr-defined]
        if isinstance(callback, LearningRateMonitor) and not trainer.loggers:
            raise ConfigError(
                "trainer.callbacks.LearningRateMonitor", "logs to the logger, and trainer.logger is false: remove one"
            )
    names = logged_metrics(trainer, model, datamodule)
    if names is None:
        return
    for callback in trainer.callbacks:  # type: ignore[attr-defined]
        if not isinstance(callback, (ModelCheckpoint, EarlyStopping)) or callback.monitor is None:
            continue
        known = names | ({"epoch", "step"} if isinstance(callback, ModelCheckpoint) else set())
        if callback.monitor in known:
            continue
        if callback.monitor.startswith("val/") and not datamodule.val_fraction:
            why = "no validation rows are held out (set data.init_args.val_fraction > 0)"
        elif callback.monitor.startswith("train/") and not any(isinstance(c, UpdateLog) for c in trainer.callbacks):  # type: ignore[attr-defined]
            why = "training metrics are logged by the UpdateLog callback, and it is not attached"
        else:
            why = f"this fit logs {', '.join(sorted(known)) or 'nothing it could monitor'}"
        raise ConfigError(
            f"trainer.callbacks.{type(callback).__name__}.init_args",
            ArgumentError("monitor", f"{callback.monitor!r} is never logged: {why}"),
        )
