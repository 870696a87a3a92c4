"""The commands beside LightningCLI's: ``lit-basics tour`` and ``lit-basics tensorboard``."""

from __future__ import annotations

import argparse
import socket
import time
from pathlib import Path
from typing import NoReturn

from typing_extensions import override

from lit_basics.cli.boundary import fail

__all__ = ["EXTRA_COMMANDS", "run_extra_command", "serve_tensorboard"]

EXTRA_COMMANDS = {
    "tour": "the notes' tensor and autograd walkthrough, each claim checked",
    "tensorboard": "serve TensorBoard on the runs directory (default: runs) and print its URL",
    "compare": "a config's run beside the best step, heavy-ball and Nesterov momentum, Adam and standardised "
    "features, each under runs/<model>-compare/<variant>/, then one table (predicted and measured updates)",
}


class _OneLineErrorParser(argparse.ArgumentParser):
    """argparse, with a mistake reported as one ``error:`` line (status 2) instead of usage + error."""

    @override
    def error(self, message: str) -> NoReturn:
        fail(f"{self.prog}: {message} (see {self.prog} --help)")


def run_extra_command(name: str, argv: list[str]) -> None:
    """Run ``lit-basics <name> <argv>`` for a name in :data:`EXTRA_COMMANDS`."""
    if name == "tour":
        parser = _OneLineErrorParser(prog="lit-basics tour", description=EXTRA_COMMANDS["tour"])
        parser.parse_args(argv)
        from lit_basics.tour import run_tour

        run_tour()
    elif name == "tensorboard":
        serve_tensorboard(argv)
    elif name == "compare":
        if any(a in ("-h", "--help") for a in argv):
            from lit_basics.cli import compare

            print(f"usage: lit-basics compare -c CONFIG [fit options ...]\n\n{compare.__doc__}")
            return
        from lit_basics.cli.boundary import user_errors_end_the_command
        from lit_basics.cli.compare import run_compare
        from lit_basics.cli.known_warnings import filter_known_warnings

        filter_known_warnings()
        with user_errors_end_the_command():
            run_compare(argv)


def _port(text: str) -> int:
    port = int(text) if text.strip().isdigit() else -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be an integer in 0..65535, got {text!r}")
    return port


def _check_can_listen(host: str, port: int) -> None:
    """Bind ``host:port`` once and let it go: an unknown host, a port in use or a privileged port is
    one ``error:`` line before TensorBoard starts (it would start its data server first, then fail)."""
    where = f"lit-basics tensorboard --host {host} --port {port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        fail(f"{where}: cannot resolve this host name ({exc})")
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as TensorBoard's server binds
        try:
            probe.bind(address)
        except OSError as exc:
            fail(f"{where}: cannot listen there ({exc.strerror or exc})")


def serve_tensorboard(argv: list[str]) -> None:
    """``lit-basics tensorboard [--logdir runs] [--host 127.0.0.1] [--port 6006]``: serve until Ctrl+C."""
    parser = _OneLineErrorParser(prog="lit-basics tensorboard", description=EXTRA_COMMANDS["tensorboard"])
    parser.add_argument("--logdir", default="runs", help="the directory the configs log to (default: runs)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=6006, help="port (default: 6006; 0 picks a free one)")
    options = parser.parse_args(argv)
    if not Path(options.logdir).is_dir():
        fail(f"lit-basics tensorboard --logdir {options.logdir}: no such directory (run `lit-basics fit -c ...` first)")

    _check_can_listen(options.host, options.port)

    from tensorboard import program

    board = program.TensorBoard()
    board.configure(argv=[None, "--logdir", options.logdir, "--host", options.host, "--port", str(options.port)])
    try:
        url = board.launch()
    except (program.TensorBoardServerException, OSError) as exc:  # a port in use, an unknown host
        fail(f"lit-basics tensorboard --host {options.host} --port {options.port}: {exc}")
    print(f"TensorBoard {url} serving {Path(options.logdir).resolve()} (Ctrl+C stops it)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
