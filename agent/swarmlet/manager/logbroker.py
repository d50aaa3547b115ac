"""Service logs across nodes (SwarmKit's logbroker, simplified).

A manager asked for a service's logs opens a stream and registers a subscription with the
leader. Workers learn of subscriptions with their assignments, read the logs of their
containers of that service from their own Docker Engine, and publish the lines to the manager
that asked (its API address is in the subscription). That manager hands them to its client.

    client ─GET /services/x/logs─▶ manager A ─subscribe─▶ leader ─assignments─▶ workers
    client ◀──────── lines ─────── manager A ◀──────── POST /logbroker/publish ─┘
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from swarmlet.store.objects import new_id


@dataclass(frozen=True)
class Subscription:
    ID: str
    ServiceID: str
    Tail: int          # lines per container from the end; -1 for all
    Follow: bool
    Publisher: str     # API address of the manager streaming to the client
    Since: str | None = None  # Docker's `since`, as each node's dockerd takes it

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class LogBroker:
    """The leader's list of subscriptions. `on_change` is called when one comes or goes, so
    that the nodes' assignment long polls answer at once (the dispatcher sets it)."""

    def __init__(self) -> None:
        self._subs: dict[str, Subscription] = {}
        self._lock = threading.Lock()
        self.on_change: Callable[[], None] = lambda: None

    def subscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs[sub.ID] = sub
        self.on_change()

    def unsubscribe(self, sub_id: str) -> None:
        with self._lock:
            gone = self._subs.pop(sub_id, None) is not None
        if gone:
            self.on_change()

    def for_services(self, service_ids: set[str]) -> list[dict[str, Any]]:
        with self._lock:
            return [s.as_dict() for s in self._subs.values() if s.ServiceID in service_ids]


@dataclass
class LogStream:
    """One client's stream on the manager it asked: lines from every node, and which nodes
    have said they have sent everything (for a request without --follow)."""

    subscription: Subscription
    lines: queue.Queue[dict[str, Any]]
    done_nodes: set[str]


class LogStreams:
    def __init__(self) -> None:
        self._streams: dict[str, LogStream] = {}
        self._lock = threading.Lock()

    def open(self, service_id: str, tail: int, follow: bool, publisher: str,
             since: str | None = None) -> LogStream:
        sub = Subscription(new_id(), service_id, tail, follow, publisher, since)
        stream = LogStream(sub, queue.Queue(maxsize=10_000), set())
        with self._lock:
            self._streams[sub.ID] = stream
        return stream

    def close(self, sub_id: str) -> None:
        with self._lock:
            self._streams.pop(sub_id, None)

    def publish(self, sub_id: str, node_id: str, lines: list[dict[str, Any]],
                done: bool) -> bool:
        """False when nobody listens any more (the publisher should stop)."""
        with self._lock:
            stream = self._streams.get(sub_id)
        if stream is None:
            return False
        for line in lines:
            try:
                stream.lines.put_nowait(line)
            except queue.Full:  # a client that does not read loses lines, not the manager
                break
        if done:
            stream.done_nodes.add(node_id)
            stream.lines.put({"Done": node_id})
        return True
