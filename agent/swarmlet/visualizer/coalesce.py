"""A burst of changes turned into few re-reads: the first change is read at once, changes
during the next `interval` are read together once it has passed (SwarmKit's watchers batch
the same way). A thread, woken by poke(); nothing runs while nothing changes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Coalescer:
    def __init__(self, action: Callable[[], None], interval: float = 0.15) -> None:
        self.action = action
        self.interval = interval
        self._stale = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="visualizer-reread",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def poke(self) -> None:
        """Something changed: read again (soon, with whatever else changes meanwhile)."""
        self._stale.set()

    def stop(self) -> None:
        self._stop.set()
        self._stale.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            self._stale.wait()
            if self._stop.is_set():
                return
            self._stale.clear()  # before the read: a change during it makes another
            try:
                self.action()
            except Exception:  # a failed read must not end the page's updates
                log.exception("re-reading the swarm failed")
            if self._stop.wait(self.interval):
                return
