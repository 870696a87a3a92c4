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

__all__ = ["MAX_POINTS", "FigureWorker", "draw", "write_png"]

#: Points drawn at most per figure (an evenly strided subset beyond that).
MAX_POINTS = 2000


def draw(kind: str, data: dict[str, np.ndarray], title: str) -> Any:
    """The notes' picture as a matplotlib ``Figure``.

    Args:
        kind: ``"linear"`` (the points 'real' and the estimates 'estimated'), ``"polynomial"``
            (the real and the fitted curve), ``"logistic"`` (the two classes and the decision
            line ``w0 x0 + w1 x1 + b = 0``) or ``"generic"`` (targets against outputs).
        data: ``x`` (N, F), ``y`` (N,), ``output`` (N,), and for ``"logistic"`` ``w`` (F,), ``b``.
        title: the figure's title.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.0, 3.75), dpi=80)
    figure.subplots_adjust(left=0.12, right=0.97, bottom=0.13, top=0.9)
    ax = figure.add_subplot()
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
    ax.set_title(title, fontsize="medium")
    ax.legend(loc="best", fontsize="small")
    return figure


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
    (``{"step", "path", "width", "height"}`` or ``{"step", "error"}``); :meth:`close` waits for the
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
        """More than one figure waiting: the worker is behind (the caller may skip one)."""
        return self._pending > 1

    def submit(self, job: dict[str, Any]) -> None:
        """Queue ``{"kind", "data", "title", "path", "step"}``."""
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
        return {"step": job["step"], "error": f"{type(exc).__name__}: {exc}"}
    return {"step": job["step"], "path": str(job["path"]), "width": width, "height": height}


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
