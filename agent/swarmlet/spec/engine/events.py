"""GET /events's query: since and until are Docker's timestamps (seconds, RFC 3339 or a
duration: spec/event_times.py), filters its JSON filters (api/engine/events.py)."""

from __future__ import annotations

from swarmlet.spec.engine.base import EngineQuery
from swarmlet.spec.event_times import EventTime


class EventsQuery(EngineQuery):
    since: EventTime | None = None
    until: EventTime | None = None
    filters: str | None = None
