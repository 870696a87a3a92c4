"""The commands beside LightningCLI's: ``lit-basics tour`` and ``lit-basics tensorboard``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

__all__ = ["EXTRA_COMMANDS", "run_extra_command", "serve_tensorboard"]

EXTRA_COMMANDS = {
    "tour": "the notes' tensor and autograd walkthrough, each claim checked",
    "tensorboard": "serve TensorBoard on the runs directory (default: runs) and print its URL",
}


def run_extra_command(name: str, argv: list[str]) -> None:
    """Run ``lit-basics <name> <argv>`` for a name in :data:`EXTRA_COMMANDS`."""
    if name == "tour":
        parser = argparse.ArgumentParser(prog="lit-basics tour", description=EXTRA_COMMANDS["tour"])
        parser.parse_args(argv)
        from lit_basics.tour import run_tour

        run_tour()
    elif name == "tensorboard":
        serve_tensorboard(argv)


def serve_tensorboard(argv: list[str]) -> None:
    """``lit-basics tensorboard [--logdir runs] [--host 127.0.0.1] [--port 6006]``: serve until Ctrl+C."""
    parser = argparse.ArgumentParser(prog="lit-basics tensorboard", description=EXTRA_COMMANDS["tensorboard"])
    parser.add_argument("--logdir", default="runs", help="the directory the configs log to (default: runs)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=6006, help="port (default: 6006; 0 picks a free one)")
    options = parser.parse_args(argv)
    if not Path(options.logdir).is_dir():
        parser.error(f"--logdir {options.logdir}: no such directory (run `lit-basics fit -c ...` first)")

    from tensorboard import program

    board = program.TensorBoard()
    board.configure(argv=[None, "--logdir", options.logdir, "--host", options.host, "--port", str(options.port)])
    url = board.launch()
    print(f"TensorBoard {url} serving {Path(options.logdir).resolve()} (Ctrl+C stops it)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
