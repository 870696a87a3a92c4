"""The upstream notices a lit-basics run silences, each for a reason of its own; nothing else."""

from __future__ import annotations

import logging
import re
import sys
import warnings

from lightning.pytorch.utilities.rank_zero import rank_zero_only
from lightning.pytorch.utilities.warnings import PossibleUserWarning

from lit_basics.errors import LitBasicsWarning

__all__ = ["KNOWN_WARNINGS", "filter_known_warnings"]

#: (message regex, category, why it is silenced).
KNOWN_WARNINGS: tuple[tuple[str, type[Warning], str], ...] = (
    (
        r"`isinstance\(treespec, LeafSpec\)` is deprecated",
        FutureWarning,
        "torch 2.13 deprecated constructing LeafSpec, which Lightning 2.6 still does on every batch transfer",
    ),
    (
        r"You defined a `validation_step` but have no `val_dataloader`",
        PossibleUserWarning,
        "validation is on only when the data module holds out a split (val_fraction > 0), by design",
    ),
    (
        r"The number of training batches \(\d+\) is smaller than the logging interval",
        PossibleUserWarning,
        "it assumes self.log per step; UpdateLog logs every update itself",
    ),
    (
        r"Using ModelCheckpoint with manual optimization and every_n_train_steps",
        UserWarning,
        "the manual twin's checkpoint at step k holds the weights after k updates, like the automatic twin's",
    ),
    (
        r"Checkpoint directory .* exists and is not empty",
        UserWarning,
        "--ckpt_path last resumes into the run's own directory on purpose",
    ),
    (
        r"Couldn't infer the batch indices fetched from your dataloader: `ResidentBatches`",
        UserWarning,
        "PredictionsCSV takes the rows in order from the resident loader; it needs no batch indices",
    ),
    (
        r"train/loss_gap not logged: ",
        UserWarning,
        "the fit-start line already says why there is no optimum (Gradient descent: no diagnosis ...)",
    ),
    (
        r"The dirpath has changed from",
        UserWarning,
        "evaluating a checkpoint (test/predict --ckpt_path) writes to a new run directory on purpose",
    ),
)


#: Lightning's information lines a run replaces with its own, by the start of their message:
#: (logger, prefix, why).
KNOWN_NOTICES: tuple[tuple[str, str, str], ...] = (
    ("lightning.pytorch.utilities.rank_zero", "💡 Tip:", "advertisements for other products"),
    ("lightning.pytorch.utilities.rank_zero", "GPU available:", "the run prints the device it trains on"),
    ("lightning.pytorch.utilities.rank_zero", "TPU available:", "the run prints the device it trains on"),
    ("lightning.pytorch.utilities.rank_zero", "HPU available:", "the run prints the device it trains on"),
    ("lightning.pytorch.utilities.rank_zero", "`Trainer.fit` stopped:", "the run prints the updates it trained"),
    ("lightning.fabric.utilities.seed", "Seed set to", "the run prints its seed and where it came from"),
    *(
        ("lightning.pytorch.utilities.rank_zero", f"{what} from the checkpoint", "the run names its checkpoint itself")
        for what in ("Restoring states", "Restored all states", "Loaded model weights")
    ),
)


class _DropNotices(logging.Filter):
    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        # A DDP process other than rank 0 says it with its rank first: "[rank: 1] Seed set to 2017".
        message = _RANK_PREFIX.sub("", str(record.getMessage()), count=1)
        return not message.startswith(self.prefixes)


_RANK_PREFIX = re.compile(r"^\[rank: \d+\] ")


def _show(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, *args: object, **kwargs: object
) -> None:
    """lit_basics' own warnings as one ``warning:`` line on stderr (no file, line or source), from
    rank 0 only: every process of a DDP run takes the same decisions from the same sums, so the
    others' would repeat it."""
    if issubclass(category, LitBasicsWarning):
        if getattr(rank_zero_only, "rank", 0) != 0:
            return
        sys.stdout.flush()
        sys.stderr.write(f"warning: {message}\n")
        return
    _SHOW(message, category, filename, lineno, *args, **kwargs)  # type: ignore[arg-type]


_SHOW = warnings.showwarning


def filter_known_warnings() -> None:
    """Silence exactly :data:`KNOWN_WARNINGS` and :data:`KNOWN_NOTICES`, notices a user cannot act
    on or that the run says in its own words; print lit_basics' own warnings as one line each."""
    if warnings.showwarning is not _show:
        warnings.showwarning = _show
    for message, category, _ in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    by_logger: dict[str, tuple[str, ...]] = {}
    for name, prefix, _ in KNOWN_NOTICES:
        by_logger[name] = (*by_logger.get(name, ()), prefix)
    for name, prefixes in by_logger.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropNotices) for f in logger.filters):
            logger.addFilter(_DropNotices(prefixes))
