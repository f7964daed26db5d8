"""Read ahead: iterate a source in a background thread, a few items ahead of the consumer.

The executor's loop is read (network, CSV → Arrow) then stage (Parquet to disk). Both release the GIL
for most of their work, so reading batch n+1 while batch n is staged takes the sum of the two towards
the larger one. The queue is bounded (``depth`` items), so memory stays flat however fast the source is.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_DONE = object()


class Prefetch(Generic[T]):
    """``for item in Prefetch(source): ...`` — the same items in the same order, and the same exception
    object (so its recovery class is kept) when the source raises. Leaving the loop early stops the
    reader thread at its next item."""

    def __init__(self, source: Iterable[T], depth: int = 2) -> None:
        self._source = source
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="headwater-read-ahead", daemon=True)
        self._thread.start()

    def _put(self, value: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._source:
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the consumer, re-raised there
            self._put(exc)
            return
        self._put(_DONE)

    def __iter__(self) -> Iterator[T]:
        try:
            while True:
                value = self._queue.get()
                if value is _DONE:
                    return
                if isinstance(value, BaseException):
                    raise value
                yield value  # type: ignore[misc]
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


__all__ = ["Prefetch"]
