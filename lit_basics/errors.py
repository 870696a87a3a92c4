"""Errors a user can fix. The CLI prints each as one ``error:`` line and exits with status 2.

Every message is complete where it is raised: a constructor names its argument
(:class:`ArgumentError`), the CLI adds the config section it was building (:class:`ConfigError`),
a data file names its path and line (:class:`~lit_basics.data.DataFileError`).
"""

from __future__ import annotations

__all__ = ["ArgumentError", "ConfigError", "DivergenceError", "LitBasicsWarning", "RankZeroSaysError", "UserError"]


class UserError(Exception):
    """A mistake in the user's input; the message says where (file:line or config key) and what."""


class RankZeroSaysError(UserError):
    """A mistake every DDP process found at once: rank 0 says it, the others only stop (exit 2)."""


class ArgumentError(ValueError):
    """A constructor argument with a value it cannot take.

    ``str(error)`` starts with the argument's name, e.g. ``"lr must be a finite number > 0, got 0.0"``.

    Example:
        >>> error = ArgumentError("degree", "must be an integer >= 1, got 0")
        >>> str(error), error.argument
        ('degree must be an integer >= 1, got 0', 'degree')
    """

    def __init__(self, argument: str, problem: str) -> None:
        super().__init__(f"{argument} {problem}")
        self.argument = argument
        self.problem = problem


class ConfigError(UserError):
    """A value in one section of a configuration is wrong; the message starts with its key.

    Args:
        key: where in the configuration, e.g. ``"model.init_args"`` or ``"trainer.logger.init_args.save_dir"``.
        problem: what is wrong. An :class:`ArgumentError` extends the key with its argument.

    Example:
        >>> str(ConfigError("model.init_args", ArgumentError("lr", "must be > 0, got 0.0")))
        'model.init_args.lr must be > 0, got 0.0'
        >>> str(ConfigError("data.init_args", "mine.txt:3: field 2 is not a number: 'x'"))
        "data.init_args: mine.txt:3: field 2 is not a number: 'x'"
    """

    def __init__(self, key: str, problem: str | BaseException) -> None:
        if isinstance(problem, ArgumentError):
            self.key, text = f"{key}.{problem.argument}", f"{key}.{problem.argument} {problem.problem}"
        else:
            first_line = str(problem).strip().splitlines()[0] if str(problem).strip() else type(problem).__name__
            self.key, text = key, f"{key}: {first_line}"
        super().__init__(text)


class DivergenceError(UserError, ArithmeticError):
    """The loss became NaN or infinite: training was stopped before saving such weights."""


class LitBasicsWarning(UserWarning):
    """Something a user should know about the answer (an ill-conditioned design, standard errors
    of a run that has not converged); the CLI prints it as one ``warning:`` line."""
