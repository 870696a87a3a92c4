"""``lit-basics``: dispatch to LightningCLI or an extra command, inside the error boundary."""

from __future__ import annotations

import sys

import torch.distributed
from lightning.pytorch.cli import ArgsType

from lit_basics.cli.app import LitBasicsCLI
from lit_basics.cli.boundary import user_errors_end_the_command
from lit_basics.cli.commands import EXTRA_COMMANDS, run_extra_command
from lit_basics.cli.known_warnings import filter_known_warnings

__all__ = ["cli_main", "main"]


def cli_main(args: ArgsType = None) -> LitBasicsCLI | None:
    """Run the CLI on ``args`` (``None``: ``sys.argv[1:]``) and return it (``None`` for ``tour``
    and ``tensorboard``). A user's mistake ends it with one ``error:`` line and status 2.

    Besides LightningCLI's ``fit``/``validate``/``test``/``predict``: ``tour``, ``tensorboard``.
    """
    argv = sys.argv[1:] if args is None else args
    if isinstance(argv, (list, tuple)) and argv and argv[0] in EXTRA_COMMANDS:
        run_extra_command(str(argv[0]), [str(a) for a in argv[1:]])
        return None
    filter_known_warnings()
    with user_errors_end_the_command():
        try:
            return LitBasicsCLI(args=args)
        finally:
            # Lightning leaves the DDP process group up after a run; a process exiting with it up
            # can abort in gloo's threads ("terminate called without an active exception").
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                torch.distributed.destroy_process_group()


def main() -> None:
    """Console-script entry point (``lit-basics``): runs the CLI, returns nothing (exit status 0)."""
    cli_main()
