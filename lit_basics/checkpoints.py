"""Refuse a checkpoint that could run code, before anything in it is imported or called.

Lightning 2.6.x's ``load_from_checkpoint`` imports and calls an ``_instantiator`` path stored in
a checkpoint's hyperparameters, and LightningCLI imports the ``_class_path`` it finds there.
:func:`check_checkpoint` reads the file with ``torch.load(weights_only=True)`` (which refuses
pickled objects), then accepts only plain hyperparameter values and a ``_class_path`` naming one of
the lit_basics models. Every load in lit_basics goes through it.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from lit_basics.errors import UserError

__all__ = ["ALLOWED_CLASS_PATHS", "check_checkpoint", "is_plain"]

ALLOWED_CLASS_PATHS = frozenset(
    f"lit_basics.models.{name}"
    for name in ("LinearRegression", "PolynomialRegression", "LogisticRegression", "SoftmaxRegression")
)


def is_plain(value: Any) -> bool:
    """``None``, bool, int, float, str, or lists/tuples/dicts (with str keys) of those.

    Example:
        >>> is_plain({"lr": 0.1, "betas": [0.9, 0.99], "name": None}), is_plain({"f": print})
        (True, False)
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    return False


def check_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load ``path`` safely and check it; returns the checkpoint dictionary.

    Raises:
        UserError: naming the file, when it is missing, not a checkpoint, holds a pickled object,
            carries an ``_instantiator``, a ``_class_path`` outside lit_basics' models, or
            hyperparameters that are not plain values.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such checkpoint file")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: refused: the checkpoint holds a pickled object ({first})") from None
    except Exception as exc:  # arbitrary bytes can fail anywhere in the loader: all mean "unreadable"
        raise UserError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise UserError(f"{path}: not a Lightning checkpoint (no state_dict)")
    hparams = checkpoint.get("hyper_parameters", {})
    if not isinstance(hparams, dict):
        raise UserError(f"{path}: refused: hyper_parameters is not a dictionary")
    if "_instantiator" in hparams:
        raise UserError(f"{path}: refused: the checkpoint names a function to call (_instantiator)")
    class_path = hparams.get("_class_path")
    if class_path is not None and class_path not in ALLOWED_CLASS_PATHS:
        raise UserError(f"{path}: refused: _class_path {class_path!r} is not a lit_basics model")
    for key, value in hparams.items():
        if not is_plain(value):
            raise UserError(f"{path}: refused: hyperparameter {key!r} is not a plain value")
    return checkpoint
