"""Store watches for the control loops (SwarmKit's watch queue).

publish() runs on the Raft apply path, so it must never block: each watch has a bounded
queue, and a watcher that falls behind is closed and told so (it re-lists and watches again)
instead of stalling Raft.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from swarmlet.store.objects import KINDS, clone
from swarmlet.store.state import StoreError

DEFAULT_QUEUE_SIZE = 10_000


class Event(NamedTuple):
    """A committed change. `object` is the new version (the removed one for a delete);
    `old` is the version it replaced (None on create and delete)."""

    kind: str
    op: str
    object: dict
    old: dict | None


class WatchClosed(StoreError):
    """The watch ended. `missed` is True when events were lost (the watcher fell behind, or
    a snapshot replaced the state): the watcher must re-list and watch again."""

    def __init__(self, reason: str, missed: bool = False) -> None:
        super().__init__(f"watch closed: {reason}", "watch_closed")
        self.reason = reason
        self.missed = missed


_WAKE = object()  # put on the queue to wake a blocked get() on close


class Watch:
    """One subscriber's stream of events, in commit order. Iterate it, or call get()."""

    def __init__(self, hub: WatchHub, kinds: frozenset[str] | None, maxsize: int) -> None:
        self._hub = hub
        self.kinds = kinds
        self._queue: queue.Queue = queue.Queue(maxsize)
        self._closed: WatchClosed | None = None

    @property
    def closed(self) -> bool:
        return self._closed is not None

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event (a private copy), None after `timeout` seconds without one.
        Raises WatchClosed once the watch is closed."""
        if self._closed is not None:
            raise self._closed
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if self._closed is not None or item is _WAKE:
            raise self._closed or WatchClosed("closed")
        # Events share the store's dicts with other watchers: copy here, off the apply path.
        return Event(item.kind, item.op, clone(item.object), clone(item.old))

    def close(self) -> None:
        self._end(WatchClosed("closed"))

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        """Blocks for the next event; stops when closed, raises WatchClosed if events were
        missed."""
        try:
            event = self.get()
        except WatchClosed as err:
            if err.missed:
                raise
            raise StopIteration from None
        assert event is not None
        return event

    def _offer(self, event: Event) -> None:
        if self._closed is not None:
            return
        if self.kinds is not None and event.kind not in self.kinds:
            return
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._end(WatchClosed(
                f"watcher fell behind ({self._queue.maxsize} events queued)", missed=True))

    def _end(self, reason: WatchClosed) -> None:
        if self._closed is not None:
            return
        self._closed = reason
        self._hub._drop(self)
        # Queued events are useless after a gap; drop them, then wake a blocked reader.
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_WAKE)


class WatchHub:
    """Fans committed events out to watches."""

    def __init__(self, maxsize: int = DEFAULT_QUEUE_SIZE) -> None:
        self.maxsize = maxsize
        self._lock = threading.Lock()
        self._watches: list[Watch] = []

    def subscribe(self, kinds: set[str] | None = None, maxsize: int | None = None) -> Watch:
        """A watch on `kinds` (all kinds when None)."""
        if kinds is not None:
            unknown = set(kinds) - set(KINDS)
            if unknown:
                raise StoreError(f"invalid object kind {sorted(unknown)!r}", "invalid")
        watch = Watch(self, frozenset(kinds) if kinds is not None else None,
                      maxsize or self.maxsize)
        with self._lock:
            self._watches = [*self._watches, watch]
        return watch

    def publish(self, events: Iterable[Event]) -> None:
        """Queue events on every interested watch; never blocks."""
        watches = self._watches  # copy-on-write list: no lock on the hot path
        if not watches:
            return
        for event in events:
            for watch in watches:
                watch._offer(event)

    def close_all(self, reason: str, missed: bool = False) -> None:
        """End every watch: on shutdown, or (missed=True) when a snapshot replaced the state."""
        for watch in list(self._watches):
            watch._end(WatchClosed(reason, missed))

    def _drop(self, watch: Watch) -> None:
        with self._lock:
            self._watches = [w for w in self._watches if w is not watch]

    def __len__(self) -> int:
        return len(self._watches)
