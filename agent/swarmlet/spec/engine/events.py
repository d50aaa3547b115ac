"""GET /events's query: since and until are Docker's timestamps (seconds, RFC 3339 or a
duration), checked by dockerd, which serves the stream."""

from __future__ import annotations

from swarmlet.spec.engine.base import EngineQuery


class EventsQuery(EngineQuery):
    since: str | None = None
    until: str | None = None
    filters: str | None = None
