"""The swarm's recent events on this manager (dockerd's events log): every manager turns its
replica's committed changes into Docker's event messages (event_messages.py) and keeps the
last EVENTS_KEPT, so a client asking `since` a moment ago gets what it missed, then the new
ones as they commit. Raft leader changes are not store writes: the journal notices them
itself (within a second) and tells them as node updates with leader.old/leader.new."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from swarmlet.manager.event_messages import EVENT_TYPES, cluster_event, message, node_name
from swarmlet.store.raft import RaftStore
from swarmlet.store.watch import Watch, WatchClosed

log = logging.getLogger("swarmlet.manager.events")

EVENTS_KEPT = 4096  # dockerd keeps 256; a swarm's tasks make many more
IDLE = 1.0  # seconds a follower waits before it is woken with None
_UNSEEN = object()


class EventJournal:
    def __init__(self, store: RaftStore, capacity: int = EVENTS_KEPT,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self._store = store
        self._clock = clock
        self._events: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._next = 0  # the sequence number of the next message kept
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._leader: Any = _UNSEEN
        self._thread = threading.Thread(target=self._run, name="manager-events", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def publish(self, messages: list[dict[str, Any]]) -> None:
        with self._cond:
            self._events.extend(messages)
            self._next += len(messages)
            self._cond.notify_all()

    def follow(self, since_ns: int | None = None, until_ns: int | None = None,
               idle: float = IDLE) -> Iterator[dict[str, Any] | None]:
        """The messages timed from `since_ns` (those kept, then the new ones; without it,
        only the new ones) up to `until_ns` (then the iterator ends; without it, never, but
        when this manager stops). Yields None after `idle` seconds without a message: the
        caller's chance to notice its client went away."""
        with self._cond:
            cursor = self._next if since_ns is None else self._next - len(self._events)
        while not self._stopping.is_set():
            with self._cond:
                batch, cursor = self._after(cursor)
                if not batch:
                    wait = idle
                    if until_ns is not None:
                        wait = min(wait, max(0.0, (until_ns - self._clock()) / 1e9))
                    self._cond.wait(wait)
                    batch, cursor = self._after(cursor)
            for item in batch:
                stamp = item["timeNano"]
                if until_ns is not None and stamp > until_ns:
                    return
                if since_ns is None or stamp >= since_ns:
                    yield item
            if until_ns is not None and self._clock() >= until_ns:
                return
            if not batch:
                yield None

    def _after(self, cursor: int) -> tuple[list[dict[str, Any]], int]:
        """The messages from sequence number `cursor` on (those still kept), and the next
        cursor. Called under the lock."""
        first = self._next - len(self._events)
        skip = max(0, cursor - first)
        return list(itertools.islice(self._events, skip, None)), self._next

    # --- the store's side ------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._follow_store(self._store.watch(set(EVENT_TYPES)))
            except WatchClosed as exc:  # fell behind, or a snapshot replaced the state
                log.warning("events: %s; watching again (events in between are lost)",
                            exc.reason)
            except Exception:
                log.exception("events: the store's watch failed; watching again")
                self._stopping.wait(1.0)

    def _follow_store(self, watch: Watch) -> None:
        try:
            while not self._stopping.is_set():
                event = watch.get(timeout=IDLE)
                now = self._clock()
                messages = [m for m in [cluster_event(event, now) if event else None] if m]
                messages += self._leader_change(now)
                if messages:
                    self.publish(messages)
        finally:
            watch.close()

    def _leader_change(self, now: int) -> list[dict[str, Any]]:
        leader = self._store.leader()
        if leader == self._leader:
            return []
        old, self._leader = self._leader, leader
        if old is _UNSEEN:
            return []  # the first look: no change seen yet
        changed = []
        for node in self._store.list("node"):
            raft_addr = (node.get("ManagerStatus") or {}).get("RaftAddr")
            if raft_addr is None or raft_addr not in (old, leader):
                continue
            leads = raft_addr == leader
            changed.append(message("node", "update", node["ID"], {
                "name": node_name(node), "leader.old": str(not leads).lower(),
                "leader.new": str(leads).lower()}, now))
        return changed
