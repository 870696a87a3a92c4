"""``lit-basics compare -c <config>``: the config's run beside the ways to make gradient descent fast.

Each variant is a normal run of the config (the same seed, data and start) under
``runs/<model>-compare/<variant>/``, so TensorBoard overlays their curves:

Updates to a loss gap ``<= 1e-3`` count from the start to the update from which on the gap stays
there (with momentum it can pass below and come back up).

- ``config``: the config as it is;
- ``best_step``: ``lr: auto``, no momentum (the constant step with the fewest updates from this start);
- ``heavy_ball``: ``lr: auto``, ``momentum: auto`` (the best ``(lr, β)`` pair);
- ``nesterov``: the same with Nesterov's momentum;
- ``adam``: ``torch.optim.Adam`` at the config's ``lr`` (the automatic twin);
- ``standardized``: ``data.scale: standardize`` with ``lr: auto`` (when the config does not
  standardise already).

Then one table: variant, lr, β, predicted updates to a loss gap ``<= 1e-3`` (the diagnosis of
each run's own settings; none for Adam), measured updates (the first logged ``train/loss_gap``
``<= 1e-3``), and the final gap; and, for a model with two parameters (the notes' linear
regression), one contour figure with every variant's path (``compare_paths.png``).
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback

from lit_basics.cli.outputs import RUNS, family_name
from lit_basics.errors import ConfigError

__all__ = ["VARIANTS", "CompareRow", "run_compare"]

#: The variants: (name, the arguments it adds to the command).
VARIANTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("config", ()),
    ("best_step", ("--model.lr=auto", "--model.momentum=0", "--model.nesterov=false")),
    ("heavy_ball", ("--model.lr=auto", "--model.momentum=auto", "--model.nesterov=false")),
    ("nesterov", ("--model.lr=auto", "--model.momentum=auto", "--model.nesterov=true")),
    (
        "adam",
        ("--model.optimizer=Adam", "--model.optimization=automatic", "--model.momentum=0", "--model.nesterov=false"),
    ),
    ("standardized", ("--data.scale=standardize", "--model.lr=auto", "--model.momentum=0", "--model.nesterov=false")),
)
#: The tolerance of "updates to a loss gap <= tol".
TOLERANCE = 1e-3


@dataclass
class CompareRow:
    """One variant's run: its settings, predicted and measured updates, final gap, path."""

    variant: str
    lr: float
    momentum: float
    nesterov: bool
    predicted: int | None
    measured: int | None
    final_gap: float | None
    log_dir: str
    path: torch.Tensor | None

    def cells(self) -> list[str]:
        beta = "—" if self.variant == "adam" else f"{self.momentum:.4g}" + (" (Nesterov)" if self.nesterov else "")
        predicted = "—" if self.variant == "adam" else "never" if self.predicted is None else str(self.predicted)
        measured = "not within the run" if self.measured is None else str(self.measured)
        gap = "—" if self.final_gap is None else f"{self.final_gap:.3g}"
        return [self.variant, f"{self.lr:.4g}", beta, predicted, measured, gap]


class _PathRecorder(Callback):
    """The parameters before every update and after the last (two-parameter models only)."""

    def __init__(self) -> None:
        self.points: list[torch.Tensor] = []

    def _take(self, pl_module: Any) -> None:
        if pl_module.w.numel() + pl_module.b.numel() == 2:
            self.points.append(torch.cat([pl_module.w.detach().reshape(-1), pl_module.b.detach().reshape(-1)]).cpu())

    def on_before_optimizer_step(self, trainer: Any, pl_module: Any, optimizer: Any) -> None:
        self._take(pl_module)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self._take(pl_module)


def _model_name(argv: list[str]) -> str:
    """The model family a compare command trains (from its config files or ``--model``)."""
    import yaml

    name = None
    for index, arg in enumerate(argv):
        if arg in ("-c", "--config") and index + 1 < len(argv):
            try:
                config = yaml.safe_load(Path(argv[index + 1]).read_text())
            except OSError as exc:
                raise ConfigError(
                    "compare", f"{argv[index + 1]}: cannot read the config: {exc.strerror or exc}"
                ) from None
            except yaml.YAMLError:
                continue  # the CLI reports it, with its line
            model = config.get("model") if isinstance(config, dict) else None
            if isinstance(model, dict) and model.get("class_path"):
                name = str(model["class_path"])
        elif arg.startswith("--model=") or (arg == "--model" and index + 1 < len(argv)):
            name = arg.split("=", 1)[1] if "=" in arg else argv[index + 1]
    if name is None:
        raise ConfigError("compare", "needs a model: -c <config> (or --model X --data Y)")
    return family_name(name)


def _measured(log_dir: str) -> tuple[int | None, float | None]:
    """The first update whose logged loss gap is ``<= TOLERANCE``, and the final gap."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(log_dir, size_guidance={"scalars": 0})
    events.Reload()
    tags = set(events.Tags().get("scalars", []))
    gaps = events.Scalars("train/loss_gap") if "train/loss_gap" in tags else []
    # The update from which on the gap stays <= TOLERANCE (momentum can pass below and come back).
    above = [g.step for g in gaps if g.value > TOLERANCE]
    settled = above[-1] + 1 if above else 0
    first = settled if gaps and settled <= gaps[-1].step else None
    final = events.Scalars("hp/final_loss_gap")[-1].value if "hp/final_loss_gap" in tags else None
    return first, final


def run_compare(argv: list[str]) -> list[CompareRow]:
    """Run every variant of ``lit-basics fit <argv>``; print the table; return its rows."""
    from lit_basics.cli.app import LitBasicsCLI  # the command runs the CLI it belongs to

    family = _model_name(argv)
    save_dir = Path(RUNS)
    name = f"{family}-compare"
    existing = [variant for variant, _ in VARIANTS if (save_dir / name / variant).exists()]
    if existing:
        raise ConfigError(
            "compare",
            f"{save_dir / name} already holds {', '.join(existing)}: remove it (or run elsewhere) to compare again",
        )
    rows: list[CompareRow] = []
    first: Any = None  # the config's own run: its problem is the figure's (standardized is another)
    for variant, extra in VARIANTS:
        if variant == "standardized" and any("scale=standardize" in a for a in argv):
            continue  # the config standardises already
        recorder = _PathRecorder()
        args = [
            "fit",
            *argv,
            *extra,
            f"--trainer.logger.init_args.save_dir={save_dir}",
            f"--trainer.logger.init_args.name={name}",
            f"--trainer.logger.init_args.version={variant}",
            "--trainer.enable_progress_bar=false",
            "--inspector.figures=false",
            "--inspector.contours=false",
        ]
        with contextlib.redirect_stdout(io.StringIO()) as out:
            cli = LitBasicsCLI(args=args, trainer_defaults={"callbacks": [recorder]})
        model, trainer = cli.model, cli.trainer
        first = first or cli
        chosen = next((line for line in out.getvalue().splitlines() if line.startswith("Automatic:")), "")
        print(f"{variant}: {chosen.removeprefix('Automatic: ') or f'lr = {model.lr:g}'}", flush=True)
        diagnosis = getattr(cli, "diagnosis", None)
        predicted = diagnosis.updates_to_gap(TOLERANCE) if diagnosis is not None and variant != "adam" else None
        measured, final = _measured(str(trainer.log_dir))
        path = torch.stack(recorder.points) if len(recorder.points) > 1 else None
        rows.append(
            CompareRow(
                variant,
                float(model.lr),
                float(model.momentum),
                bool(model.nesterov),
                predicted,
                measured,
                final,
                str(trainer.log_dir),
                path,
            )
        )
    print()
    print(table(rows, updates=int(trainer.max_steps)))
    figure = _contour_figure(first, rows, save_dir / name)
    if figure is not None:
        print(f"\nPaths: {figure}")
    print(f"Runs: {save_dir / name}  (view: lit-basics tensorboard --logdir {save_dir / name})")
    return rows


def table(rows: list[CompareRow], updates: int) -> str:
    """The rows as a Markdown table."""
    header = [
        "variant",
        "lr",
        "β",
        f"predicted updates to a gap <= {TOLERANCE:g}",
        f"measured (in {updates})",
        "final gap",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def _contour_figure(cli: Any, rows: list[CompareRow], directory: Path) -> Path | None:
    """Every variant's path over the loss contours of the config's problem (two parameters)."""
    paths = {row.variant: row.path for row in rows if row.path is not None and row.variant != "standardized"}
    if not paths:
        return None
    from lit_basics.plots import write_png

    model, datamodule = cli.model, cli.datamodule
    x, y = datamodule.training_rows()
    objective = model.reference_objective(x.cpu(), y.cpu())
    from lit_basics.reference import optimum

    best = optimum(objective)
    star = torch.cat([best.w.reshape(-1), best.b.reshape(-1)]).to(torch.float64)
    points = torch.cat([*(p.to(torch.float64) for p in paths.values()), star.unsqueeze(0)])
    finite = points[torch.isfinite(points).all(dim=1)]
    low, high = finite.min(dim=0).values, finite.max(dim=0).values
    margin = 0.15 * (high - low).clamp_min(1e-3)
    grid_w = torch.linspace(float(low[0] - margin[0]), float(high[0] + margin[0]), 80, dtype=torch.float64)
    grid_b = torch.linspace(float(low[1] - margin[1]), float(high[1] + margin[1]), 80, dtype=torch.float64)
    ww, bb = torch.meshgrid(grid_w, grid_b, indexing="xy")
    loss = objective.values(torch.stack([ww.reshape(-1), bb.reshape(-1)], dim=1)).reshape(80, 80)
    data = {"grid_w": grid_w.numpy(), "grid_b": grid_b.numpy(), "loss": loss.numpy(), "optimum": star.numpy()}
    data |= {f"path:{name}": path.to(torch.float64).numpy() for name, path in paths.items()}
    target = directory / "compare_paths.png"
    write_png("contours", data, f"{type(model).__name__}: the paths of gradient descent", target)
    return target
