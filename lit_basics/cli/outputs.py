"""Where a run writes: under ``runs/`` unless the user names another place, each run in a
directory of its own; and a check, before anything is written, that those places can be created."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from lit_basics.callbacks import PredictionsCSV
from lit_basics.cli.instantiate import config_section
from lit_basics.errors import ConfigError

__all__ = ["RUNS", "check_outputs", "family_name", "next_version", "place_outputs", "run_root"]

#: The one directory a run writes to by default, relative to the working directory.
RUNS = "runs"


def family_name(class_path: str) -> str:
    """``lit_basics.models.LogisticRegression`` -> ``logistic``: the runs directory of a model."""
    name = str(class_path).rsplit(".", 1)[-1]
    return (name.removesuffix("Regression") or name).lower()


def next_version(root: Path) -> Path:
    """``root/version_N`` with ``N`` one above the highest there (``version_0`` in a new root)."""
    numbers = [
        int(m.group(1)) for d in (root.iterdir() if root.is_dir() else []) if (m := re.match(r"version_(\d+)$", d.name))
    ]
    return root / f"version_{max(numbers, default=-1) + 1}"


def run_root(config: Any) -> Path | None:
    """The directory holding this configuration's ``version_N`` runs, or ``None`` (an unknown logger)."""
    trainer = config.get("trainer") or {}
    logger = trainer.get("logger")
    if logger is False:
        return Path(RUNS) / family_name(config.get("model", {}).get("class_path", "model"))
    init_args = logger.get("init_args") if logger is not None and hasattr(logger, "get") else None
    if init_args is None:
        return Path(trainer.get("default_root_dir") or RUNS) / "lightning_logs" if logger in (None, True) else None
    return Path(str(init_args.get("save_dir") or RUNS)) / str(init_args.get("name") or _family(config))


def _family(config: Any) -> str:
    model = config.get("model") or {}
    return family_name(model.get("class_path", "model") if hasattr(model, "get") else "model")


def place_outputs(config: Any) -> None:
    """Point every default output location of a parsed configuration under :data:`RUNS`.

    With a logger, Lightning writes into the logger's ``save_dir/name/version_N``: by default
    ``runs/<model>/version_N`` (a logger ``name`` of null is the model's family: ``logistic``).
    Without a logger (``--trainer.logger=false``) config, checkpoints and predictions would land in
    the working directory; they go to a new ``runs/<model>/version_N`` instead. A
    ``default_root_dir`` the user sets is used as given.
    """
    trainer = config.get("trainer")
    if trainer is None:
        return
    logger = trainer.get("logger")
    init_args = logger.get("init_args") if logger is not None and hasattr(logger, "get") else None
    if init_args is not None and "name" in init_args and init_args.get("name") is None:
        init_args["name"] = _family(config)  # the default logger: runs/<model family>/version_N
    if trainer.get("default_root_dir") is not None:
        return
    if logger is False:
        root = run_root(config)
        assert root is not None
        trainer["default_root_dir"] = str(next_version(root))
    else:
        trainer["default_root_dir"] = RUNS


def _output_directories(trainer: pl.Trainer) -> Iterator[tuple[str, str]]:
    """``(config key, directory)`` of every place the run will write to."""
    for logger in trainer.loggers:
        if isinstance(logger, (TensorBoardLogger, CSVLogger)):
            yield "trainer.logger.init_args.save_dir", str(logger.log_dir)
        elif logger.save_dir is not None:
            yield "trainer.logger.init_args.save_dir", str(logger.save_dir)
    if not trainer.loggers:
        yield "trainer.default_root_dir", str(trainer.default_root_dir)
    for callback in trainer.callbacks:  # type: ignore[attr-defined]
        if isinstance(callback, (ModelCheckpoint, PredictionsCSV)) and callback.dirpath is not None:
            yield f"{config_section(type(callback))}.dirpath", str(callback.dirpath)


def check_outputs(trainer: pl.Trainer) -> None:
    """Every output directory exists as a writable directory or can be created.

    Nothing is created: the nearest existing ancestor must be a directory in which a (removed
    again at once) probe directory can be made.

    Raises:
        ConfigError: naming the config key and the directory.
    """
    for logger in trainer.loggers:
        if isinstance(logger, (TensorBoardLogger, CSVLogger)) and logger.save_dir is not None:
            save_dir, log_dir = Path(logger.save_dir).resolve(), Path(logger.log_dir).resolve()
            if save_dir not in log_dir.parents:
                raise ConfigError(
                    "trainer.logger.init_args.name",
                    f"{logger.name!r} with version {logger.version!r} puts the run in {logger.log_dir}, outside "
                    f"save_dir {logger.save_dir}: name a directory inside it (no '..')",
                )
    for key, directory in _output_directories(trainer):
        path = Path(directory).absolute()
        existing = path
        while not os.path.lexists(existing) and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise ConfigError(key, f"cannot create {directory}: {existing} is not a directory")
        try:
            os.rmdir(tempfile.mkdtemp(prefix=".lit-basics-probe-", dir=existing))
        except OSError as exc:
            raise ConfigError(key, f"cannot create {directory}: {existing}: {exc.strerror or exc}") from None
