"""A long poll as a value: the dispatcher says what answers it and what wakes it, and the
server decides how to wait (api/results.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Unsubscribe = Callable[[], None]


@dataclass
class Parked:
    """A long poll: `answer()` gives the answer once there is one (None: not yet); it is
    asked again after each wakeup that `subscribe(callback)` delivers (from any thread),
    until the monotonic `deadline`, when `unchanged` is the answer. The cluster port parks
    it without a thread (thousands of nodes poll at once); the unix socket waits in the
    request's thread (wait_parked)."""

    answer: Callable[[], Any]
    subscribe: Callable[[Callable[[], None]], Unsubscribe]
    deadline: float
    unchanged: Any


def wait_parked(parked: Parked) -> Any:
    """The answer of a parked poll, waited for in this thread."""
    woken = threading.Event()
    unsubscribe = parked.subscribe(woken.set)  # before the first look: no wakeup is missed
    try:
        while True:
            woken.clear()
            answer = parked.answer()
            if answer is not None:
                return answer
            remaining = parked.deadline - time.monotonic()
            if remaining <= 0:
                return parked.unchanged
            woken.wait(remaining)
    finally:
        unsubscribe()
