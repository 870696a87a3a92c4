"""Reading ahead: the next batches of a table are read (parsed, decoded) on a thread while the
caller works on the current one, so reading and encoding overlap on two cores."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any, TypeVar

__all__ = ["read_ahead"]

T = TypeVar("T")

_END: Any = object()


def read_ahead(batches: Iterator[T], depth: int = 2) -> Iterator[T]:
    """``batches`` in order, the next ``depth`` of them read on a thread while the caller works.

    An error of the reading is raised here, where the caller would have met it; when the caller
    stops early (an error of its own), the thread stops after the batch it is reading.

    Example:
        >>> list(read_ahead(iter(range(5))))
        [0, 1, 2, 3, 4]
    """
    ready: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[Any, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for batch in batches:
                if not put((batch, None)):
                    return
            put((_END, None))
        except BaseException as exc:  # handed to the caller, raised there
            put((_END, exc))
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()  # a generator's files are closed on the thread that read them

    thread = threading.Thread(target=read, name="lit-basics-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            batch, error = ready.get()
            if batch is _END:
                if error is not None:
                    raise error
                return
            yield batch
    finally:
        stop.set()
        thread.join()
