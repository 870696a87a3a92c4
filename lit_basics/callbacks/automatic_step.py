"""``AutomaticStep``: ``lr="auto"`` (and ``momentum="auto"``) become numbers at the start of a fit."""

from __future__ import annotations

import lightning.pytorch as pl
from typing_extensions import override

from lit_basics.data.shards import input_extremes, row_shards
from lit_basics.diagnostics import automatic_step
from lit_basics.errors import ArgumentError
from lit_basics.models.base import GradientDescentModule

__all__ = ["AutomaticStep", "resolve_automatic_step"]


def resolve_automatic_step(model: GradientDescentModule, datamodule: object) -> str | None:
    """Set ``model``'s ``lr="auto"`` (``momentum="auto"``) from ``datamodule``'s training rows and
    the model's current parameters (:func:`~lit_basics.diagnostics.automatic_step`); the line
    saying what was chosen, or ``None`` when nothing was automatic.

    Raises:
        ArgumentError: naming ``lr``: the data are not full-batch (it is computed from every
            training row), or it cannot be computed.
    """
    if not model.auto_lr:
        return None
    if not getattr(datamodule, "full_batch", False) or not hasattr(datamodule, "training_rows"):
        raise ArgumentError(
            "lr",
            "'auto' needs full-batch data (batch_size null, shuffle false): it is computed from every training row",
        )
    x, y = datamodule.training_rows()
    shards = row_shards(datamodule)
    model.learn_input_map(
        input_extremes(x, shards)
    )  # a polynomial's Legendre basis first: the step is for its features
    chosen = automatic_step(model, x, y, shards=shards)
    model.use_step(chosen.lr, chosen.momentum)
    return chosen.why


class AutomaticStep(pl.Callback):
    """Resolve ``lr="auto"`` and ``momentum="auto"`` when a fit sets up, before Lightning builds
    the optimizer (as Lightning's ``LearningRateFinder`` sets a model's ``lr``): the model's
    hyperparameters, and so its checkpoints, get the numbers. Every lit-basics command has it (the
    command prints the line it chose before the run); a Trainer of your own needs it in
    ``callbacks`` for a model with ``lr="auto"``.

    Attributes:
        chosen: the line saying what the last fit chose (``None``: nothing was automatic).
    """

    def __init__(self) -> None:
        self.chosen: str | None = None

    @override
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit" or not isinstance(pl_module, GradientDescentModule) or not pl_module.auto_lr:
            return
        self.chosen = resolve_automatic_step(pl_module, getattr(trainer, "datamodule", None))
