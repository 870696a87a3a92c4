"""Errors a user can fix: the CLI prints them as one ``error:`` line and exits with status 2."""

from __future__ import annotations

__all__ = ["DivergenceError", "UserError"]


class UserError(Exception):
    """A mistake in the user's input; the message says where (file:line or config key) and what."""


class DivergenceError(UserError, ArithmeticError):
    """The loss became NaN or infinite: training was stopped before saving such weights."""
