"""The error boundary: a user's mistake ends the command with one ``error:`` line and status 2.

Errors are complete where they are raised (:class:`~lit_basics.errors.UserError` and its
subclasses name the file:line or the config key); this module only prints them. A configuration
error raised while jsonargparse builds a class reaches here as the cause of jsonargparse's own
exception: the chain of causes is followed to it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from lightning.fabric.utilities.exceptions import MisconfigurationException

from lit_basics.errors import RankZeroSaysError, UserError

__all__ = ["fail", "user_error_in", "user_errors_end_the_command"]


def fail(message: str) -> NoReturn:
    """Print ``error: message`` as the last line on stderr and exit with status 2 (no traceback)."""
    sys.stdout.flush()
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    raise SystemExit(2)


def user_error_in(exc: BaseException) -> UserError | None:
    """The :class:`~lit_basics.errors.UserError` that ``exc`` is or was caused by, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, UserError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


@contextmanager
def user_errors_end_the_command() -> Iterator[None]:
    """Turn a user's mistake raised inside into :func:`fail`; anything else propagates as it is."""
    try:
        yield
    except Exception as exc:
        error = user_error_in(exc)
        if isinstance(error, RankZeroSaysError):
            sys.stdout.flush()
            raise SystemExit(2) from None  # rank 0 prints the line
        if error is not None:
            fail(str(error))
        if isinstance(exc, MisconfigurationException):  # Lightning's own checks of the trainer's settings
            fail(f"trainer: {_first_line(exc)}")
        raise


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
