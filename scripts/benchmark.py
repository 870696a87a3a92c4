"""lit_basics benchmark: per-update cost against the raw notes loop, the data path, start-up.

    python scripts/benchmark.py            # the full run (a few minutes)
    python scripts/benchmark.py --quick    # a smoke run (about 2 minutes): fewer sizes and repeats
    python scripts/benchmark.py --tables   # real tables: reading and fitting 1e5/1e6-row CSV and Parquet
                                           # against pandas and pyarrow (scripts/tables_benchmark.py)
    python scripts/benchmark.py --tables --versus --rows 10000000
                                           # the 10M-row fit against pandas and scikit-learn

Everything runs in this one process (start-up and peak memory in fresh subprocesses), variants
interleaved, each measured several times after a discarded warm-up; the tables report medians.
Per-update costs are slopes: each variant runs for two numbers of updates and the difference in
CPU time (threads and figure worker included; wall time beside it) is divided by the difference in
updates, so start-up and tear-down cancel out.

- ``raw``: the notes' loop, written as the notes write it (hand update for linear and polynomial
  regression, ``torch.optim.SGD`` for logistic regression): ``lit_basics.notes_loops``.
- ``bare``: the same updates in a minimal LightningModule (same forward, loss and update, one
  update per Lightning step; no logger, progress bar, checkpoints or metrics; one epoch of n batches).
- ``project``: ``lit-basics fit -c configs/<model>.yaml`` exactly as configured (TensorBoard
  logging of every update, figures, trajectories, progress bar, checkpoints), through ``cli_main``:
  the automatic twin, and the manual twin at ``updates_per_step`` 1 and at the configs' value.

Writes ``<out>/benchmark.json`` and ``<out>/benchmark.md`` (default ``benchmark-results/``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
import yaml
from torch.utils.data import DataLoader, TensorDataset

from lit_basics.callbacks import UpdateLog
from lit_basics.cli import filter_known_warnings
from lit_basics.cli.app import LitBasicsCLI
from lit_basics.cli.instantiate import ALWAYS_ON
from lit_basics.data import ArrayDataModule
from lit_basics.data.loader import ResidentBatches
from lit_basics.models import LinearRegression, LogisticRegression, NotesSGD, PolynomialRegression
from lit_basics.models.linear import mean_squared_error
from lit_basics.notes_loops import notes_linear, notes_logistic_data, notes_polynomial

REPO = Path(__file__).resolve().parents[1]
MODELS = ("linear", "polynomial", "logistic")
#: The project variants: (label, optimization, extra arguments, what is switched off). The rows
#: after "as configured" switch off one more part of the shipped config's watching each: the
#: differences between them say where the time of an update goes.
PROJECT_VARIANTS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("automatic", "automatic", (), ()),
    ("manual, 1 update per step", "manual", ("--model.updates_per_step=1",), ()),
    ("manual, as configured", "manual", (), ()),
    ("manual, as configured, no figures", "manual", (), ("figures",)),
    ("manual, as configured, no figures, no per-update log", "manual", (), ("figures", "update_log")),
    ("manual, as configured, no callbacks, no logger", "manual", (), ("figures", "update_log", "callbacks")),
)


def configured_updates_per_step(model: str) -> int:
    return int(
        yaml.safe_load((REPO / "configs" / f"{model}.yaml").read_text())["model"]["init_args"]["updates_per_step"]
    )


# --- per-update cost -----------------------------------------------------------------------


def raw_logistic(n: int, device: torch.device | None = None) -> float:
    """The notes' logistic loop (SGD, BCE with logits, accuracy with a host sync) for ``n`` updates."""
    x, y = (t.to(device) for t in notes_logistic_data())
    w = torch.nn.Parameter(torch.randn(2, 1, device=device))
    b = torch.nn.Parameter(torch.zeros(1, device=device))
    optimizer = torch.optim.SGD([w, b], lr=1.0)
    criterion = torch.nn.BCEWithLogitsLoss()
    cuda = x.is_cuda
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(n):
        y_pred = torch.mm(x, w) + b
        loss = criterion(y_pred, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        _ = (y_pred.ge(0.0).float() == y).sum().item() / y.shape[0]  # the notes' accuracy, a host sync
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start


def raw_loop(model: str) -> Callable[[int], float]:
    """The notes' loop for ``model``; returns a function timing ``n`` updates."""

    def run(n: int) -> float:
        if model == "logistic":
            return raw_logistic(n)
        # linear / polynomial: the notes' hand-written update, timed through their own functions
        reference = notes_linear if model == "linear" else notes_polynomial
        start = time.perf_counter()
        reference(updates=n, seed=None)
        return time.perf_counter() - start

    return run


class _Bare(pl.LightningModule):
    """The minimal LightningModule doing the same updates: the floor Lightning itself sets."""

    def __init__(self, inner: Any, manual: bool) -> None:
        super().__init__()
        self.inner = inner
        self.automatic_optimization = not manual

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        x, y = batch
        loss = self.inner.loss(self.inner(x), y)
        if self.automatic_optimization:
            return loss
        optimizer = self.optimizers()
        optimizer.zero_grad()
        self.manual_backward(loss)
        optimizer.step()  # p -= lr * p.grad
        return None

    def configure_optimizers(self) -> Any:
        params = self.inner.parameters()
        if self.automatic_optimization:
            return torch.optim.SGD(params, lr=self.inner.lr)
        return NotesSGD(params, lr=self.inner.lr)


def _model_and_data(model: str) -> tuple[Any, Any]:
    from lit_basics.data import LinearDataModule, LogisticDataModule, PolynomialDataModule

    if model == "linear":
        return LinearRegression(), LinearDataModule()
    if model == "polynomial":
        return PolynomialRegression(), PolynomialDataModule()
    return LogisticRegression(), LogisticDataModule()


def bare_lightning(model: str, optimization: str) -> Callable[[int], float]:
    def run(n: int) -> float:
        inner, dm = _model_and_data(model)
        batches = ResidentBatches(dm.x, dm.y, passes=n)  # one epoch of n full batches
        trainer = pl.Trainer(
            accelerator="cpu",
            devices=1,
            max_steps=n,
            max_epochs=-1,
            logger=False,
            enable_progress_bar=False,
            enable_checkpointing=False,
            enable_model_summary=False,
        )
        start = time.perf_counter()
        trainer.fit(_Bare(inner, optimization == "manual"), train_dataloaders=batches)
        return time.perf_counter() - start

    return run


def without(parts: tuple[str, ...]) -> tuple[tuple[str, ...], dict[str, Any]]:
    """Command-line arguments and ``LitBasicsCLI`` keywords that switch ``parts`` of a run's
    watching off (``((), {})``: nothing off, the run as shipped).

    ``figures``: NotesInspector's figures and contours; ``update_log``: the UpdateLog callback (the
    per-update ``train/*`` events) and the trajectories; ``callbacks``: every callback, the logger
    and checkpointing (the model and Lightning's loop alone).
    """
    args: list[str] = []
    always_on = dict(ALWAYS_ON)
    if "figures" in parts:
        args += ["--inspector.figures=false", "--inspector.contours=false"]
    if "update_log" in parts:
        args += ["--inspector.trajectories=false"]
        always_on.pop("update_log")
    if "callbacks" in parts:
        args = ["--trainer.logger=false", "--trainer.enable_checkpointing=false", "--trainer.enable_progress_bar=false"]
        always_on = {}
    return tuple(args), ({"always_on": always_on} if parts else {})


def project_fit(
    model: str, optimization: str, workdir: Path, *extra: str, parts: tuple[str, ...] = ()
) -> Callable[[int], float]:
    """``lit-basics fit -c configs/<model>.yaml`` as shipped (plus ``extra`` arguments, with ``parts``
    of its watching switched off: :func:`without`), timed."""
    config = REPO / "configs" / f"{model}.yaml"
    switches, cli_kwargs = without(parts)
    if "callbacks" in parts:  # the config's sections of the always-on callbacks go with them
        settings = yaml.safe_load(config.read_text())
        config = workdir / f"{model}-without-callbacks.yaml"
        config.write_text(yaml.safe_dump({k: v for k, v in settings.items() if k not in ALWAYS_ON}))

    def run(n: int) -> float:
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            args = [
                "fit",
                "-c",
                str(config),
                f"--trainer.max_steps={n}",
                f"--model.optimization={optimization}",
                f"--trainer.default_root_dir={tmp}"
                if "callbacks" in parts
                else f"--trainer.logger.init_args.save_dir={tmp}",
                *switches,
                *extra,
            ]
            # The progress bar draws as configured; its text goes nowhere.
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                start = time.perf_counter()
                LitBasicsCLI(args=args, **cli_kwargs)
                return time.perf_counter() - start

    return run


def _clocks() -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process's threads and its finished children)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter(), own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _measure(run: Callable[[int], float], n: int) -> tuple[float, float]:
    """(wall, CPU) seconds of ``run(n)``, set-up and tear-down included (they cancel in a slope)."""
    torch.manual_seed(2017)
    wall, cpu = _clocks()
    run(n)
    wall_end, cpu_end = _clocks()
    return wall_end - wall, cpu_end - cpu


def per_update(models: tuple[str, ...], lengths: tuple[int, int], repeats: int, workdir: Path) -> list[dict]:
    """Per-update cost of every variant: the slope between two run lengths, in CPU time and in wall time.

    CPU time (this process's threads plus its figure worker, which ends inside the run) is the
    primary figure: it counts every cycle an update costs, and a figure worker that starts in
    parallel cannot hide or add a second of start-up to one length only, as it can in wall time.
    """
    variants: dict[tuple[str, str], Callable[[int], float]] = {}
    for model in models:
        variants[(model, "raw")] = raw_loop(model)
        for optimization in ("automatic", "manual"):
            variants[(model, f"bare {optimization}")] = bare_lightning(model, optimization)
        for label, optimization, extra, parts in PROJECT_VARIANTS:
            variants[(model, label)] = project_fit(model, optimization, workdir, *extra, parts=parts)
    cpu_samples: dict[tuple[str, str], list[float]] = {key: [] for key in variants}
    wall_samples: dict[tuple[str, str], list[float]] = {key: [] for key in variants}
    short, long = lengths
    # A warm-up round, discarded: the first run of a variant pays one-time costs (imports of
    # TensorBoard and matplotlib, font loading, lazy torch initialisation) that would otherwise land
    # in one length only and bend the slope.
    for run in variants.values():
        run(short)
    for _ in range(repeats):  # interleaved: every variant once per round
        for key, run in variants.items():
            wall_short, cpu_short = _measure(run, short)
            wall_long, cpu_long = _measure(run, long)
            cpu_samples[key].append((cpu_long - cpu_short) / (long - short) * 1e6)
            wall_samples[key].append((wall_long - wall_short) / (long - short) * 1e6)
    rows = []
    for model in models:
        raw = statistics.median(cpu_samples[(model, "raw")])
        for label, optimization, _, _ in PROJECT_VARIANTS:
            bare = statistics.median(cpu_samples[(model, f"bare {optimization}")])
            project = statistics.median(cpu_samples[(model, label)])
            per_step = 1 if optimization == "automatic" or "1 update" in label else configured_updates_per_step(model)
            keys = {"raw": (model, "raw"), "bare": (model, f"bare {optimization}"), "project": (model, label)}
            rows.append(
                {
                    "model": model,
                    "variant": label,
                    "optimization": optimization,
                    "updates_per_step": per_step,
                    "raw_us": raw,
                    "bare_us": bare,
                    "project_us": project,
                    "project_over_raw": project / raw,
                    "project_over_bare": project / bare,
                    "bare_over_raw": bare / raw,
                    "wall": {name: statistics.median(wall_samples[key]) for name, key in keys.items()},
                    "samples_us": {name: cpu_samples[key] for name, key in keys.items()},
                    "wall_samples_us": {name: wall_samples[key] for name, key in keys.items()},
                }
            )
    return rows


# --- data path -----------------------------------------------------------------------------


def _make_data(kind: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    features = 2 if kind == "logistic" else 1
    x = torch.rand(n, features, generator=generator)
    if kind == "logistic":
        y = (x.sum(1, keepdim=True) + 0.3 * torch.randn(n, 1, generator=generator) > 1).float()
    else:
        y = 0.9 + 0.5 * x + 3 * x**2 + 2.4 * x**3
    return x, y


def _consume(batches: Any, limit: int | None = None) -> tuple[int, float]:
    """Iterate, reading every batch (a sum), up to ``limit`` batches; (samples, seconds)."""
    seen, total = 0, None
    start = time.perf_counter()
    for i, (xb, yb) in enumerate(batches):
        part = xb.sum() + yb.sum()
        total = part if total is None else total + part
        seen += xb.shape[0]
        if limit is not None and i + 1 >= limit:
            break
    if total is not None and total.is_cuda:
        torch.cuda.synchronize()
    return seen, time.perf_counter() - start


def _raw_slices(x: torch.Tensor, y: torch.Tensor, batch_size: int) -> Any:
    for start in range(0, x.shape[0], batch_size):
        yield x[start : start + batch_size], y[start : start + batch_size]


def _raw_training(kind: str, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> float:
    """One epoch of the notes' update over resident slices; seconds."""
    w = torch.nn.Parameter(torch.randn(x.shape[1] if kind == "logistic" else 3, 1))
    b = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([w, b], lr=1e-3)
    start = time.perf_counter()
    for xb, yb in _raw_slices(x, y, batch_size):
        features = xb if kind == "logistic" else xb.double().pow(torch.arange(1, 4, dtype=torch.float64)).float()
        out = torch.mm(features, w) + b
        loss = (
            torch.nn.functional.binary_cross_entropy_with_logits(out, yb)
            if kind == "logistic"
            else mean_squared_error(out, yb)
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


class _EpochClock(pl.Callback):
    """Wall seconds of each training epoch, measured inside the fit (set-up and tear-down excluded)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._start = 0.0

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.seconds.append(time.perf_counter() - self._start)


def _project_training(kind: str, x: torch.Tensor, y: torch.Tensor, batch_size: int, epochs: int) -> float:
    """Median wall seconds of one training epoch, the first (warm-up) epoch discarded."""
    model = LogisticRegression(in_features=2, lr=1e-3) if kind == "logistic" else PolynomialRegression(lr=1e-3)
    dm = ArrayDataModule(x=x, y=y, batch_size=batch_size)
    clock = _EpochClock()
    with tempfile.TemporaryDirectory() as tmp:
        trainer = pl.Trainer(
            accelerator="cpu",
            devices=1,
            max_epochs=epochs,
            logger=pl.loggers.TensorBoardLogger(tmp, name="bench"),
            callbacks=[UpdateLog(loss_gap=False), clock],  # per-update logging on
            enable_progress_bar=False,
            enable_checkpointing=False,
            enable_model_summary=False,
        )
        trainer.fit(model, dm)
    return statistics.median(clock.seconds[1:] or clock.seconds)


def data_path(sizes: tuple[int, ...], batch_sizes: tuple[int, ...], repeats: int) -> list[dict]:
    rows = []
    for kind in ("logistic", "polynomial"):  # warm-up, discarded (see per_update)
        _project_training(kind, *_make_data(kind, 1024), batch_size=256, epochs=1)
    for kind in ("logistic", "polynomial"):
        for n in sizes:
            x, y = _make_data(kind, n)
            for batch_size in batch_sizes:
                measures: dict[str, list[float]] = {
                    k: [] for k in ("raw_slicing", "loader", "dataloader", "fit", "raw_fit", "epoch_s")
                }
                for _ in range(repeats):
                    seen, seconds = _consume(_raw_slices(x, y, batch_size))
                    measures["raw_slicing"].append(seen / seconds)
                    loader = ArrayDataModule(x=x, y=y, batch_size=batch_size).train_dataloader()
                    seen, seconds = _consume(loader)
                    measures["loader"].append(seen / seconds)
                    # Per-sample collation is slow: a few batches, extrapolated.
                    naive = DataLoader(TensorDataset(x, y), batch_size=batch_size)
                    seen, seconds = _consume(naive, limit=3 if batch_size > 10_000 else 10)
                    measures["dataloader"].append(seen / seconds)
                    epoch_s = _project_training(kind, x, y, batch_size, epochs=4)
                    measures["fit"].append(n / epoch_s)
                    measures["epoch_s"].append(epoch_s)
                    measures["raw_fit"].append(n / _raw_training(kind, x, y, batch_size))
                med = {k: statistics.median(v) for k, v in measures.items()}
                rows.append(
                    {
                        "kind": kind,
                        "n": n,
                        "batch_size": batch_size,
                        "raw_slicing_per_s": med["raw_slicing"],
                        "loader_per_s": med["loader"],
                        "dataloader_per_s": med["dataloader"],
                        "fit_per_s": med["fit"],
                        "raw_fit_per_s": med["raw_fit"],
                        "epoch_s": med["epoch_s"],
                        "loader_over_raw": med["loader"] / med["raw_slicing"],
                        "fit_over_raw_fit": med["fit"] / med["raw_fit"],
                        "loader_over_dataloader": med["loader"] / med["dataloader"],
                    }
                )
            del x, y
    return rows


_RSS_CHILD = """
import sys, torch
import lightning.pytorch as pl
from lit_basics.cli import filter_known_warnings
from lit_basics.data import ArrayDataModule
from lit_basics.models import LogisticRegression
filter_known_warnings()
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024

n = int(sys.argv[1])
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak (VmHWM) to the current RSS: imports do not count
baseline = status("VmRSS")
x = torch.rand(n, 2); y = torch.empty(n, 1).bernoulli_(0.5)  # no temporaries: only the data itself
dm = ArrayDataModule(x=x, y=y, batch_size=65536)
trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=1, logger=False, enable_progress_bar=False,
                     enable_checkpointing=False, enable_model_summary=False)
trainer.fit(LogisticRegression(in_features=2, lr=1e-3), dm)
peak = status("VmHWM")
print(baseline, peak, x.numel() * 4 + y.numel() * 4)
"""


def peak_rss(sizes: tuple[int, ...]) -> list[dict]:
    rows = []
    for n in sizes:
        out = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(n)], capture_output=True, text=True, check=True)
        baseline, peak, data_bytes = map(int, out.stdout.split()[-3:])
        rows.append(
            {
                "n": n,
                "dataset_bytes": data_bytes,
                "baseline_bytes": baseline,
                "peak_bytes": peak,
                "peak_over_data": (peak - baseline) / data_bytes,
            }
        )
    return rows


# --- CUDA ----------------------------------------------------------------------------------


def cuda_section(repeats: int, workdir: Path) -> dict | None:
    """Per-update cost and the data path with the data on the GPU (None without one)."""
    if not torch.cuda.is_available():
        return None
    device = torch.device("cuda")

    def raw(n: int) -> float:
        return raw_logistic(n, device)

    variants = {
        "raw": raw,
        "automatic": project_fit("logistic", "automatic", workdir, "--trainer.accelerator=gpu"),
        "manual": project_fit("logistic", "manual", workdir, "--trainer.accelerator=gpu", "--model.updates_per_step=1"),
        "manual_configured": project_fit("logistic", "manual", workdir, "--trainer.accelerator=gpu"),
    }
    samples: dict[str, list[float]] = {k: [] for k in variants}
    for run in variants.values():  # warm-up, discarded (see per_update)
        run(200)
    for _ in range(repeats):
        for name, run in variants.items():
            short, long = run(200), run(800)
            samples[name].append((long - short) / 600 * 1e6)
    x, y = (t.to(device) for t in _make_data("logistic", 1_000_000))
    dm = ArrayDataModule(x=x, y=y, batch_size=65536)
    loader = dm.train_dataloader()
    first_x, _ = next(iter(loader))
    raw_rate = statistics.median(
        [s / t for s, t in (_consume(_raw_slices(x, y, 65536)) for _ in range(max(3, repeats)))]
    )
    loader_rate = statistics.median([s / t for s, t in (_consume(loader) for _ in range(max(3, repeats)))])
    return {
        "device": torch.cuda.get_device_name(0),
        "raw_us": statistics.median(samples["raw"]),
        "automatic_us": statistics.median(samples["automatic"]),
        "manual_us": statistics.median(samples["manual"]),
        "manual_configured_us": statistics.median(samples["manual_configured"]),
        "updates_per_step": configured_updates_per_step("logistic"),
        "samples_us": samples,
        "loader_per_s": loader_rate,
        "raw_slicing_per_s": raw_rate,
        # A batch is a view of the resident device tensor: no host-to-device copy per update.
        "batches_are_device_views": bool(
            first_x.is_cuda and first_x.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
        ),
    }


# --- start-up ------------------------------------------------------------------------------


def startup(repeats: int) -> dict:
    lit_basics = Path(sys.executable).with_name("lit-basics")
    importing, fitting = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import lightning.pytorch"], check=True, capture_output=True)
        importing.append(time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            subprocess.run(
                [str(lit_basics), "fit", "-c", str(REPO / "configs" / "logistic.yaml")],
                check=True,
                capture_output=True,
                cwd=tmp,
            )
            fitting.append(time.perf_counter() - start)
    return {
        "import_lightning_s": statistics.median(importing),
        "fit_logistic_s": statistics.median(fitting),
        "ratio": statistics.median(fitting) / statistics.median(importing),
        "samples": {"import": importing, "fit": fitting},
    }


# --- report --------------------------------------------------------------------------------


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": pl.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        f"Machine: {m['cores']} cores ({m['cpu']}), torch {m['torch']} ({m['torch_threads']} thread(s)), "
        f"Lightning {m['lightning']}, Python {m['python']}, CUDA: {m['cuda'] or 'none'}; "
        f"{report['mode']} run, medians of {report['repeats']} interleaved repeats.",
        "",
        "Per update (µs of CPU time, figure worker included; slope between two run lengths; `bare` = a minimal "
        "LightningModule, one update per step, of the same twin; the last column is the project's wall-clock slope):",
        "",
        "| model | project variant (config as shipped) | updates per step | raw notes loop | bare Lightning | project | project / raw | project / bare | project, wall |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["per_update"]:
        lines.append(
            f"| {r['model']} | {r['variant']} | {r['updates_per_step']} | {r['raw_us']:.0f} | {r['bare_us']:.0f} "
            f"| {r['project_us']:.0f} | {r['project_over_raw']:.2f}× | {r['project_over_bare']:.2f}× "
            f"| {r['wall']['project']:.0f} |"
        )
    lines += [
        "",
        "Data path (samples/s; `loader` = the project's train dataloader alone, `fit` = training epochs of a fit "
        "with per-update logging, timed inside the fit, the first epoch discarded):",
        "",
        "| data | N | batch | raw slicing | loader | loader / raw | DataLoader(TensorDataset) | fit | raw loop | fit / raw loop | s per epoch (fit) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["data_path"]:
        lines.append(
            f"| {r['kind']} | {r['n']:.0e} | {r['batch_size']} | {r['raw_slicing_per_s']:.3g} | {r['loader_per_s']:.3g} "
            f"| {r['loader_over_raw']:.2f}× | {r['dataloader_per_s']:.3g} | {r['fit_per_s']:.3g} | {r['raw_fit_per_s']:.3g} "
            f"| {r['fit_over_raw_fit']:.2f}× | {r['epoch_s']:.3g} |"
        )
    lines += [
        "",
        "Peak memory of a fit over N×2 float32 rows (fresh process):",
        "",
        "| N | data | peak − baseline | ratio |",
        "|---|---|---|---|",
    ]
    for r in report["peak_rss"]:
        lines.append(
            f"| {r['n']:.0e} | {r['dataset_bytes'] / 2**20:.1f} MiB | {(r['peak_bytes'] - r['baseline_bytes']) / 2**20:.1f} MiB "
            f"| {r['peak_over_data']:.2f}× |"
        )
    c = report.get("cuda")
    if c:
        lines += [
            "",
            f"CUDA ({c['device']}), logistic per update: raw loop {c['raw_us']:.0f} µs, project automatic "
            f"{c['automatic_us']:.0f} µs ({c['automatic_us'] / c['raw_us']:.2f}×), manual {c['manual_us']:.0f} µs "
            f"({c['manual_us'] / c['raw_us']:.2f}×), manual at {c['updates_per_step']} updates per step "
            f"{c['manual_configured_us']:.0f} µs ({c['manual_configured_us'] / c['raw_us']:.2f}×); "
            f"loader {c['loader_per_s']:.3g} samples/s vs raw slicing "
            f"{c['raw_slicing_per_s']:.3g}; batches are views of the device-resident data: {c['batches_are_device_views']}.",
        ]
    s = report.get("startup")
    if not s:
        return "\n".join(lines) + "\n"
    lines += [
        "",
        f"Start-up: `lit-basics fit -c configs/logistic.yaml` end to end {s['fit_logistic_s']:.2f} s; "
        f'`python -c "import lightning.pytorch"` {s["import_lightning_s"]:.2f} s; ratio {s["ratio"]:.2f}×.',
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer sizes and repeats (about 2 minutes)")
    parser.add_argument("--out", default="benchmark-results", help="directory for benchmark.json and benchmark.md")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as the notes' timing)")
    parser.add_argument("--cuda-only", action="store_true", help="only the CUDA section (scripts/gpu_check.sh)")
    parser.add_argument("--tables", action="store_true", help="only the real-tables section (tables_benchmark.py)")
    parser.add_argument(
        "--table-rows", "--rows", type=int, nargs="+", default=[100_000, 1_000_000], help="with --tables"
    )
    parser.add_argument("--table-repeats", type=int, default=3, help="with --tables: rounds of interleaved runs")
    parser.add_argument(
        "--versus",
        action="store_true",
        help="with --tables: the fit on standardised inputs against pandas' reads and scikit-learn (--rows[0])",
    )
    options = parser.parse_args(argv)
    if options.tables:
        import tables_benchmark

        rows = tables_benchmark.main(
            ["--rows", *map(str, options.table_rows), "--repeats", str(options.table_repeats), "--out", options.out]
            + (["--versus"] if options.versus else [])
        )
        return {"tables": rows}
    torch.set_num_threads(options.threads)
    filter_known_warnings()
    sys.argv = sys.argv[:1]  # LightningCLI reads sys.argv when args are not given; keep it clean
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    if options.quick:
        models, lengths, repeats = ("logistic",), (200, 800), 3
        sizes, batch_sizes, rss_sizes, startup_repeats = (100_000,), (4096, 65536), (1_000_000,), 1
    else:
        models, lengths, repeats = MODELS, (500, 2500), 5
        sizes, batch_sizes, rss_sizes, startup_repeats = (
            (100_000, 1_000_000, 10_000_000),
            (4096, 65536),
            (1_000_000, 10_000_000),
            3,
        )
    with tempfile.TemporaryDirectory() as workdir:
        cwd = os.getcwd()
        os.chdir(workdir)  # anything a run writes by default lands here, not in the repo
        try:
            report: dict[str, Any] = {"mode": "quick" if options.quick else "full", "repeats": repeats}
            report["machine"] = machine()
            if options.cuda_only:
                report.update(per_update=[], data_path=[], peak_rss=[], cuda=cuda_section(3, Path(workdir)))
            else:
                report["per_update"] = per_update(models, lengths, repeats, Path(workdir))
                report["data_path"] = data_path(sizes, batch_sizes, max(1, repeats // 2))
                report["peak_rss"] = peak_rss(rss_sizes)
                report["startup"] = startup(startup_repeats)
                report["cuda"] = cuda_section(repeats, Path(workdir))
            report["max_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        finally:
            os.chdir(cwd)
    (out / "benchmark.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    (out / "benchmark.md").write_text(table)
    print(table)
    return report


if __name__ == "__main__":
    main()
