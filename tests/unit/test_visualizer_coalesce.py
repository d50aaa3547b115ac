"""A burst of events is one re-read (two at most: the first at once, the rest together),
and a change after a quiet spell is read again."""

from __future__ import annotations

import threading
import time

from swarmlet.visualizer.coalesce import Coalescer


def test_a_burst_is_read_once_or_twice_and_a_later_change_again() -> None:
    reads: list[float] = []
    done = threading.Event()

    def read() -> None:
        reads.append(time.monotonic())
        done.set()

    rereads = Coalescer(read, interval=0.2)
    rereads.start()
    try:
        start = time.monotonic()
        for _ in range(200):
            rereads.poke()
        assert done.wait(2)
        time.sleep(0.5)
        assert 1 <= len(reads) <= 2
        assert reads[0] - start < 0.2  # the first change is not held back
        if len(reads) == 2:
            assert reads[1] - reads[0] >= 0.2
        before = len(reads)
        rereads.poke()
        time.sleep(0.4)
        assert len(reads) == before + 1
        time.sleep(0.3)
        assert len(reads) == before + 1  # nothing changed: nothing read
    finally:
        rereads.stop()


def test_a_failed_read_does_not_end_the_rereads() -> None:
    calls = []

    def read() -> None:
        calls.append(1)
        raise OSError("agent gone")

    rereads = Coalescer(read, interval=0.05)
    rereads.start()
    try:
        rereads.poke()
        time.sleep(0.2)
        rereads.poke()
        time.sleep(0.2)
        assert len(calls) == 2
    finally:
        rereads.stop()
