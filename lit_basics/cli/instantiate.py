"""Building the configured classes: a constructor's error leaves here carrying its config section."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import Logger

from lit_basics.callbacks import (
    AutomaticStep,
    CoefficientsCSV,
    DivergenceStop,
    NotesInspector,
    PredictionsCSV,
    UpdateLog,
)
from lit_basics.errors import ConfigError, UserError

__all__ = ["ALWAYS_ON", "SectionInstantiator", "config_section"]

#: The callbacks every run has (``parser.add_lightning_class_args``), by their config key: a
#: command with no config file watches its run as the shipped configs do.
ALWAYS_ON: dict[str, type[pl.Callback]] = {
    "update_log": UpdateLog,
    "divergence_stop": DivergenceStop,
    "inspector": NotesInspector,
    "predictions": PredictionsCSV,
    "coefficients": CoefficientsCSV,
    "automatic_step": AutomaticStep,
    "checkpoint": ModelCheckpoint,
    "progress_bar": TQDMProgressBar,
}


def config_section(class_type: type) -> str:
    """The config key under which the CLI builds ``class_type``."""
    for key, always_on in ALWAYS_ON.items():
        if class_type is always_on:
            return key
    if issubclass(class_type, pl.LightningModule):
        return "model.init_args"
    if issubclass(class_type, pl.LightningDataModule):
        return "data.init_args"
    if issubclass(class_type, pl.Callback):
        return f"trainer.callbacks.{class_type.__name__}.init_args"
    if issubclass(class_type, Logger):
        return "trainer.logger.init_args"
    return f"{class_type.__module__}.{class_type.__qualname__}"


class SectionInstantiator:
    """Builds every class the CLI's parser builds (models, data modules, callbacks, loggers):
    ``class_type(*args, **kwargs)``, where a value the class refuses becomes a
    :class:`~lit_basics.errors.ConfigError` naming its section (and the argument, when the class
    raised :class:`~lit_basics.errors.ArgumentError`).

    jsonargparse folds an error raised while it builds a class into a report of every type it
    tried, chained to the first of them only, so the error is also kept as :attr:`error` for the
    CLI to raise in that report's place.
    """

    def __init__(self) -> None:
        self.error: ConfigError | None = None

    def __call__(self, class_type: type, *args: Any, **kwargs: Any) -> Any:
        try:
            return class_type(*args, **kwargs)
        except ConfigError as exc:
            self.error = exc
            raise
        # ImportError: the class needs a package that is not installed (RichProgressBar: rich).
        except (ValueError, UserError, MisconfigurationException, OSError, ImportError) as exc:
            self.error = ConfigError(config_section(class_type), exc)
            raise self.error from exc
