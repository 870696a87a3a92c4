"""The notes' pictures, drawn from plain numpy arrays, in a worker process off the training path.

``python -m lit_basics.plots`` is the worker: it reads pickled jobs from its stdin (written only by
the :class:`FigureWorker` that started it), draws each with matplotlib's object API on the Agg
canvas (no pyplot, no display), writes the PNG, and answers one JSON line per job. It imports
numpy and matplotlib only — not torch, not Lightning — so it starts in a fraction of a second and
draws on the other core while training goes on.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import threading
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import numpy as np

__all__ = ["MAX_BACKLOG", "MAX_POINTS", "FigureWorker", "draw", "write_png"]

#: Points drawn at most per figure (an evenly strided subset beyond that).
MAX_POINTS = 2000
#: Figures queued for the worker at most; beyond, a figure due at the cadence is skipped.
MAX_BACKLOG = 8


def draw(kind: str, data: dict[str, np.ndarray], title: str) -> Any:
    """The notes' picture as a matplotlib ``Figure``.

    Args:
        kind: ``"linear"`` (the points 'real' and the estimates 'estimated'), ``"polynomial"``
            (the real and the fitted curve), ``"logistic"`` (the two classes and the decision
            line ``w0 x0 + w1 x1 + b = 0``), ``"softmax"`` (the classes and the decision regions in
            two features, the others at their means), ``"contours"`` (the loss over ``(w, b)`` with
            the gradient-descent path) or ``"generic"`` (targets against outputs).
        data: the arrays the kind needs (see :class:`~lit_basics.callbacks.NotesInspector`).
        title: the figure's title.
    """
    from matplotlib.figure import Figure

    several = kind == "contours" and sum(key.startswith("path:") for key in data) > 1
    figure = Figure(figsize=(7.5, 4.2) if several else (5.0, 3.75), dpi=80)
    figure.subplots_adjust(left=0.09 if several else 0.13, right=0.68 if several else 0.97, bottom=0.13, top=0.9)
    ax = figure.add_subplot()
    if kind == "contours":
        _draw_contours(ax, data)
    elif kind == "softmax":
        _draw_regions(ax, data)
    else:
        _draw_notes(ax, kind, data)
    ax.set_title(title, fontsize="medium")
    if several:  # lit-basics compare: the legend beside the paths, not over them
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")
    else:
        ax.legend(loc="best", fontsize="small")
    return figure


def _draw_notes(ax: Any, kind: str, data: dict[str, np.ndarray]) -> None:
    x, y, output = data["x"], data["y"], data["output"]
    if kind == "logistic":
        negative, positive = y == 0, y == 1
        ax.plot(x[negative, 0], x[negative, 1], "ro", markersize=4, label="class 0")
        ax.plot(x[positive, 0], x[positive, 1], "bo", markersize=4, label="class 1")
        w, b = data["w"], float(np.ravel(data["b"])[0])
        plot_x = np.linspace(x[:, 0].min(), x[:, 0].max(), 100)
        if w[1] != 0:
            ax.plot(plot_x, (-w[0] * plot_x - b) / w[1], "g", label="decision line")
        margin = 0.05 * (x[:, 1].max() - x[:, 1].min() or 1.0)
        ax.set_ylim(x[:, 1].min() - margin, x[:, 1].max() + margin)
        ax.set_xlabel("x0")
        ax.set_ylabel("x1")
    elif kind == "polynomial":
        order = np.argsort(x[:, 0])
        ax.plot(x[order, 0], y[order], "b", label="real curve")
        ax.plot(x[order, 0], output[order], "r", label="fitted curve")
        ax.set_xlabel("x")
    elif kind == "linear":
        ax.plot(x[:, 0], y, "bo", label="real")
        ax.plot(x[:, 0], output, "ro", label="estimated")
        ax.set_xlabel("x")
    else:
        ax.plot(y, output, "k.", label="prediction")
        ax.set_xlabel("target")
        ax.set_ylabel("output")


def _draw_regions(ax: Any, data: dict[str, np.ndarray]) -> None:
    """Decision regions of a softmax model in features ``i``, ``j`` (others at their means)."""
    x, y = data["x"], data["y"].astype(int)
    i, j = (int(v) for v in data["features"])
    classes = int(data["num_classes"])
    colors = ["tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:brown", "tab:pink", "tab:gray"]
    from matplotlib.colors import ListedColormap

    cmap = ListedColormap([colors[c % len(colors)] for c in range(classes)])
    ax.contourf(
        data["grid_x"], data["grid_y"], data["regions"], levels=np.arange(classes + 1) - 0.5, cmap=cmap, alpha=0.2
    )
    for c in range(classes):
        chosen = y == c
        ax.plot(x[chosen, i], x[chosen, j], "o", color=colors[c % len(colors)], markersize=3.5, label=f"class {c}")
    ax.set_xlabel(f"x{i}")
    ax.set_ylabel(f"x{j}")


def _draw_contours(ax: Any, data: dict[str, np.ndarray]) -> None:
    """Contours of the loss over ``(w, b)``, the gradient-descent path and the optimum."""
    loss = data["loss"]
    # Levels spaced geometrically above the minimum: the narrow valley of a badly conditioned
    # problem shows as nested ellipses instead of one band.
    low, span = float(loss.min()), float(loss.max() - loss.min()) or 1.0
    levels = low + np.geomspace(span * 1e-4, span, 18)
    ax.contour(data["grid_w"], data["grid_b"], loss, levels=levels, linewidths=0.7, cmap="viridis")
    # One path ("path"), or several ("path:<name>", lit-basics compare): each in its own colour.
    paths = {
        key.split(":", 1)[1] if ":" in key else "gradient descent": value
        for key, value in data.items()
        if key.startswith("path")
    }
    colours = ["r", "tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink"]
    for (name, path), colour in zip(paths.items(), colours * 3, strict=False):
        ax.plot(
            path[:, 0],
            path[:, 1],
            ".-",
            color=colour,
            markersize=2.5,
            linewidth=0.8,
            label=f"{name} ({len(path) - 1} steps)",
        )
    first = next(iter(paths.values()))
    ax.plot(first[0, 0], first[0, 1], "ks", markersize=5, label="start")
    ax.plot(data["optimum"][0], data["optimum"][1], "k*", markersize=10, label="optimum")
    ax.set_xlabel("w")
    ax.set_ylabel("b")


def write_png(kind: str, data: dict[str, np.ndarray], title: str, path: str | Path) -> tuple[int, int]:
    """Draw and write one PNG; returns its ``(width, height)`` in pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(draw(kind, data, title))
    canvas.print_png(str(path))
    width, height = canvas.get_width_height()
    return int(width), int(height)


class FigureWorker:
    """A ``python -m lit_basics.plots`` process that draws figures while training continues.

    :meth:`submit` queues a job and returns at once; :meth:`finished` returns the jobs done so far
    (``{"step", "tag", "path", "width", "height"}`` or ``{"step", "tag", "error"}``); :meth:`close` waits for the
    rest. A worker that cannot start or dies turns into drawing in this process.
    """

    def __init__(self) -> None:
        self._done: Queue[dict[str, Any]] = Queue()
        self._pending = 0
        self._process: subprocess.Popen[bytes] | None = None
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "lit_basics.plots"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
        except OSError:
            self._process = None
        if self._process is not None:
            self._reader = threading.Thread(target=self._read_answers, daemon=True)
            self._reader.start()

    def _read_answers(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._done.put(json.loads(line))

    @property
    def busy(self) -> bool:
        """More than :data:`MAX_BACKLOG` figures waiting: the worker is far behind (the caller may
        skip one rather than let the queue grow without bound)."""
        return self._pending > MAX_BACKLOG

    def submit(self, job: dict[str, Any]) -> None:
        """Queue ``{"kind", "data", "title", "path", "step", "tag"}``."""
        self._pending += 1
        if self._process is not None and self._process.poll() is None and self._process.stdin is not None:
            try:
                pickle.dump(job, self._process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                self._process.stdin.flush()
                return
            except (BrokenPipeError, OSError):
                pass
        self._done.put(_run_job(job))  # no worker: draw here

    def finished(self, *, wait: bool = False) -> list[dict[str, Any]]:
        """Jobs completed since the last call; with ``wait``, block until all submitted are done."""
        results = []
        while self._pending:
            try:
                block = wait and self._process is not None and self._process.poll() is None
                results.append(self._done.get(block=block, timeout=60 if block else None))
                self._pending -= 1
            except Empty:
                if not wait or self._process is None or self._process.poll() is not None:
                    break
        return results

    def close(self) -> list[dict[str, Any]]:
        """Finish every submitted job, stop the worker, and return the jobs not yet collected."""
        results = self.finished(wait=True)
        if self._process is not None:
            if self._process.stdin is not None:
                self._process.stdin.close()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None
        return results


def _run_job(job: dict[str, Any]) -> dict[str, Any]:
    try:
        width, height = write_png(job["kind"], job["data"], job["title"], job["path"])
    except Exception as exc:  # a figure must never stop training: report it instead
        return {"step": job["step"], "tag": job.get("tag"), "error": f"{type(exc).__name__}: {exc}"}
    return {"step": job["step"], "tag": job.get("tag"), "path": str(job["path"]), "width": width, "height": height}


def _serve() -> None:
    """The worker loop: pickled jobs in on stdin (from our own parent only), JSON lines out."""
    import matplotlib

    matplotlib.use("Agg")
    source, answers = sys.stdin.buffer, sys.stdout
    while True:
        try:
            job = pickle.load(source)
        except EOFError:
            return
        answers.write(json.dumps(_run_job(job)) + "\n")
        answers.flush()


if __name__ == "__main__":
    _serve()
