"""``--ckpt_path last``: the newest run of this configuration and its last checkpoint: ``fit`` continues
that run; ``validate``, ``test`` and ``predict`` evaluate that checkpoint."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lit_basics.cli.outputs import run_root
from lit_basics.errors import ConfigError

__all__ = ["newest_checkpoint", "newest_run_checkpoint", "resume_newest_run"]


def newest_checkpoint(directory: Path) -> Path | None:
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


def newest_run_checkpoint(config: Any) -> tuple[Path, Path]:
    """The newest ``<root>/version_N`` run of this configuration's logger that has a checkpoint,
    and that checkpoint (:func:`newest_checkpoint`).

    Raises:
        ConfigError: no such run.
    """
    root = run_root(config)
    if root is None:
        raise ConfigError("ckpt_path", "last needs a TensorBoardLogger or CSVLogger (or none) to find the previous run")
    runs = sorted(
        (int(d.name.split("_", 1)[1]), d)
        for d in (root.glob("version_*") if root.is_dir() else [])
        if d.name.split("_", 1)[1].isdigit() and (d / "checkpoints").is_dir()
    )
    for _, run in reversed(runs):
        checkpoint = newest_checkpoint(run / "checkpoints")
        if checkpoint is not None:
            return run, checkpoint
    raise ConfigError("ckpt_path", f"last: no checkpoint under {root}/version_*/checkpoints")


def resume_newest_run(config: Any) -> Path:
    """Point ``config`` (one subcommand's) at the newest run of its logger that has a checkpoint.

    Lightning looks for ``last.ckpt`` only in the new run's own (empty) directory and would start
    from scratch. Here the newest ``<root>/version_N/checkpoints`` is used, and the resumed run
    logs into that same version directory.

    Returns:
        the checkpoint (to be checked, :func:`~lit_basics.checkpoints.check_checkpoint`, before use).

    Raises:
        ConfigError: no such run.
    """
    run, checkpoint = newest_run_checkpoint(config)
    config["ckpt_path"] = str(checkpoint)
    logger = config["trainer"].get("logger")
    if logger is False:
        config["trainer"]["default_root_dir"] = str(run)
    else:
        logger["init_args"]["version"] = run.name
    return checkpoint
