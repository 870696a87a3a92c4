"""``LitBasicsCLI``: LightningCLI over the lit_basics models and data modules."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint, ProgressBar
from lightning.pytorch.cli import ArgsType, LightningCLI
from lightning.pytorch.utilities import rank_zero_only
from typing_extensions import override

from lit_basics.callbacks import CoefficientsCSV, NotesInspector, PredictionsCSV
from lit_basics.callbacks.automatic_step import AutomaticStep, resolve_automatic_step
from lit_basics.checkpoints import check_checkpoint
from lit_basics.cli.boundary import user_error_in
from lit_basics.cli.checks import (
    check_always_on,
    check_callback_states,
    check_checkpoint_cadence,
    check_checkpoint_fits,
    check_ckpt_keyword,
    check_monitors,
    check_paths,
    check_seed,
    check_targets,
    check_trainer_settings,
)
from lit_basics.cli.defaults import CLI_DEFAULTS, CLI_PASSES_PER_EPOCH, NOTES_SEED
from lit_basics.cli.faults import DISK_FULL, disk_full_report
from lit_basics.cli.instantiate import ALWAYS_ON, SectionInstantiator, config_section
from lit_basics.cli.outputs import RUNS, check_outputs, place_outputs
from lit_basics.cli.parser import LINKED_KEYS, OneLineErrorParser, check_command_line, only_these_args
from lit_basics.cli.resume import newest_run_checkpoint, resume_newest_run
from lit_basics.coefficients import CoefficientTable
from lit_basics.data import InMemoryDataModule
from lit_basics.data.base import precision_dtype
from lit_basics.diagnostics import diagnose_fit, scaling_advice
from lit_basics.errors import ArgumentError, ConfigError, UserError
from lit_basics.fit_statistics import Glance
from lit_basics.models import GradientDescentModule

__all__ = ["LitBasicsCLI"]


class LitBasicsCLI(LightningCLI):
    """LightningCLI with the data's shape linked into the model, outputs under ``runs/``, and every
    user mistake reported before anything is written.

    Args:
        args: the command line (``None``: ``sys.argv[1:]``).
        always_on: the callbacks every run has, by config key (default :data:`ALWAYS_ON`); the
            benchmark leaves some out to measure what they cost.
        **kwargs: further :class:`~lightning.pytorch.cli.LightningCLI` arguments.
    """

    def __init__(
        self, args: ArgsType = None, *, always_on: dict[str, type[Callback]] | None = None, **kwargs: Any
    ) -> None:
        options: dict[str, Any] = {
            # The notes' torch.manual_seed(2017) unless a seed is given (the run says which).
            "seed_everything_default": NOTES_SEED,
            "subclass_mode_model": True,
            "subclass_mode_data": True,
            # The models configure their own optimizer (``--model.optimizer``); no CLI --optimizer.
            "auto_configure_optimizers": False,
            "parser_class": OneLineErrorParser,
            "parser_kwargs": {
                "description": "The PyTorch basics notes' regressions on PyTorch Lightning. Also: "
                "lit-basics tour (the notes' tensor and autograd walkthrough); "
                "lit-basics tensorboard (serve TensorBoard on runs/)"
            },
        }
        options.update(kwargs)
        self._always_on = dict(ALWAYS_ON if always_on is None else always_on)
        self._instantiator = SectionInstantiator()
        self._checkpoints: dict[str, dict[str, Any]] = {}
        self._given: set[str] = set()
        self.diagnosis: Any = None
        super().__init__(GradientDescentModule, InMemoryDataModule, args=args, **options)

    @override
    def add_arguments_to_parser(self, parser: Any) -> None:
        # The model's shape comes from the data: a user cannot mismatch them.
        for target, source in LINKED_KEYS.items():
            parser.link_arguments(source, f"model.init_args.{target}", apply_on="instantiate")
        # Every class the parser builds reports a refused value with its config key.
        parser.add_instantiator(self._instantiator, object, subclasses=True, prepend=True)
        # Every run is watched as the configs used to spell out: each callback has its own keys
        # (update_log.*, inspector.*, ...), and a config says only what differs.
        for key, callback in self._always_on.items():
            parser.add_lightning_class_args(callback, key)
        parser.set_defaults({k: v for k, v in CLI_DEFAULTS.items() if k.split(".")[0] in {"trainer", *self._always_on}})

    @override
    def parse_arguments(self, parser: Any, args: ArgsType) -> None:
        argv = list(args) if isinstance(args, (list, tuple)) else sys.argv[1:] if args is None else []
        self._given = check_command_line([str(a) for a in argv])
        # sys.argv hidden for the parse only: Lightning's DDP launcher re-runs sys.argv for the
        # other ranks when the run starts, so it must be the process's own command line then.
        with only_these_args(args):
            super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        config = self.config[subcommand] if subcommand else self.config
        check_paths(config)
        check_always_on(config)
        data = config.get("data")
        if (
            hasattr(data, "get")
            and "data.passes_per_epoch" not in self._given
            and "passes_per_epoch" in (data.get("init_args") or {})
        ):
            # Lightning pays ~0.6 ms per epoch: a full-batch epoch of 100 passes, as the configs.
            data["init_args"]["passes_per_epoch"] = CLI_PASSES_PER_EPOCH
        # Values Lightning would take and fail on later (or misread): refused before anything runs.
        check_seed(config.get("seed_everything"))
        check_trainer_settings(config.get("trainer"))
        # Checked before LightningCLI reads the checkpoint's hyperparameters or Lightning loads it.
        ckpt_path = config.get("ckpt_path") if subcommand else None
        if ckpt_path in ("best", "hpc", "registry"):
            trainer = config.get("trainer") or {}
            ckpt_path = config["ckpt_path"] = str(
                check_ckpt_keyword(ckpt_path, trainer.get("default_root_dir") or RUNS)
            )
        elif ckpt_path == "last" and subcommand != "fit":
            # Lightning would look in this command's own new run directory, find nothing, warn and
            # evaluate the untrained model: the newest trained run's checkpoint is meant.
            _, checkpoint = newest_run_checkpoint(config)
            ckpt_path = config["ckpt_path"] = str(checkpoint)
        # Every keyword but fit's `last` (resolved with the run it continues) is now a file.
        if ckpt_path and ckpt_path != "last":
            hyperparameters = self._checkpoint(ckpt_path).get("hyper_parameters", {})
            # LightningCLI rebuilds the model from these: they must name the class they belong to.
            if hyperparameters and "_class_path" not in hyperparameters:
                raise ConfigError(
                    "ckpt_path", f"{ckpt_path}: its hyperparameters name no lit_basics model (_class_path)"
                )
            # ... and would silently replace a configured model of another family.
            model = self.config[subcommand].get("model")
            configured = str(model.get("class_path") or "").rsplit(".", 1)[-1] if hasattr(model, "get") else ""
            stored = str(hyperparameters.get("_class_path", "")).rsplit(".", 1)[-1]
            if configured and stored and configured != stored:
                raise ConfigError(
                    "ckpt_path",
                    f"{ckpt_path}: a checkpoint of {stored}, but the configured model is {configured}: "
                    "use the config the checkpoint was trained with",
                )
            if subcommand != "fit" and _rank() == 0:
                print(f"Using {ckpt_path}")  # Lightning's own notices of it are silenced (known_warnings)

    def _checkpoint(self, path: str) -> dict[str, Any]:
        """The checkpoint at ``path``, checked (:func:`~lit_basics.checkpoints.check_checkpoint`) once."""
        if path not in self._checkpoints:
            self._checkpoints[path] = check_checkpoint(path)
        return self._checkpoints[path]

    @override
    def before_instantiate_classes(self) -> None:
        config = self.config.get(self.subcommand) if self.subcommand else self.config
        if config is None:
            return
        seed = config.get("seed_everything")
        if _rank() == 0 and seed is not False:
            given = "seed_everything" in self._given
            origin = "" if given else " (the notes' torch.manual_seed(2017); --seed_everything=N to change)"
            print(f"Seed: {seed}{origin}")
        if self.subcommand == "fit" and config.get("ckpt_path") == "last":
            checkpoint = resume_newest_run(config)
            self._checkpoint(str(checkpoint))  # refused before anything else reads it
            self.save_config_kwargs["overwrite"] = True  # the run's own config.yaml, rewritten
            if _rank() == 0:  # a DDP process launched by the first one runs this too
                print(f"Resuming from {checkpoint}")
        elif self.subcommand == "fit" and config.get("ckpt_path") and _rank() == 0:
            print(f"Resuming from {config.get('ckpt_path')}")
        place_outputs(config)
        if self.subcommand == "fit" and "data.shard" not in self._given:
            shard_table(config)

    @override
    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except Exception as exc:
            if self._instantiator.error is not None:  # a constructor refused a value: say which
                raise self._instantiator.error from exc
            raise

    @override
    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        try:
            return super().instantiate_trainer(**kwargs)
        # Every argument of the Trainer is a user's configured value, already type-checked by the
        # parser: what the Trainer refuses (a devices string the accelerator cannot read is a
        # TypeError, an accelerator's missing package an ImportError) is a config mistake.
        except (MisconfigurationException, ValueError, TypeError, ImportError) as exc:
            raise ConfigError("trainer", exc) from exc

    @override
    def _instantiate_trainer(self, config: dict[str, Any], callbacks: list[Any]) -> Trainer:
        # enable_progress_bar=false / enable_checkpointing=false switch the progress bar and the
        # checkpoint callbacks off, the always-on ones and any listed (Lightning refuses the flag and
        # the callback together); a progress bar of the user's own (RichProgressBar) replaces ours.
        switched_off = tuple(
            kind
            for flag, kind in (("enable_progress_bar", ProgressBar), ("enable_checkpointing", ModelCheckpoint))
            if config.get(flag) is False
        )
        listed = [c for c in config.get("callbacks") or [] if not (switched_off and isinstance(c, switched_off))]
        replaced = (ProgressBar,) if any(isinstance(c, ProgressBar) for c in listed) else ()
        callbacks = [c for c in callbacks if not isinstance(c, (*switched_off, *replaced))]
        check_callback_states([*listed, *callbacks])
        return super()._instantiate_trainer({**config, "callbacks": listed}, callbacks)

    @override
    def _run_subcommand(self, subcommand: str) -> None:
        fresh = _new_run_directory(self.trainer) if subcommand == "fit" else None
        try:
            super()._run_subcommand(subcommand)
        except Exception as exc:
            if fresh is not None and user_error_in(exc) is not None:
                _remove_unfinished_run(fresh)
            if not isinstance(exc, OSError) or exc.errno not in DISK_FULL:
                raise
            raise UserError(disk_full_report(exc, self.trainer)) from exc

    # --- before each subcommand: everything a user can get wrong, checked ------------------------
    def _check_run(self) -> None:
        model, datamodule, trainer = self.model, self.datamodule, self.trainer
        config = self.config[str(self.subcommand)]
        ckpt_path = config.get("ckpt_path")  # a file by now: keywords are resolved in parsing
        if ckpt_path:
            check_checkpoint_fits(model, datamodule, str(ckpt_path), self._checkpoint(str(ckpt_path)))
        if self.subcommand == "validate" and isinstance(datamodule, InMemoryDataModule) and not datamodule.val_fraction:
            raise ConfigError(
                "data.init_args.val_fraction",
                "0 holds out no rows for `validate`; set a share, e.g. --data.init_args.val_fraction=0.2 "
                "(the fit's value validates on the rows that fit held out)",
            )
        if isinstance(datamodule, InMemoryDataModule):
            for callback in trainer.callbacks:  # type: ignore[attr-defined]
                if isinstance(callback, NotesInspector):
                    try:
                        callback.check_features(datamodule.num_features)
                    except ArgumentError as exc:
                        raise ConfigError(config_section(NotesInspector), exc) from None
        if isinstance(model, GradientDescentModule) and isinstance(datamodule, InMemoryDataModule):
            check_targets(model, datamodule)
            if self.subcommand == "fit":
                check_checkpoint_cadence(model, datamodule, config)
        if self.subcommand == "fit":
            check_monitors(trainer, model, datamodule)
        check_outputs(trainer)

    def before_fit(self) -> None:
        self._check_run()
        datamodule, model = self.datamodule, self.model
        if not (isinstance(datamodule, InMemoryDataModule) and isinstance(model, GradientDescentModule)):
            return
        if datamodule.shard_pending:
            # Each process reads its shard in setup: what needs the rows is said at the fit's start.
            if _rank() == 0:
                print(f"{datamodule.describe()}; {_devices(self.trainer)}; each process reads its shard of the rows")
            if not datamodule.full_batch and model.auto_lr:
                raise ConfigError(
                    "model.init_args.lr",
                    "'auto' needs full-batch data (data.init_args.batch_size null, shuffle false): it is computed "
                    "from every training row",
                )
            self.trainer.callbacks.append(_FitStartReport(self))  # type: ignore[attr-defined]
            return
        if precision_dtype(self.trainer) == torch.float64:
            # What Lightning does at setup, done before the exact optimum and the diagnosis, so
            # that they are those of the float64 data and parameters the fit will use.
            datamodule.use_dtype(torch.float64)
            model.double()
        if _rank() == 0:
            print(f"{datamodule.describe()}; {_devices(self.trainer)}")
            if not model.automatic_optimization and datamodule.full_batch and model.updates_per_step > 1:
                print(f"Manual twin: up to {model.updates_per_step} full-batch updates per Lightning step")
        if not datamodule.full_batch:
            if model.auto_lr:
                raise ConfigError(
                    "model.init_args.lr",
                    "'auto' needs full-batch data (data.init_args.batch_size null, shuffle false): it is computed "
                    "from every training row",
                )
            return
        # lr: auto (momentum: auto) from the model as drawn: a resumed run chooses what the first did.
        try:
            model.learn_input_map(datamodule.training_rows()[0])
            # What the always-on AutomaticStep would do at setup, done now to print it before the run.
            chosen = resolve_automatic_step(model, datamodule)
        except ArgumentError as exc:
            raise ConfigError("model.init_args", exc) from None
        if chosen and _rank() == 0:
            print(chosen)
        ckpt_path = self.config["fit"].get("ckpt_path")
        if ckpt_path:  # predict from where the fit will start
            model.load_state_dict(self._checkpoint(ckpt_path)["state_dict"])
        self.report_fit_start(model, datamodule, _rank() == 0)

    def report_fit_start(self, model: GradientDescentModule, datamodule: InMemoryDataModule, show: bool) -> None:
        """The diagnosis of the fit from its start (and the scaling advice, a warning for a step
        that cannot converge), printed where ``show``. With the rows in shards, a collective:
        every process computes it, from the shards' sums."""
        diagnosis, reason = diagnose_fit(self.trainer, model, datamodule)
        self.diagnosis = diagnosis  # the fit's start, at its settings (lit-basics compare reads it)
        if datamodule.row_shards is not None:
            advice = scaling_advice(self.trainer, model, datamodule)  # every process: a collective
        if not show:
            return
        print(diagnosis.summary() if diagnosis is not None else f"Gradient descent: no diagnosis ({reason})")
        advice = scaling_advice(self.trainer, model, datamodule)
        if advice is not None:
            print(advice.summary())
        if diagnosis is not None and model.lr >= diagnosis.max_stable_lr:
            rate = diagnosis.spectral_radius()
            consequence = ": the loss will grow without bound" if diagnosis.exact else ""
            factor = "|1 - lr·λmax|" if not model.momentum else "its spectral radius"
            sys.stdout.flush()
            sys.stderr.write(
                f"warning: model.init_args.lr={model.lr:g} is not below {diagnosis.bound_name} = "
                f"{diagnosis.max_stable_lr:.4g}, the largest stable learning rate of this problem: near the optimum "
                f"each update multiplies the error along the steepest direction by {factor} = {rate:.3g}, so "
                f"gradient descent cannot converge{consequence}\n"
            )

    def before_validate(self) -> None:
        self._check_run()

    def before_test(self) -> None:
        self._check_run()

    def before_predict(self) -> None:
        self._check_run()

    def after_predict(self) -> None:
        for callback in self.trainer.callbacks:  # type: ignore[attr-defined]
            if isinstance(callback, PredictionsCSV) and callback.written is not None:
                path, rows, without = callback.written
                unpredicted = f"; {without} with a missing value have no prediction" if without else ""
                print(f"Predictions ({rows} rows{unpredicted}): {path}")

    def after_fit(self) -> None:
        trainer = self.trainer
        log_dir = trainer.log_dir  # a collective under DDP: every process asks
        if trainer.is_global_zero:
            updates = trainer.global_step
            print(f"Trained {updates} update(s) in {trainer.current_epoch} Lightning epoch(s).")
            for callback in trainer.callbacks:  # type: ignore[attr-defined]
                if isinstance(callback, CoefficientsCSV) and callback.table is not None:
                    print(coefficients_summary(callback.table, callback.path, callback.glance, callback.glance_path))
                    if callback.table.warning:
                        sys.stdout.flush()
                        for line in callback.table.warning.splitlines():
                            sys.stderr.write(f"warning: {line}\n")
            if trainer.logger is not None and log_dir is not None:
                view = f"lit-basics tensorboard, or tensorboard --logdir {trainer.logger.save_dir}"
                print(f"Logs: {log_dir}  (view: {view})")
            elif log_dir is not None:
                print(f"Outputs: {log_dir}")


def _new_run_directory(trainer: Trainer) -> tuple[Path, Path] | None:
    """The run directory this fit's logger will create, if it does not exist yet (rank 0), and
    the outermost of its folders that does not exist yet either."""
    logger = trainer.logger
    if _rank() != 0 or logger is None or getattr(logger, "log_dir", None) is None:
        return None
    path = Path(str(logger.log_dir)).absolute()  # fixes the logger's next version, as Lightning would
    if path.exists():
        return None
    top = path
    while not top.parent.exists():
        top = top.parent
    return path, top


def _remove_unfinished_run(created: tuple[Path, Path]) -> None:
    """A fit stopped by a user's mistake once its logger had started (a table read in ``setup``,
    ``shard=True``): the run directory it created holds only the logger's first files; remove
    it and the folders made for it, so that nothing half-written is left."""
    path, top = created
    if path.is_dir() and all(p.name.startswith("events.out.tfevents.") or p.name == "hparams.yaml"
                             for p in path.iterdir()):  # fmt: skip
        shutil.rmtree(top)


class _FitStartReport(Callback):
    """With the rows in shards (``shard=True``): what ``before_fit`` says from the rows (the step
    ``lr="auto"`` chose, the diagnosis, the scaling advice), said at the fit's start, once every
    process has read its shard and the checkpoint (if any) is restored."""

    def __init__(self, cli: LitBasicsCLI) -> None:
        self.cli = cli

    @override
    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        datamodule = trainer.datamodule  # type: ignore[attr-defined]
        if not (isinstance(pl_module, GradientDescentModule) and isinstance(datamodule, InMemoryDataModule)):
            return
        show = trainer.is_global_zero
        for callback in trainer.callbacks:  # type: ignore[attr-defined]
            if isinstance(callback, AutomaticStep) and callback.chosen and show:
                print(callback.chosen)
        if datamodule.full_batch:
            self.cli.report_fit_start(pl_module, datamodule, show)


def shard_table(config: Any) -> None:
    """``fit`` with more than one process: a data table is read in shards (``shard: true``; the
    caller leaves a configured ``shard`` alone), each process holding only its rows."""
    data, trainer = config.get("data"), config.get("trainer")
    if data is None or trainer is None or not hasattr(data, "get"):
        return
    init_args = data.get("init_args")
    if not str(data.get("class_path", "")).endswith("ArrayDataModule") or init_args is None:
        return
    if not init_args.get("path") or init_args.get("shard") or planned_processes(trainer) < 2:
        return
    init_args["shard"] = True


def planned_processes(trainer: Any) -> int:
    """How many processes the trainer configuration ``trainer`` will run (``devices`` times
    ``num_nodes``), read from the configuration alone, before any trainer exists."""
    devices, nodes = trainer.get("devices", "auto"), trainer.get("num_nodes", 1) or 1
    accelerator = str(trainer.get("accelerator", "auto"))
    if isinstance(trainer.get("strategy"), str) and str(trainer.get("strategy")).startswith("single"):
        return 1
    if isinstance(devices, str):
        text = devices.strip()
        if "," in text:
            devices = [part for part in text.split(",") if part.strip()]
        elif text.lstrip("-").isdigit():
            devices = int(text)
    if isinstance(devices, (list, tuple)):
        count = len(devices)
    elif isinstance(devices, int) and devices > 0:
        count = devices
    else:  # "auto" or -1: every device of the accelerator (one CPU process for "auto")
        from lightning.fabric.accelerators.cuda import num_cuda_devices

        gpus = num_cuda_devices() if accelerator in ("auto", "gpu", "cuda") else 0
        count = gpus or (os.cpu_count() or 1 if devices == -1 and accelerator == "cpu" else 1)
    return int(count) * int(nodes)


#: The coefficient table's rows printed at the end of a fit; the rest are in the file.
PRINTED_TERMS = 20


def coefficients_summary(
    table: CoefficientTable, path: Any, glance: Glance | None = None, glance_path: Any = None
) -> str:
    """The end of a fit: the coefficient table (up to :data:`PRINTED_TERMS` rows) and its file, the
    fit's statistics in R's words and their file, and how close the estimates are to the optimum.
    What is wrong with the numbers is the CLI's warning line after it (:attr:`CoefficientTable.warning`)."""
    rest = len(table) - PRINTED_TERMS
    lines = [f"Coefficients ({path}):", table.to_text(PRINTED_TERMS)]
    if rest > 0:
        lines.append(f"... and {rest} more row(s) in {path}")
    if table.note:  # a penalised fit: estimates only
        lines.append(f"({table.note})")
    if glance is not None:
        lines += [f"Fit ({glance_path}):" if glance_path is not None else "Fit:", glance.to_text()]
    if table.accuracy is not None:
        lines.append(table.accuracy.line())
    return "\n".join(lines)


def _devices(trainer: Trainer) -> str:
    """``on cpu``, ``on 2 cuda devices (ddp)``: where the run trains."""
    kind = type(trainer.accelerator).__name__.removesuffix("Accelerator").lower()
    count = trainer.num_devices * trainer.num_nodes
    strategy = getattr(trainer.strategy, "strategy_name", type(trainer.strategy).__name__)
    return f"on {kind}" if count == 1 else f"on {count} {kind} devices ({strategy})"


def _rank() -> int:
    """This process's global rank, known before the trainer sets up its strategy (from the
    launcher's environment; 0 in the process a user started)."""
    return int(getattr(rank_zero_only, "rank", 0))
