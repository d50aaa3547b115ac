"""GET /events: dockerd's, for its own objects (containers, images, volumes, local
networks, plugins, the daemon). The swarm's events (services, nodes, secrets, configs,
swarm-scoped networks) are not produced yet: a request that asks for them by filter is 501,
not an event stream that would stay silent; one without filters gets dockerd's events
only."""

from __future__ import annotations

from swarmlet.api.engine.answers import Answer
from swarmlet.api.engine.filters import parse_filters
from swarmlet.api.engine.frontend import PROXY
from swarmlet.api.engine.unsupported import unsupported
from swarmlet.api.router import Request, Router
from swarmlet.spec.engine.events import EventsQuery

# Docker's event filters (daemon/events/filter.go).
EVENT_FILTERS = ("config", "container", "daemon", "event", "image", "label", "network",
                 "node", "plugin", "scope", "secret", "service", "type", "volume")
SWARM_TYPES = frozenset({"service", "node", "secret", "config"})


def swarm_events_asked(raw: str | None) -> str | None:
    """What in the filters asks for the swarm's events (None: nothing does); 400 for
    filters that are malformed or unknown (dockerd's texts)."""
    filters = parse_filters(raw, EVENT_FILTERS)
    types = set(filters.get("type"))
    if types & SWARM_TYPES:
        return f"type={','.join(sorted(types & SWARM_TYPES))}"
    if filters.get("scope") == ["swarm"]:
        return "scope=swarm"
    for key in sorted(SWARM_TYPES):
        if key in filters:
            return f"{key}={','.join(filters.get(key))}"
    return None


def add_events_route(router: Router) -> None:
    @router.add("GET", "/events", "dockerd's events; the swarm's are not served yet",
                access="public", query=EventsQuery)
    def events(request: Request) -> object:
        asked = swarm_events_asked(request.query.get("filters"))
        if asked is not None:
            return Answer(501, {"message": unsupported(
                f"GET /events with {asked} (the swarm's events)",
                "only dockerd's own events (containers, images, volumes, local networks) "
                "are served")})
        return PROXY
