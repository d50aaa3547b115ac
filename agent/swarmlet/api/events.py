"""GET /events: the swarm's events as Docker streams them (one JSON message per line),
from this manager's event journal (manager/event_journal.py). `swarmlet events`, the Engine
API's /events and the visualizer read it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from swarmlet.api.engine.filters import parse_filters
from swarmlet.api.event_filter import EVENT_FILTER_KEYS, event_matches
from swarmlet.api.results import Streaming
from swarmlet.api.router import Request
from swarmlet.spec.event_times import parse_event_time
from swarmlet.spec.query_models import EventsQuery

if TYPE_CHECKING:  # the manager's modules load when the node becomes one
    from swarmlet.manager.event_journal import EventJournal


def event_lines(journal: EventJournal, query: dict[str, Any]) -> Iterator[bytes]:
    """The selected messages as JSON lines, b"" at each idle tick (for the server to see
    a client that left). The filters are checked now: a bad one is a 400, not a stream."""
    filters = parse_filters(query.get("filters"), EVENT_FILTER_KEYS)
    now = time.time_ns()
    since, until = (parse_event_time(query[key], now) if query.get(key) else None
                    for key in ("since", "until"))

    def lines() -> Iterator[bytes]:
        for event in journal.follow(since, until):
            if event is None:
                yield b""
            elif event_matches(filters, event):
                yield json.dumps(event).encode() + b"\n"

    return lines()


def add_event_routes(add: Callable[..., Any], journal: Callable[[], EventJournal]) -> None:
    @add("GET", "/events", "The swarm's events, streamed as JSON lines (Docker's shape; "
         "?since=&until=&filters=)", query=EventsQuery)
    def events(request: Request) -> Streaming:
        return Streaming(event_lines(journal(), request.query))



