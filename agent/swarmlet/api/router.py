"""Routes: (method, path template) → handler, with who may call it.

Access levels, checked by the server before a handler runs:
- "local":   only the unix socket (root on this host)
- "manager": the unix socket, or a client presenting a manager certificate
- "node":    the unix socket, or any node certificate of this cluster (the dispatcher)
- "public":  anyone who reaches the port (a joining node fetching the CA, /_ping)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from swarmlet.spec.limits import MAX_ID
from swarmlet.spec.query_models import NoQuery
from swarmlet.spec.validate import checked
from swarmlet.transport.errors import HttpError

ACCESS_LEVELS = ("local", "manager", "node", "public")


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    local: bool  # came over the unix socket
    identity: Any = None  # swarmlet.ca.identity.NodeIdentity of a TLS client, if any


Handler = Callable[[Request], Any]
Model = type[BaseModel]


def version_param(request: Request) -> int:
    """The ?version=N of an update: the object's Version.Index as the client read it."""
    raw = request.query.get("version", "")
    if not raw.isdigit():
        raise HttpError(400, "a version query parameter (the object's Version.Index) is required")
    return int(raw)


@dataclass
class Route:
    """A route and what it takes: `body` and `query` are the models its request is checked
    against before the handler runs (and what the OpenAPI document describes)."""

    method: str
    template: str
    handler: Handler
    summary: str
    access: str
    body: Model | None = None
    query: Model = NoQuery
    body_required: bool = True
    answer: Any = None  # a success answer, for the OpenAPI document (openapi._answer)
    # Answers at once, never blocking (no Raft write, no wait): the cluster port runs it on
    # its loop instead of handing it to a thread (api/cluster_server.py).
    inline: bool = False
    regex: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        if self.access not in ACCESS_LEVELS:
            raise ValueError(f"unknown access level {self.access!r}")
        pattern = re.sub(r"\{(\w+)\}", rf"(?P<\1>[^/]{{1,{MAX_ID}}})", self.template)
        self.regex = re.compile(f"^{pattern}$")

    def checked(self, request: Request) -> Request:
        """The request with its query and body checked (a SpecError, answered 400, names the
        field); a route without a body model takes none."""
        checked(self.query, request.query, "query")
        if self.body is None:
            if request.body not in (None, {}):
                raise HttpError(400, f"{self.method} {self.template} takes no request body")
        else:
            request.body = checked(self.body, request.body, _what(self.body),
                                   required=self.body_required)
        return request


def _what(model: Model) -> str:
    """"ServiceSpec" -> "service spec", for messages."""
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", " ", model.__name__).lower()


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._exact: tuple[int, dict[tuple[str, str], Route]] = (0, {})

    def add(self, method: str, template: str, summary: str, access: str = "manager",
            body: Model | None = None, query: Model = NoQuery, body_required: bool = True,
            answer: Any = None, inline: bool = False) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            route = Route(method, template, handler, summary, access, body, query,
                          body_required, answer, inline)

            @functools.wraps(handler)
            def validating(request: Request) -> Any:
                return handler(route.checked(request))

            route.handler = validating
            self.routes.append(route)
            return handler

        return register

    def _exact_routes(self) -> dict[tuple[str, str], Route]:
        """(method, path) → route for templates without parameters that no earlier route
        also matches: a dict lookup for the hot paths (heartbeats, assignments) instead of
        a regex per route. Rebuilt when routes are added."""
        count, exact = self._exact
        if count != len(self.routes):
            exact = {}
            for i, route in enumerate(self.routes):
                if "{" in route.template:
                    continue
                if not any(r.method == route.method and r.regex.match(route.template)
                           for r in self.routes[:i]):
                    exact.setdefault((route.method, route.template), route)
            self._exact = (len(self.routes), exact)
        return exact

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        route = self._exact_routes().get((method, path))
        if route is not None:
            return route, {}
        allowed = False
        for route in self.routes:
            m = route.regex.match(path)
            if m:
                if route.method == method:
                    return route, m.groupdict()
                allowed = True
        if allowed:
            raise HttpError(405, f"method {method} not allowed on {path}")
        raise HttpError(404, f"page not found: {path}")
