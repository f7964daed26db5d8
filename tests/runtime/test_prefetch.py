"""Read-ahead keeps order, items and the source's exception object; leaving early stops the reader."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from headwater.core.errors import TransientError
from headwater.runtime.prefetch import Prefetch


def test_same_items_in_the_same_order() -> None:
    assert list(Prefetch(iter(range(1000)), depth=3)) == list(range(1000))
    assert list(Prefetch([])) == []


def test_the_source_exception_object_reaches_the_consumer() -> None:
    error = TransientError("503 from Salesforce", retry_after=7)

    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise error

    seen = []
    with pytest.raises(TransientError) as info:
        for item in Prefetch(source()):
            seen.append(item)
    assert seen == [1, 2] and info.value is error and info.value.retry_after == 7


def test_leaving_early_stops_the_reader_and_reads_ahead_at_most_depth() -> None:
    produced = []

    def endless() -> Iterator[int]:
        number = 0
        while True:
            produced.append(number)
            yield number
            number += 1

    prefetch = Prefetch(endless(), depth=2)
    for item in prefetch:
        if item == 3:
            break
    time.sleep(0.3)
    assert len(produced) <= 4 + 2 + 1  # consumed, queued, one in hand
    assert not any(
        thread.name == "headwater-read-ahead" and thread.is_alive() for thread in threading.enumerate()
    )


def test_reading_overlaps_with_consuming() -> None:
    def slow_source() -> Iterator[int]:
        for number in range(5):
            time.sleep(0.1)
            yield number

    started = time.perf_counter()
    for _ in Prefetch(slow_source()):
        time.sleep(0.1)  # "staging"
    assert time.perf_counter() - started < 0.9  # sequential would be ~1.0 s
