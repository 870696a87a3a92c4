"""The ``lit-basics`` command: LightningCLI over the lit_basics models and data modules.

Usage::

    lit-basics fit -c configs/logistic.yaml
    lit-basics fit -c configs/linear.yaml --model.optimization=manual --trainer.max_steps=50
    lit-basics fit --model LogisticRegression --data LogisticDataModule --trainer.max_steps=100
"""

from __future__ import annotations

import math
import re
import sys
import warnings
from pathlib import Path
from typing import Any, NoReturn

import torch
import yaml
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.cli import ArgsType, LightningArgumentParser, LightningCLI
from lightning.pytorch.utilities.warnings import PossibleUserWarning
from typing_extensions import override

from lit_basics.data import InMemoryDataModule
from lit_basics.errors import UserError
from lit_basics.models import GradientDescentModule
from lit_basics.models.base import run_directory

__all__ = ["LitBasicsCLI", "cli_main", "filter_known_warnings", "main"]


def filter_known_warnings() -> None:
    """Silence exactly the upstream deprecation notices a user cannot act on.

    - torch 2.13 deprecated constructing ``LeafSpec``, which Lightning 2.6's ``_pytree`` helper
      still does on every batch transfer;
    - Lightning's "validation_step but no val_dataloader" notice: validation is on only when the
      data module holds out a split (``val_fraction > 0``), by design;
    - Lightning's "fewer training batches than log_every_n_steps" notice: it assumes logging per
      step through ``self.log``; lit_basics logs every update itself (see ``UpdateTrace``);
    - ModelCheckpoint's "manual optimization ... state AFTER optimization" notice: the manual
      twin's checkpoint at step k holds the weights after k updates, exactly like the automatic
      twin's, which is what resuming needs;
    - ModelCheckpoint's "directory exists and is not empty" and "dirpath has changed" notices:
      ``--ckpt_path last`` resumes into the run's own directory on purpose, and evaluating a
      checkpoint (``test``/``predict --ckpt_path``) writes to a new run directory on purpose.

    Nothing else is filtered.
    """
    for message, category in _KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)


#: (message regex, category) of the notices above, in that order.
_KNOWN_WARNINGS: tuple[tuple[str, type[Warning]], ...] = (
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning),
    (r"You defined a `validation_step` but have no `val_dataloader`", PossibleUserWarning),
    (r"The number of training batches \(\d+\) is smaller than the logging interval", PossibleUserWarning),
    (r"Using ModelCheckpoint with manual optimization and every_n_train_steps", UserWarning),
    (r"Checkpoint directory .* exists and is not empty", UserWarning),
    (r"The dirpath has changed from", UserWarning),
)


_LINKED_OPTION = re.compile(r"^--model\.(init_args\.)?in_features(=|$)")


def _config_sets_in_features(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            config = yaml.safe_load(f)
    except (OSError, yaml.YAMLError):
        return False  # reported by _config_file_error / LightningCLI
    model = config.get("model") if isinstance(config, dict) else None
    if not isinstance(model, dict):
        return False
    init_args = model.get("init_args")
    return "in_features" in model or (isinstance(init_args, dict) and "in_features" in init_args)


def _config_file_error(path: str) -> str | None:
    """``path:line: ...`` for a config file that is not valid YAML (jsonargparse omits the name)."""
    try:
        with open(path, encoding="utf-8") as f:
            yaml.safe_load(f)
    except OSError:
        return None  # a missing file: LightningCLI says so, naming it
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return f"{where}: not valid YAML: {problem}"
    return None


def linked_key_error(argv: list[str]) -> str | None:
    """The error for an attempt to set ``model.in_features`` by hand, or ``None``.

    jsonargparse drops a value given for a linked target without a word; the data decides it.
    """
    message = "model.init_args.in_features is set from the data (data.num_features); remove it from {}"
    for index, arg in enumerate(argv):
        if _LINKED_OPTION.match(arg):
            return message.format("the command line")
        config = None
        if arg in ("-c", "--config") and index + 1 < len(argv):
            config = argv[index + 1]
        elif arg.startswith("--config="):
            config = arg.split("=", 1)[1]
        if config is not None:
            invalid = _config_file_error(config)
            if invalid is not None:
                return invalid
            if _config_sets_in_features(config):
                return message.format(config)
    return None


_GENERIC_LINES = (
    "Does not validate against any of the Union subtypes",
    "Subtypes:",
    "Errors:",
    "Given value type:",
    "Given value:",
    "Expected a <class 'NoneType'>",
    "tip:",
)
_CHOICES = {
    "model": "LinearRegression, PolynomialRegression, LogisticRegression",
    "data": "LinearDataModule, PolynomialDataModule, LogisticDataModule, ArrayDataModule",
}


def one_line(message: str) -> str:
    r"""jsonargparse's multi-line parse errors, condensed to one line: the full key, then the cause.

    Example:
        >>> one_line('Parser key "model":\n  - Problem with given class_path \'x.Y\':\n'
        ...          '      Parser key "lr":\n        Expected a <class float>. Got value: abc')
        'model.init_args.lr: Expected a <class float>. Got value: abc'
    """
    key_parts: list[str] = []
    details: list[str] = []
    for raw in message.strip().splitlines():
        line = raw.strip()
        line = line[2:].strip() if line.startswith("- ") else line
        if not line or line.startswith(_GENERIC_LINES):
            continue
        if match := re.match(r'^Parser key "([^"]+)":?\s*(.*)$', line):
            key_parts.append(match.group(1))
            if match.group(2):
                details.append(match.group(2))
        elif re.match(r"^Problem with given class_path '[^']+':?$", line):
            key_parts.append("init_args")
        elif match := re.match(r"^Expected a dot import path string: (.+)$", line):
            known = _CHOICES.get(key_parts[0] if key_parts else "")
            details = [f"unknown class {match.group(1)!r}" + (f"; choose one of {known}" if known else "")]
            break
        else:
            details.append(line)
    key = ".".join(key_parts)
    detail = re.sub(r"\s+", " ", "; ".join(details)) or "invalid arguments"
    return f"{key}: {detail}" if key else detail


class OneLineErrorParser(LightningArgumentParser):
    """A parser whose errors end the process with one ``error:`` line on stderr (status 2)."""

    @override
    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        if not getattr(self, "exit_on_error", True):
            super().error(message, ex)  # jsonargparse trying alternatives: it raises, and recovers
        fail(one_line(message))


def fail(message: str) -> NoReturn:
    """Print ``error: message`` as the last line on stderr and exit with status 2 (no traceback)."""
    sys.stdout.flush()
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    raise SystemExit(2)


_SECTIONS = {"lit_basics.models": "model.init_args", "lit_basics.data": "data.init_args"}


def _constructor_error(exc: ValueError) -> tuple[str, str] | None:
    """``(config section, message)`` for a ``ValueError`` raised by a lit_basics constructor.

    Raised directly, the section comes from the constructor's frame; raised while jsonargparse
    tried the union of a subclass-mode key (``model``, ``data``), jsonargparse reports it inside
    its own message, next to the ``class_path`` it was building.
    """
    key = _config_key_of(exc)
    if key is not None:
        return key, str(exc)
    text = str(exc)
    match = re.search(r"class_path='(lit_basics\.\w+)\.", text)
    if "Does not validate against any of the Union subtypes" not in text or match is None:
        return None
    section = _SECTIONS.get(match.group(1))
    causes = [
        line.strip()[2:]
        for line in text.splitlines()
        if line.strip().startswith("- ") and "Expected a <class 'NoneType'>" not in line
    ]
    if section is None or not causes:
        return None
    return section, "; ".join(causes)


def _config_key_of(exc: BaseException) -> str | None:
    """The config section whose constructor raised ``exc`` (innermost lit_basics ``__init__``)."""
    from lit_basics.inspection import NotesInspector

    key = None
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        owner = frame.f_locals.get("self") if frame.f_code.co_name == "__init__" else None
        if isinstance(owner, GradientDescentModule):
            key = "model.init_args"
        elif isinstance(owner, InMemoryDataModule):
            key = "data.init_args"
        elif isinstance(owner, NotesInspector):
            key = "trainer.callbacks.NotesInspector"
        tb = tb.tb_next
    return key


class LitBasicsCLI(LightningCLI):
    """LightningCLI with the data's feature count linked into the model and one-line errors."""

    @override
    def add_arguments_to_parser(self, parser: Any) -> None:
        # The model's in_features comes from the data: a user cannot mismatch them.
        parser.link_arguments("data.num_features", "model.init_args.in_features", apply_on="instantiate")

    @override
    def parse_arguments(self, parser: Any, args: ArgsType) -> None:
        argv = list(args) if isinstance(args, (list, tuple)) else sys.argv[1:] if args is None else []
        error = linked_key_error([str(a) for a in argv])
        if error is not None:
            parser.error(error)
        super().parse_arguments(parser, args)
        # A checkpoint given with --ckpt_path is checked before LightningCLI reads its
        # hyperparameters (it would import their _class_path) or Lightning loads it.
        subcommand = self.config.get("subcommand")
        ckpt_path = self.config[subcommand].get("ckpt_path") if subcommand else None
        if ckpt_path and ckpt_path not in ("last", "best", "hpc", "registry"):
            from lit_basics.checkpoints import check_checkpoint

            check_checkpoint(ckpt_path)

    def _resolve_last_checkpoint(self, config: Any) -> None:
        """``--ckpt_path last``: the newest run of this config's logger that has a checkpoint.

        Lightning looks for ``last.ckpt`` only in the new run's own (empty) directory and would
        start from scratch. Here the newest ``<save_dir>/<name>/version_N/checkpoints/last.ckpt``
        is used, and the resumed run logs into that same version directory.
        """
        logger = config.get("trainer", {}).get("logger")
        init_args = logger.get("init_args") if logger is not None and hasattr(logger, "get") else None
        if init_args is None:
            raise UserError("--ckpt_path last needs the configs' TensorBoardLogger to find the previous run")
        base = Path(str(init_args.get("save_dir") or ".")) / str(init_args.get("name") or "lightning_logs")
        runs = sorted(
            (int(d.name.split("_", 1)[1]), d)
            for d in base.glob("version_*")
            if d.name.split("_", 1)[1].isdigit() and (d / "checkpoints").is_dir()
        )
        for _, run in reversed(runs):
            checkpoint = _newest_checkpoint(run / "checkpoints")
            if checkpoint is not None:
                from lit_basics.checkpoints import check_checkpoint

                check_checkpoint(checkpoint)
                config["ckpt_path"] = str(checkpoint)
                init_args["version"] = run.name
                self.save_config_kwargs["overwrite"] = True  # the run's own config.yaml, rewritten
                print(f"Resuming from {checkpoint}")
                return
        raise UserError(f"--ckpt_path last: no checkpoint under {base}/version_*/checkpoints")

    @override
    def before_instantiate_classes(self) -> None:
        # The configs tune the progress bar and checkpointing with callbacks, and Lightning refuses
        # those callbacks together with enable_progress_bar=false / enable_checkpointing=false:
        # honour the flags by dropping the callbacks they switch off.
        config = self.config.get(self.subcommand) if self.subcommand else self.config
        if self.subcommand == "fit" and config is not None and config.get("ckpt_path") == "last":
            self._resolve_last_checkpoint(config)
        trainer = config.get("trainer") if config is not None else None
        if trainer is None:
            return
        switched_off = [
            suffix
            for flag, suffix in (("enable_progress_bar", "ProgressBar"), ("enable_checkpointing", "ModelCheckpoint"))
            if trainer.get(flag, True) is False
        ]
        callbacks = trainer.get("callbacks") or []
        trainer["callbacks"] = [
            c for c in callbacks if not any(str(c.get("class_path", "")).endswith(s) for s in switched_off)
        ]

    def after_predict(self) -> None:
        """Write every row's prediction to ``predictions.csv`` in the run directory."""
        batches = self.trainer.predict_loop.predictions
        if not batches or not self.trainer.is_global_zero:
            return
        flat = [b for b in batches if isinstance(b, dict)] or [
            b for group in batches if isinstance(group, list) for b in group if isinstance(b, dict)
        ]
        columns = list(flat[0])
        values = {name: torch.cat([b[name].detach().cpu().reshape(-1) for b in flat]) for name in columns}
        directory = Path(run_directory(self.trainer) or ".")
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "predictions.csv"
        with path.open("w", encoding="utf-8") as f:
            f.write(",".join(["row", *columns]) + "\n")
            for row in range(len(values[columns[0]])):
                f.write(",".join([str(row), *(repr(values[name][row].item()) for name in columns)]) + "\n")
        print(f"Predictions ({len(values[columns[0]])} rows): {path}")

    def before_fit(self) -> None:
        datamodule = self.datamodule
        if isinstance(datamodule, InMemoryDataModule):
            print(datamodule.describe())

    def after_fit(self) -> None:
        trainer = self.trainer
        log_dir = trainer.log_dir  # a collective under DDP: every rank asks
        if trainer.is_global_zero:
            updates = trainer.global_step
            per_epoch = trainer.num_training_batches
            epochs = math.ceil(updates / per_epoch) if per_epoch and math.isfinite(per_epoch) else trainer.current_epoch
            print(f"Trained {updates} update(s) in {epochs} Lightning epoch(s).")
            if log_dir is not None and trainer.logger is not None:
                print(f"Logs: {log_dir}  (view: tensorboard --logdir {trainer.logger.save_dir})")


EXTRA_COMMANDS = {
    "tour": "the notes' tensor and autograd walkthrough, each claim checked",
    "tensorboard": "serve TensorBoard on the runs directory (default: runs) and print its URL",
}


def cli_main(args: ArgsType = None) -> LitBasicsCLI | None:
    """Run the CLI on ``args`` (``None``: ``sys.argv[1:]``) and return it (tests inspect it).

    Besides LightningCLI's ``fit``/``validate``/``test``/``predict``: ``tour``.
    """
    argv = sys.argv[1:] if args is None else args
    if isinstance(argv, (list, tuple)) and argv and argv[0] in EXTRA_COMMANDS:
        _run_extra_command(str(argv[0]), [str(a) for a in argv[1:]])
        return None
    filter_known_warnings()
    try:
        return _build_cli(args)
    except UserError as exc:
        fail(str(exc))
    except ValueError as exc:
        located = _constructor_error(exc)
        if located is None:
            raise
        key, text = located
        fail(f"{key}.{text}" if re.match(r"^[A-Za-z_]\w* ", text) else f"{key}: {text}")
    except MisconfigurationException as exc:
        fail(f"trainer: {one_line(str(exc))}")


def _build_cli(args: ArgsType) -> LitBasicsCLI:
    try:
        return _lightning_cli(args)
    finally:
        # Lightning leaves the DDP process group up after a run; a process exiting with it up
        # can abort in gloo's threads ("terminate called without an active exception").
        import torch.distributed

        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _lightning_cli(args: ArgsType) -> LitBasicsCLI:
    return LitBasicsCLI(
        GradientDescentModule,
        InMemoryDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        # The models configure their own optimizer (``--model.optimizer``); no CLI --optimizer.
        auto_configure_optimizers=False,
        parser_class=OneLineErrorParser,
        args=args,
        parser_kwargs={
            "description": "The PyTorch basics notes' regressions on PyTorch Lightning. Also: "
            + "; ".join(f"lit-basics {name}: {text}" for name, text in EXTRA_COMMANDS.items())
        },
    )


def _run_extra_command(name: str, rest: list[str]) -> None:
    if name == "tour":
        from lit_basics.tour import run_tour

        if rest and rest[0] in ("-h", "--help"):
            print(f"usage: lit-basics tour\n\n{EXTRA_COMMANDS['tour']}")
            return None
        run_tour()
    elif name == "tensorboard":
        serve_tensorboard(rest)
    return None


def serve_tensorboard(argv: list[str]) -> None:
    """``lit-basics tensorboard [--logdir runs] [--host 127.0.0.1] [--port 6006]``: serve until Ctrl+C."""
    import argparse
    import time

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


def _newest_checkpoint(directory: Path) -> Path | None:
    """``last.ckpt`` if it resolves, else the checkpoint with the highest step.

    ``save_last: link`` replaces the link after writing the new checkpoint and deleting the old
    one; a run killed in between leaves it dangling, while the new checkpoint is complete.
    """
    last = directory / "last.ckpt"
    if last.exists():
        return last
    steps = []
    for path in directory.glob("*.ckpt"):
        match = re.search(r"step=(\d+)", path.name)
        if match and path.exists():
            steps.append((int(match.group(1)), path))
    return max(steps)[1] if steps else None


def main() -> None:
    """Console-script entry point (``lit-basics``): runs the CLI, returns nothing (exit status 0)."""
    cli_main()


if __name__ == "__main__":
    main()
