"""How many updates each config needs to come within a tolerance of its optimum: predicted
(lit_basics.diagnostics, from the curvature at the optimum) against measured (the real run).

Runs every config through the real CLI (its own model, data, lr and seed) for up to
``--max-steps`` updates, reads ``train/loss_gap`` back from the TensorBoard events and prints, per
config, the prediction, the first update count at which the logged gap is <= ``--tolerance``, and
the prediction's error:

    python scripts/updates_to_optimum.py            # tolerance 1e-3
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
from pathlib import Path

import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lit_basics.cli import cli_main
from lit_basics.cli.defaults import NOTES_SEED
from lit_basics.diagnostics import diagnose

REPO = Path(__file__).resolve().parents[1]
CONFIGS = ("linear", "polynomial", "logistic", "softmax")


def predicted_and_measured(
    config: str, tolerance: float, max_steps: int
) -> tuple[int | None, int | None, float, float]:
    """``(predicted, measured, condition number, stability bound)`` for ``configs/<config>.yaml``."""
    with tempfile.TemporaryDirectory() as tmp:
        # The config as it is, without figures (they cost time and change no number), and the
        # manual twin at the configured updates per step (the same updates, faster).
        settings = yaml.safe_load((REPO / "configs" / f"{config}.yaml").read_text())
        settings.setdefault("inspector", {})["figures"] = False
        config_path = Path(tmp) / f"{config}.yaml"
        config_path.write_text(yaml.safe_dump(settings))
        with contextlib.redirect_stdout(io.StringIO()):
            cli = cli_main(
                [
                    "fit",
                    "-c",
                    str(config_path),
                    f"--trainer.max_steps={max_steps}",
                    "--model.optimization=manual",
                    "--trainer.enable_progress_bar=false",
                    "--trainer.enable_checkpointing=false",
                    "--trainer.log_every_n_steps=1000",
                    f"--trainer.logger.init_args.save_dir={tmp}",
                ]
            )
        assert cli is not None
        events = EventAccumulator(str(cli.trainer.log_dir), size_guidance={"scalars": 0})
        events.Reload()
        measured = next((g.step for g in events.Scalars("train/loss_gap") if g.value <= tolerance), None)
        # The model as the run started: the same seed draws the same initial weights.
        model = cli.model
        torch.manual_seed(int(settings.get("seed_everything", NOTES_SEED)))
        start = type(model)(**{k: v for k, v in model.hparams.items() if not k.startswith("_")})
        diagnosis = diagnose(start, *cli.datamodule.training_rows())
        return diagnosis.updates_to_gap(tolerance), measured, diagnosis.condition_number, diagnosis.max_stable_lr


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tolerance", type=float, default=1e-3)
    parser.add_argument("--max-steps", type=int, default=60_000)
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=CONFIGS)
    options = parser.parse_args(argv)
    sys.argv = sys.argv[:1]  # LightningCLI reads sys.argv unless given args; keep it clean
    print(
        f"| config | κ | 2/λmax | predicted updates to gap ≤ {options.tolerance:g} | measured | prediction / measured |"
    )
    print("|---|---|---|---|---|---|")
    for config in options.configs:
        predicted, measured, kappa, bound = predicted_and_measured(config, options.tolerance, options.max_steps)
        shown = f"not within {options.max_steps}" if measured is None else str(measured)
        ratio = f"{predicted / measured:.2f}" if predicted is not None and measured else "—"
        print(f"| `configs/{config}.yaml` | {kappa:.4g} | {bound:.4g} | {predicted} | {shown} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
