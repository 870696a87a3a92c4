"""Before/after: the cost per update of a config's fit in two source trees, alternated in one run.

    git worktree add /tmp/before <old commit>
    python scripts/before_after.py /tmp/before . --config configs/logistic.yaml --rounds 5

Each round runs every tree once, in a fresh process (the tree's own ``lit_basics`` on
``sys.path``): a discarded warm-up fit, then fits of ``--short`` and ``--long`` updates; the
per-update cost is the slope between them (start-up and tear-down cancel), in CPU time (this process
and its figure worker) and in wall time. Beside the project's fit, the same process times a bare
Lightning loop doing the same updates (the floor Lightning sets), so each tree's ratio to it is
measured under the same conditions. Reports medians and every sample; ``--twin`` picks the
automatic (default) or manual twin; ``--before-args`` / ``--after-args`` add arguments to each
tree's fits (the same setting can have another key in another tree).
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

_CHILD = textwrap.dedent(
    """
    import contextlib, io, json, resource, sys, tempfile, time
    import torch
    torch.set_num_threads(1)
    import lightning.pytorch as pl
    from lit_basics.cli import cli_main
    from lit_basics.data import LogisticDataModule, LinearDataModule, PolynomialDataModule
    from lit_basics.data.loader import ResidentBatches
    from lit_basics.models import LinearRegression, LogisticRegression, PolynomialRegression

    config, twin, short, long, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]
    family = "logistic" if "logistic" in config else "polynomial" if "polynomial" in config else "linear"

    def clocks():
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.perf_counter(), own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def project(n):
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()), \\
                contextlib.redirect_stderr(io.StringIO()):
            cli_main(["fit", "-c", config, f"--trainer.max_steps={n}", f"--model.optimization={twin}",
                      f"--trainer.logger.init_args.save_dir={tmp}", *extra])

    class Bare(pl.LightningModule):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner
        def training_step(self, batch, batch_idx):
            x, y = batch
            return self.inner.loss(self.inner(x), y)
        def configure_optimizers(self):
            return torch.optim.SGD(self.inner.parameters(), lr=self.inner.lr)

    def bare(n):
        model, data = {"linear": (LinearRegression, LinearDataModule), "polynomial": (PolynomialRegression,
                       PolynomialDataModule), "logistic": (LogisticRegression, LogisticDataModule)}[family]
        dm = data()
        trainer = pl.Trainer(accelerator="cpu", devices=1, max_steps=n, max_epochs=-1, logger=False,
                             enable_progress_bar=False, enable_checkpointing=False, enable_model_summary=False)
        trainer.fit(Bare(model()), train_dataloaders=ResidentBatches(dm.x, dm.y, passes=n))

    def slope(run):
        torch.manual_seed(2017)
        run(short)  # warm-up, discarded
        w0, c0 = clocks(); run(short); w1, c1 = clocks(); run(long); w2, c2 = clocks()
        return ((c2 - c1) - (c1 - c0)) / (long - short) * 1e6, ((w2 - w1) - (w1 - w0)) / (long - short) * 1e6

    import warnings
    warnings.simplefilter("ignore")
    p_cpu, p_wall = slope(project)
    b_cpu, b_wall = slope(bare)
    print(json.dumps({"project_cpu": p_cpu, "project_wall": p_wall, "bare_cpu": b_cpu, "bare_wall": b_wall}))
    """
)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="the old tree (e.g. a git worktree)")
    parser.add_argument("after", type=Path, help="the new tree")
    parser.add_argument("--config", default="configs/logistic.yaml", help="the config, relative to each tree")
    parser.add_argument("--before-config", default=None, help="the old tree's config, if it differs (default --config)")
    parser.add_argument("--twin", choices=("automatic", "manual"), default="automatic")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--short", type=int, default=300)
    parser.add_argument("--long", type=int, default=1500)
    parser.add_argument("--before-args", default="", help="further arguments of the old tree's fits (one string)")
    parser.add_argument("--after-args", default="", help="further arguments of the new tree's fits (one string)")
    options = parser.parse_args(argv)
    samples: dict[str, list[dict]] = {"before": [], "after": []}
    for _ in range(options.rounds):  # interleaved: old, new, old, new, ...
        for name in ("before", "after"):
            tree = getattr(options, name).resolve()
            extra = shlex.split(getattr(options, f"{name}_args"))
            config = options.before_config if name == "before" and options.before_config else options.config
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _CHILD,
                    str(tree / config),
                    options.twin,
                    str(options.short),
                    str(options.long),
                    *extra,
                ],
                cwd=tree,
                env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
                capture_output=True,
                text=True,
                check=True,
            )
            samples[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    report = {}
    for name, rows in samples.items():
        report[name] = {key: statistics.median(r[key] for r in rows) for key in rows[0]}
        report[name]["project_over_bare_cpu"] = statistics.median(r["project_cpu"] / r["bare_cpu"] for r in rows)
        report[name]["project_over_bare_wall"] = statistics.median(r["project_wall"] / r["bare_wall"] for r in rows)
        report[name]["samples"] = rows
    keys = ("project_cpu", "bare_cpu", "project_over_bare_cpu", "project_wall", "bare_wall", "project_over_bare_wall")
    print(
        f"{options.config}, {options.twin} twin, slope {options.short} -> {options.long} updates, "
        f"medians of {options.rounds} interleaved rounds (µs per update)"
    )
    print("| tree | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for name in ("before", "after"):
        print(
            f"| {name} | "
            + " | ".join(f"{report[name][k]:.2f}" if "over" in k else f"{report[name][k]:.0f}" for k in keys)
            + " |"
        )
    for name in ("before", "after"):
        samples = ", ".join(f"{r['project_cpu']:.0f}" for r in report[name]["samples"])
        print(f"{name}: project CPU µs/update per round: {samples}")
    cpu = report["after"]["project_cpu"] / report["before"]["project_cpu"]
    wall = report["after"]["project_wall"] / report["before"]["project_wall"]
    print(f"after / before (CPU): {cpu:.2f}x; wall: {wall:.2f}x")
    return report


if __name__ == "__main__":
    main()
