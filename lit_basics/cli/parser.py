"""The command line parser: its errors are one line; config files are checked before it reads them."""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from typing import Any, NoReturn

import yaml
from lightning.pytorch.cli import LightningArgumentParser
from typing_extensions import override

from lit_basics.cli.boundary import fail
from lit_basics.errors import ArgumentError, ConfigError

__all__ = ["LINKED_KEYS", "OneLineErrorParser", "check_command_line", "condense", "only_these_args"]

#: Model arguments the CLI sets from the data (``data.num_features`` -> ``in_features``, ...).
LINKED_KEYS = {"in_features": "data.num_features", "num_classes": "data.num_classes"}

# jsonargparse's report of a failed value nests one block per key; these lines only frame it.
_FRAME = (
    "Does not validate against any of the Union subtypes",
    "Subtypes:",
    "Errors:",
    "Given value type:",
    "Given value:",
    "Expected a <class 'NoneType'>",
    "Expected a path but",
    "tip:",
)
_CHOICES = {
    "model": "LinearRegression, PolynomialRegression, LogisticRegression, SoftmaxRegression",
    "data": "LinearDataModule, PolynomialDataModule, LogisticDataModule, IrisDataModule, ArrayDataModule",
}


@contextlib.contextmanager
def only_these_args(args: Any) -> Iterator[None]:
    """With ``args`` given (not ``None``), the process's own ``sys.argv`` hidden while LightningCLI
    parses them: it warns when ``sys.argv`` holds arguments besides ``args`` (a Jupyter kernel's
    ``-f kernel.json``, pytest's), and ``args`` are the whole command line."""
    if args is None:
        yield
        return
    saved = sys.argv
    sys.argv = saved[:1]
    try:
        yield
    finally:
        sys.argv = saved


def condense(message: str) -> str:
    r"""A parse error as one line: the full key of the innermost value that failed, then why.

    Example:
        >>> condense('Parser key "model":\n  - Problem with given class_path \'x.Y\':\n'
        ...          '      Parser key "lr":\n        Expected a <class float>. Got value: abc')
        'model.init_args.lr: Expected a <class float>. Got value: abc'
    """
    stack: list[tuple[int, str]] = []  # (indent, key part) of the blocks around the current line
    leaves: list[tuple[tuple[str, ...], str]] = []
    given: dict[tuple[str, ...], str] = {}  # the value a union refused, by key
    class_path = ""
    for raw in message.splitlines():
        text = raw.strip()
        indent = len(raw) - len(raw.lstrip()) + (2 if text.startswith("- ") else 0)
        text = text.removeprefix("- ").strip()
        if text.startswith("Given value:"):
            given.setdefault(tuple(part for level, part in stack if level < indent), text.split(":", 1)[1].strip())
        if not text or text.startswith(_FRAME):
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if match := re.match(r'^Parser key "([^"]+)":?\s*(.*)$', text):
            stack.append((indent, match.group(1)))
            text = match.group(2)
            if not text:
                continue
        elif match := re.match(r"^Problem with given class_path '([^']+)':?$", text):
            # In a list of classes (trainer.callbacks) the class says which entry is meant.
            in_list = bool(stack) and stack[-1][1].endswith("callbacks")
            stack.append((indent, f"{match.group(1).rsplit('.', 1)[-1]}.init_args" if in_list else "init_args"))
            class_path = match.group(1)
            continue
        path = tuple(part for _, part in stack)
        if match := re.match(r"^Expected a dot import path string: (.+)$", text):
            known = _CHOICES.get(path[0] if path else "")
            return f"{'.'.join(path)}: unknown class {match.group(1)!r}" + (f"; choose one of {known}" if known else "")
        if re.match(r"^module '[^']+' has no attribute '[^']+'$", text):  # a class_path naming no class
            return f"{'.'.join(path[:-1])}: unknown class {class_path!r}"
        leaves.append((path, text))
    if not leaves:
        return re.sub(r"\s+", " ", message.strip()) or "invalid arguments"
    deepest = max(len(path) for path, _ in leaves)
    path = next(path for path, _ in leaves if len(path) == deepest)
    reasons = list(dict.fromkeys(text for p, text in leaves if p == path))
    key = ".".join(path)
    reason = re.sub(r"\s+", " ", "; ".join(reasons))
    if path in given and "Got value" not in reason:
        reason += f". Got value: {given[path]}"
    return f"{key}: {reason}" if key else reason


class OneLineErrorParser(LightningArgumentParser):
    """A parser whose errors end the process with one ``error:`` line on stderr (status 2)."""

    @override
    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        if not getattr(self, "exit_on_error", True):
            super().error(message, ex)  # jsonargparse trying alternatives: it raises, and recovers
        fail(condense(message))


def check_command_line(argv: list[str]) -> set[str]:
    """What the parser would accept silently or report without a file name:

    - a config file that is not valid YAML: ``path:line: ...`` (jsonargparse omits the name);
    - a model argument the CLI sets from the data (:data:`LINKED_KEYS`): jsonargparse would drop
      the given value without a word.

    Returns:
        The config keys the command sets itself, on the command line or in its config files (each
        file read once, here), dotted and without ``init_args`` (``data.passes_per_epoch``,
        ``seed_everything``): where the CLI's own default differs from a class's, it applies only to
        the keys not given.

    Raises:
        ConfigError: naming the file (and line) or the key.

    Example:
        >>> sorted(check_command_line(["fit", "--data.init_args.passes_per_epoch=3", "--seed_everything", "7"]))
        ['data.passes_per_epoch', 'seed_everything']
    """
    given: set[str] = set()
    for index, arg in enumerate(argv):
        for key, source in LINKED_KEYS.items():
            if re.match(rf"^--model\.(init_args\.)?{key}(=|$)", arg):
                raise ConfigError(
                    "model.init_args",
                    ArgumentError(key, f"is set from the data ({source}); remove it from the command line"),
                )
        path = None
        if arg in ("-c", "--config") and index + 1 < len(argv):
            path = argv[index + 1]
        elif arg.startswith("--config="):
            path = arg.split("=", 1)[1]
        elif arg.startswith("--"):
            given.add(arg[2:].split("=", 1)[0].replace(".init_args.", ".").removesuffix("+"))
        if path is not None:
            given |= _flattened(_check_config_file(path))
    return given


def _check_config_file(path: str) -> Any:
    """The parsed config file (``None`` when it cannot be read: the parser says so, naming it)."""
    try:
        with open(path, encoding="utf-8") as f:
            config = yaml.safe_load(f)
    except OSError:
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(where, f"not valid YAML: {problem}") from None
    _check_config_shape(path, config)
    model = config.get("model") if isinstance(config, dict) else None
    init_args: Any = model.get("init_args") if isinstance(model, dict) else None
    for key, source in LINKED_KEYS.items():
        if isinstance(model, dict) and (key in model or (isinstance(init_args, dict) and key in init_args)):
            raise ConfigError(
                "model.init_args", ArgumentError(key, f"is set from the data ({source}); remove it from {path}")
            )
    return config


def _kind(value: Any) -> str:
    return "a list" if isinstance(value, list) else "nothing" if value is None else f"a {type(value).__name__}"


def _check_config_shape(path: str, config: Any) -> None:
    """The sections of a config file have the shapes the parser needs (it would otherwise ignore a
    ``trainer`` that is a list, or fail inside jsonargparse on a single callback that is not in a list).

    Raises:
        ConfigError: naming the file and the key.
    """
    if config is None:  # jsonargparse would say "Unexpected config:"
        raise ConfigError(path, "is empty: a config is a mapping of sections (model:, data:, trainer:, ...)")
    if not isinstance(config, dict):
        raise ConfigError(path, f"must be a mapping of sections (model:, data:, trainer:, ...), got {_kind(config)}")
    trainer = config.get("trainer")
    if "trainer" in config and not isinstance(trainer, dict):
        raise ConfigError(path, f"trainer must be a mapping of Trainer arguments, got {_kind(trainer)}")
    sections = [(name, config.get(name)) for name in ("model", "data") if name in config]
    if isinstance(trainer, dict):
        callbacks = trainer.get("callbacks")
        if "callbacks" in trainer and callbacks is not None and not isinstance(callbacks, list):
            raise ConfigError(
                path, f"trainer.callbacks must be a list (one '- class_path: ...' entry each), got {_kind(callbacks)}"
            )
        sections += [(f"trainer.callbacks[{i}]", c) for i, c in enumerate(callbacks or [])]
        if isinstance(trainer.get("logger"), dict):
            sections.append(("trainer.logger", trainer["logger"]))
    for name, section in sections:
        if isinstance(section, dict) and "init_args" in section and not isinstance(section["init_args"], dict):
            raise ConfigError(
                path, f"{name}.init_args must be a mapping of argument: value, got {_kind(section['init_args'])}"
            )


def _flattened(config: Any, prefix: str = "") -> set[str]:
    if not isinstance(config, dict):
        return set()
    keys: set[str] = set()
    for key, value in config.items():
        if key == "init_args":
            keys |= _flattened(value, prefix)
            continue
        name = f"{prefix}{key}"
        keys.add(name)
        keys |= _flattened(value, f"{name}.")
    return keys
