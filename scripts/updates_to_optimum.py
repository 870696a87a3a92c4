"""How many updates each config needs to get within a tolerance of the optimal loss.

Runs every notes config through the real CLI (its own model, data, lr and seed) for up to
``--max-steps`` updates, reads ``train/loss_gap`` back from the TensorBoard events and prints the
first update count at which the gap is <= ``--tolerance``:

    python scripts/updates_to_optimum.py            # tolerance 1e-3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lit_basics.cli import cli_main

REPO = Path(__file__).resolve().parents[1]


def updates_to_optimum(config: str, tolerance: float, max_steps: int) -> tuple[int | None, float]:
    with tempfile.TemporaryDirectory() as tmp:
        # The config as it is, without figures (they cost time and change no number).
        settings = yaml.safe_load((REPO / "configs" / f"{config}.yaml").read_text())
        for callback in settings["trainer"]["callbacks"]:
            if callback["class_path"].endswith("NotesInspector"):
                callback["init_args"]["figures"] = False
        config_path = Path(tmp) / f"{config}.yaml"
        config_path.write_text(yaml.safe_dump(settings))
        cli = cli_main(
            [
                "fit",
                "-c",
                str(config_path),
                f"--trainer.max_steps={max_steps}",
                "--trainer.enable_progress_bar=false",
                "--trainer.enable_checkpointing=false",
                "--trainer.log_every_n_steps=1000",
                f"--trainer.logger.init_args.save_dir={tmp}",
            ]
        )
        assert cli is not None
        events = EventAccumulator(str(cli.trainer.log_dir), size_guidance={"scalars": 0})
        events.Reload()
        gaps = events.Scalars("train/loss_gap")
        first = next((g.step for g in gaps if g.value <= tolerance), None)
        return first, gaps[-1].value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tolerance", type=float, default=1e-3)
    parser.add_argument("--max-steps", type=int, default=20_000)
    options = parser.parse_args(argv)
    sys.argv = sys.argv[:1]  # LightningCLI reads sys.argv unless given args; keep it clean
    print(f"| config | updates until loss − optimum ≤ {options.tolerance:g} | gap after {options.max_steps} |")
    print("|---|---|---|")
    for config in ("linear", "polynomial", "logistic"):
        first, last = updates_to_optimum(config, options.tolerance, options.max_steps)
        shown = "not within max-steps" if first is None else str(first)
        print(f"| `configs/{config}.yaml` | {shown} | {last:.3g} |", flush=True)


if __name__ == "__main__":
    main()
