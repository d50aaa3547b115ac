"""One netlink socket for the whole agent, owned by one thread.

pyroute2 0.9's IPRoute gives every thread that touches it a socket and an event loop of its
own, which must then be closed in that same thread. The driver serves each Docker request on a
new thread, so instead every netlink call is handed to a single long-lived thread that holds
the one IPRoute of the agent's namespace (DESIGN.md §7). Calls are short (a link add is ~2 ms),
so serialising them costs nothing and also orders them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from swarmlet.net.inet import restore_inet_ntop
from swarmlet.net.pyroute import IPRoute

T = TypeVar("T")


class Netlink:
    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._ipr: IPRoute | None = None
        self._lock = threading.Lock()

    def call(self, work: Callable[[IPRoute], T], timeout: float = 30.0) -> T:
        """Run `work(ipr)` on the netlink thread and return its result (or raise its error)."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netlink")
            pool = self._pool
        return pool.submit(self._run, work).result(timeout=timeout)

    def _run(self, work: Callable[[IPRoute], T]) -> T:
        if self._ipr is None:
            restore_inet_ntop()  # pyroute2 modules imported since are fixed too
            self._ipr = IPRoute()  # this thread's namespace: the agent's own
        return work(self._ipr)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return

        def _close(_ipr: Any) -> None:
            if self._ipr is not None:
                self._ipr.close()
                self._ipr = None

        pool.submit(_close, None).result(timeout=10)
        pool.shutdown(wait=True)
