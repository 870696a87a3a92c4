"""Checks of constructor arguments; each raises :class:`~lit_basics.errors.ArgumentError` naming
the argument, before anything is built (a rejected model draws no random numbers)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from lit_basics.errors import ArgumentError

__all__ = ["check_choice", "check_nonnegative_float", "check_positive_float", "check_positive_int"]


def check_positive_int(name: str, value: object) -> int:
    """``value`` if it is an int >= 1.

    Example:
        >>> check_positive_int("degree", 3)
        3
        >>> check_positive_int("degree", 0)
        Traceback (most recent call last):
        ...
        lit_basics.errors.ArgumentError: degree must be an integer >= 1, got 0
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ArgumentError(name, f"must be an integer >= 1, got {value!r}")
    return value


def _finite_number(value: object) -> float | None:
    """``float(value)`` for a finite int or float (not a bool), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def check_positive_float(name: str, value: object) -> float:
    """``float(value)`` if it is a finite number > 0."""
    number = _finite_number(value)
    if number is None or number <= 0:
        raise ArgumentError(name, f"must be a finite number > 0, got {value!r}")
    return number


def check_nonnegative_float(name: str, value: object) -> float:
    """``float(value)`` if it is a finite number >= 0."""
    number = _finite_number(value)
    if number is None or number < 0:
        raise ArgumentError(name, f"must be a finite number >= 0, got {value!r}")
    return number


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``."""
    if value not in choices:
        raise ArgumentError(name, f"must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return str(value)
