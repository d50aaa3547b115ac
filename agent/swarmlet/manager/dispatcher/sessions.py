"""Node sessions on the leader: what each node was last sent, and its long polls.

A poll is a Parked value (transport/parked.py): `answer()` computes the node's assignments
from the shared view and gives the changes since the set the node holds, or None when
nothing of its own changed; the store's watch (and the log broker) `notify` every
subscriber, and the server asks the waiting polls again. Nothing sleeps in steps, and on the
cluster port nothing holds a thread while it waits (api/cluster_server.py).
"""

from __future__ import annotations

import itertools
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from swarmlet.manager.dispatcher.assignment_latency import observe_assigned
from swarmlet.manager.dispatcher.assignments import same_objects
from swarmlet.protocol.assignments import (
    COMPLETE,
    INCREMENTAL,
    Sections,
    changes,
    keyed,
)
from swarmlet.store.state import StoreError
from swarmlet.store.watch import WatchClosed
from swarmlet.transport.parked import Parked, wait_parked

log = logging.getLogger("swarmlet.dispatcher")

WATCH_RETRY = 0.5


@dataclass
class Sent:
    seq: str
    sections: Sections
    inputs: tuple[object, ...] | None = None  # what the sections were computed from


Inputs = Callable[[str], tuple[object, ...]]


class Sessions:
    """`compute(node_id)` gives a node's assignment lists from the current view; `live()`
    says whether polls may still be answered here (this manager leads, and runs).
    `inputs(node_id)`, if given, names what compute() reads for that node, as objects that
    are replaced, never changed (assignments.node_inputs): a poll for the set last sent,
    whose inputs are still the very same objects, is not computed again. After a change
    every node polls again at once, and a join wakes every poll: most of them are then
    this cheap look, not a computation."""

    def __init__(self, compute: Callable[[str], dict[str, list[Any]]],
                 live: Callable[[], bool], inputs: Inputs | None = None) -> None:
        self.compute = compute
        self.live = live
        self.inputs = inputs
        self._epoch = secrets.token_hex(4)  # a new leader's sequences never match old ones
        self._counter = itertools.count(1)
        self._sent: dict[str, Sent] = {}
        self._sent_lock = threading.Lock()
        self._subscribers: list[Callable[[], None]] = []
        self._subscribers_lock = threading.Lock()

    # --- wakeups --------------------------------------------------------------------------

    def notify(self) -> None:
        """Something changed: every waiting poll looks again."""
        with self._subscribers_lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            callback()

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` (in the notifying thread) at every change; returns the way out."""
        with self._subscribers_lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._subscribers_lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)
        return unsubscribe

    def follow_store(self, watch: Callable[[], Any], stopping: threading.Event) -> None:
        """Run in a thread: notify on every committed change, until `stopping`. A watch
        that closes (it fell behind) is opened again, and everyone looks again."""
        while not stopping.is_set():
            try:
                events = watch()
            except StoreError as exc:
                log.debug("dispatcher watch: %s", exc)
                stopping.wait(WATCH_RETRY)
                continue
            self.notify()
            try:
                while not stopping.is_set():
                    if events.get(timeout=WATCH_RETRY) is not None:
                        while events.get(timeout=0) is not None:
                            pass  # one wakeup for a burst of events
                        self.notify()
            except WatchClosed:
                continue
            except Exception:  # polls must not lose their wakeups: watch again
                log.exception("dispatcher watch failed; watching again")
                stopping.wait(WATCH_RETRY)
            finally:
                events.close()

    def keep_only(self, node_ids: set[str]) -> None:
        """Forget what was sent to nodes no longer in the swarm."""
        with self._sent_lock:
            for node_id in [n for n in self._sent if n not in node_ids]:
                del self._sent[node_id]

    def reset(self) -> None:
        """Leadership was lost: what nodes hold is for them to send again in full."""
        with self._sent_lock:
            self._sent.clear()
        self.notify()

    # --- polls ----------------------------------------------------------------------------

    def parked(self, node_id: str, applies_to: str, wait: float) -> Parked:
        """A node's poll for the server to wait on: answered at once with the complete set
        (or the changes, if any), else at the next change of its own, or unchanged after
        `wait` seconds."""
        unchanged = {"Type": INCREMENTAL, "AppliesTo": applies_to, "ResultsIn": applies_to,
                     "Changes": {}}
        return Parked(lambda: self.answer(node_id, applies_to, unchanged), self.subscribe,
                      time.monotonic() + max(wait, 0.0), unchanged)

    def poll(self, node_id: str, applies_to: str, wait: float) -> dict[str, Any]:
        """parked(), waited for in this thread."""
        return wait_parked(self.parked(node_id, applies_to, wait))  # type: ignore[no-any-return]

    def answer(self, node_id: str, applies_to: str,
               unchanged: dict[str, Any]) -> dict[str, Any] | None:
        """The answer to a poll now, or None while nothing of the node's changed."""
        if not self.live():
            return unchanged  # the node's next poll is told where the leader is
        # Read before compute(): if the store moves on in between, these are older than
        # the sections, and the next look computes again (never the other way round).
        inputs = self.inputs(node_id) if self.inputs is not None else None
        if inputs is not None:
            sent = self._sent.get(node_id)
            if sent is not None and sent.seq == applies_to and sent.inputs is not None \
                    and same_objects(sent.inputs, inputs):
                return None
        lists = self.compute(node_id)
        new = keyed(lists)
        with self._sent_lock:
            sent = self._sent.get(node_id)
            if sent is None or sent.seq != applies_to:
                seq = self._next_seq()
                self._sent[node_id] = Sent(seq, new, inputs)
                observe_assigned(None if sent is None else sent.sections, new)
                return {"Type": COMPLETE, "ResultsIn": seq, **lists}
            delta = changes(sent.sections, new)
            if delta:
                observe_assigned(sent.sections, new)
                seq = self._next_seq()
                self._sent[node_id] = Sent(seq, new, inputs)
                return {"Type": INCREMENTAL, "AppliesTo": applies_to, "ResultsIn": seq,
                        "Changes": delta}
            sent.inputs = inputs  # the same sections: they hold for these inputs too
        return None

    def _next_seq(self) -> str:
        return f"{self._epoch}.{next(self._counter)}"
