"""The notebooks: execute their text sources, store them executed, and check a fresh run against them.

Each notebook's source is a jupytext percent-format script, ``notebooks/<language>/<name>.py``; the
executed notebook beside it, ``<name>.ipynb``, is what GitHub shows. Both are committed.

    python scripts/notebooks.py build              # execute every source, write the .ipynb beside it
    python scripts/notebooks.py build notebooks/zh/02_linear_regression.py
    python scripts/notebooks.py check              # execute afresh elsewhere, compare with the stored outputs

A notebook runs with its own folder as the working directory (``build``) or a copy of it in a
temporary folder (``check``, the tests), and writes only under ``runs/`` there (git-ignored).
Outputs are compared as text after :func:`normalise`: timings, memory addresses and the working
directory's path are the only things allowed to differ. Images are compared by kind and count only
(their bytes depend on the matplotlib build).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = [
    "LANGUAGES",
    "check",
    "differences",
    "execute",
    "normalise",
    "sources",
    "stored_path",
    "text_outputs",
    "unclean_outputs",
]

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
LANGUAGES = ("zh", "en")
#: Seconds one notebook may take (the issue's budget on a 2-core CPU is 60 s; a cell may take all of it).
CELL_TIMEOUT = 600


def sources(root: Path = NOTEBOOKS) -> list[Path]:
    """Every notebook source (``<root>/<language>/*.py``), sorted."""
    return sorted(path for language in LANGUAGES for path in (root / language).glob("*.py"))


def stored_path(source: Path) -> Path:
    """The executed notebook stored beside ``source``."""
    return source.with_suffix(".ipynb")


def read_source(source: Path) -> Any:
    """The notebook a percent-format source describes (no outputs), its cells numbered in order
    (``cell-000``, ...): jupytext gives each cell a random id, and every build would then rewrite
    every id of the stored notebook."""
    import jupytext

    notebook = jupytext.read(source)
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index:03d}"
    return notebook


def execute(source: Path, workdir: Path) -> tuple[Any, float]:
    """Execute ``source`` with ``workdir`` as the working directory; the executed notebook and its
    wall time in seconds."""
    from nbclient import NotebookClient

    notebook = read_source(source)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    return notebook, time.perf_counter() - start


def build(source: Path) -> float:
    """Execute ``source`` in its own folder and store the executed notebook beside it; the wall time."""
    import nbformat

    notebook, seconds = execute(source, source.parent)
    problems = unclean_outputs(notebook)
    if problems:
        raise SystemExit(f"{source}: " + "; ".join(problems))
    nbformat.write(notebook, stored_path(source))
    return seconds


_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
_TIMING = re.compile(r"\b\d+(?:\.\d+)?(?:e[-+]?\d+)? ?(?:s|ms|µs|us)\b")


def normalise(text: str, workdir: Path | None = None) -> str:
    """``text`` without what legitimately differs between two runs of the same code: the working
    directory's absolute path, memory addresses (``0x7f...``) and timings (``0.123 s``, ``12 ms``).

    Example:
        >>> normalise("<SumBackward0 object at 0x7f3a2c1b9e80> in 0.532 s", Path("/tmp/x"))
        '<SumBackward0 object at 0x…> in <time>'
    """
    if workdir is not None:
        text = text.replace(str(workdir.resolve()), "<workdir>")
    return _TIMING.sub("<time>", _ADDRESS.sub("0x…", text))


def text_outputs(notebook: Any, workdir: Path | None = None) -> list[list[str]]:
    """Per code cell, each output as normalised text: streams by name, results and displays by
    their ``text/plain`` (an image counts as ``<image/png>``), errors by name and value."""
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        texts = []
        for output in cell.get("outputs", []):
            kind = output["output_type"]
            if kind == "stream":
                texts.append(f"{output['name']}: {normalise(output['text'], workdir)}")
            elif kind in ("execute_result", "display_data"):
                data = output.get("data", {})
                images = sorted(key for key in data if key.startswith("image/"))
                plain = normalise(str(data.get("text/plain", "")), workdir)
                texts.append(f"{kind}: {' '.join(f'<{k}>' for k in images)} {plain}".strip())
            elif kind == "error":
                texts.append(f"error: {output['ename']}: {output['evalue']}")
        cells.append(_merge_streams(texts))
    return cells


def _merge_streams(texts: list[str]) -> list[str]:
    """Consecutive pieces of one stream as one (how a kernel splits a stream into messages varies)."""
    merged: list[str] = []
    for text in texts:
        name = text.split(":", 1)[0]
        if merged and name in ("stdout", "stderr") and merged[-1].split(":", 1)[0] == name:
            merged[-1] += text[len(name) + 2 :]
        else:
            merged.append(text)
    return merged


def unclean_outputs(notebook: Any) -> list[str]:
    """What a published notebook must not show: an error, anything on stderr (a warning, a
    traceback), a code cell that was not executed."""
    problems = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("execution_count") is None:
            problems.append(f"cell {index} was not executed")
        for output in cell.get("outputs", []):
            if output["output_type"] == "error":
                problems.append(f"cell {index} raised {output['ename']}: {output['evalue']}")
            elif output["output_type"] == "stream" and output["name"] == "stderr":
                # lit_basics' own warnings are part of what a run says (one `warning:` line each).
                other = [line for line in output["text"].splitlines() if line and not line.startswith("warning: ")]
                if other:
                    problems.append(f"cell {index} wrote to stderr: {chr(10).join(other)[:300]!r}")
    return problems


def differences(stored: list[list[str]], fresh: list[list[str]]) -> list[str]:
    """Where two notebooks' normalised outputs differ, cell by cell (code cells counted from 0)."""
    if len(stored) != len(fresh):
        return [f"{len(stored)} code cells stored, {len(fresh)} executed"]
    found = []
    for index, (old, new) in enumerate(zip(stored, fresh, strict=True)):
        if old != new:
            found.append(f"code cell {index}:\n  stored: {old!r}\n  fresh:  {new!r}")
    return found


def check(source: Path, scratch: Path) -> tuple[list[str], float]:
    """Execute ``source`` in ``scratch`` (a copy of nothing: the notebook needs only the installed
    package) and compare with its stored notebook; the differences and the wall time."""
    import nbformat

    stored = nbformat.read(stored_path(source), as_version=4)
    fresh, seconds = execute(source, scratch)
    problems = unclean_outputs(fresh)
    problems += differences(text_outputs(stored, source.parent), text_outputs(fresh, scratch))
    return problems, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("build", "check"))
    parser.add_argument("paths", nargs="*", type=Path, help="notebook sources (default: every one)")
    args = parser.parse_args(argv)
    paths = [path.resolve() for path in args.paths] or sources()
    failed = False
    for source in paths:
        if args.command == "build":
            seconds = build(source)
            print(f"{source.relative_to(REPO)}: executed in {seconds:.1f} s, stored as {stored_path(source).name}")
            continue
        with tempfile.TemporaryDirectory() as scratch:
            problems, seconds = check(source, Path(scratch))
        failed |= bool(problems)
        verdict = "the stored outputs are a fresh run's" if not problems else "\n".join(problems)
        print(f"{source.relative_to(REPO)} ({seconds:.1f} s): {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
