"""What a ``lit-basics`` command does when neither the command line nor a config file says otherwise.

The shipped configs say only what differs from these.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CLI_DEFAULTS", "CLI_PASSES_PER_EPOCH", "NOTES_SEED"]

#: The notes' ``torch.manual_seed(2017)``: the seed of every run that names none.
NOTES_SEED = 2017

#: Full-batch passes per Lightning epoch where the command does not set ``data.passes_per_epoch``:
#: Lightning pays ~0.6 ms per epoch, more than an update of the notes' models.
CLI_PASSES_PER_EPOCH = 100

#: Defaults of the parser's keys (``parser.set_defaults``).
CLI_DEFAULTS: dict[str, Any] = {
    # The notes' logistic loop: `for e in range(1000)`, stopped on updates only.
    "trainer.max_steps": 1000,
    "trainer.max_epochs": -1,
    # Every update is logged; UpdateLog writes them in bulk every 50 updates.
    "trainer.log_every_n_steps": 50,
    # A table of w and b says nothing.
    "trainer.enable_model_summary": False,
    # runs/<model family>/version_N (name null: the model's family), no placeholder hp_metric.
    "trainer.logger": {
        "class_path": "lightning.pytorch.loggers.TensorBoardLogger",
        "init_args": {"save_dir": "runs", "name": None, "default_hp_metric": False},
    },
    # runs/.../checkpoints/last.ckpt, a link to the newest: what --ckpt_path last resumes from.
    "checkpoint.save_last": "link",
    # A redraw every 50 Lightning steps: a redraw per update costs more than the update.
    "progress_bar.refresh_rate": 50,
}
