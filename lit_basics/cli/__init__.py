"""The ``lit-basics`` command: LightningCLI over the lit_basics models and data modules.

Usage::

    lit-basics fit -c configs/logistic.yaml
    lit-basics fit -c configs/linear.yaml --model.optimization=manual --trainer.max_steps=50
    lit-basics fit --model LogisticRegression --data LogisticDataModule --trainer.max_steps=100

One job per module: :mod:`~lit_basics.cli.main` (dispatch), :mod:`~lit_basics.cli.app` (the
LightningCLI subclass), :mod:`~lit_basics.cli.checks` (what a run checks before it writes anything),
:mod:`~lit_basics.cli.parser` (parsing), :mod:`~lit_basics.cli.instantiate`
(building classes), :mod:`~lit_basics.cli.outputs` (where runs write),
:mod:`~lit_basics.cli.resume` (``--ckpt_path last``), :mod:`~lit_basics.cli.boundary` (the one
``error:`` line), :mod:`~lit_basics.cli.commands` (``tour``, ``tensorboard``).
"""

from lit_basics.cli.app import LitBasicsCLI
from lit_basics.cli.known_warnings import filter_known_warnings
from lit_basics.cli.main import cli_main, main

__all__ = ["LitBasicsCLI", "cli_main", "filter_known_warnings", "main"]
