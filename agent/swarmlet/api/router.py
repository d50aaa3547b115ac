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
from typing import Any, NamedTuple

from pydantic import BaseModel

from swarmlet.spec.errors import SpecError
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
    api_version: str = ""  # the Docker Engine API's version asked for (api/engine/)


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
    # The handler gets the body as sent, once it passed the model: a compose file's nulls
    # mean something (`networks: {front: null}`), and the check drops nulls.
    keeps_nulls: bool = False
    regex: re.Pattern[str] = field(init=False)
    _empty_query_valid: bool | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.access not in ACCESS_LEVELS:
            raise ValueError(f"unknown access level {self.access!r}")
        pattern = re.sub(r"\{(\w+)\}", rf"(?P<\1>[^/]{{1,{MAX_ID}}})", self.template)
        self.regex = re.compile(f"^{pattern}$")

    def checked(self, request: Request) -> Request:
        """The request with its query and body checked (a SpecError, answered 400, names the
        field); a route without a body model takes none."""
        if request.query or not self._takes_empty_query():
            checked(self.query, request.query, "query")
        if self.body is None:
            if request.body not in (None, {}):
                raise HttpError(400, f"{self.method} {self.template} takes no request body")
        else:
            body = checked(self.body, request.body, _what(self.body),
                           required=self.body_required)
            if not self.keeps_nulls:
                request.body = body
        return request


    def _takes_empty_query(self) -> bool:
        """Whether no query passes the query model: checked once, not at every request."""
        if self._empty_query_valid is None:
            try:
                checked(self.query, {}, "query")
                self._empty_query_valid = True
            except SpecError:
                self._empty_query_valid = False
        return self._empty_query_valid


@functools.cache
def _what(model: Model) -> str:
    """"ServiceSpec" -> "service spec", for messages."""
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", " ", model.__name__).lower()


class _Index(NamedTuple):
    """The routes, arranged for match(); built again when routes are added."""

    count: int  # len(routes) when built
    exact: dict[tuple[str, str], Route]
    by_segment: dict[str, list[Route]]  # first path segment -> the routes that may match
    anywhere: list[Route]  # routes whose first segment is not a plain word


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._index = _Index(0, {}, {}, [])

    def add(self, method: str, template: str, summary: str, access: str = "manager",
            body: Model | None = None, query: Model = NoQuery, body_required: bool = True,
            answer: Any = None, inline: bool = False,
            keeps_nulls: bool = False) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            route = Route(method, template, handler, summary, access, body, query,
                          body_required, answer, inline, keeps_nulls)

            @functools.wraps(handler)
            def validating(request: Request) -> Any:
                return handler(route.checked(request))

            route.handler = validating
            self.routes.append(route)
            return handler

        return register

    def _indexed(self) -> _Index:
        """Exact routes: (method, path) → route for templates without parameters that no
        earlier route also matches, a dict lookup for the hot paths (heartbeats,
        assignments). The others by their first path segment, so a path is tried against
        the few routes under its first segment (in the order they were added), not all."""
        index = self._index
        if index.count == len(self.routes):
            return index
        exact: dict[tuple[str, str], Route] = {}
        for i, route in enumerate(self.routes):
            if "{" in route.template:
                continue
            if not any(r.method == route.method and r.regex.match(route.template)
                       for r in self.routes[:i]):
                exact.setdefault((route.method, route.template), route)
        words = {_first_segment(r.template) for r in self.routes} - {None}
        by_segment = {word: [r for r in self.routes
                             if _first_segment(r.template) in (word, None)]
                      for word in words if word is not None}
        anywhere = [r for r in self.routes if _first_segment(r.template) is None]
        self._index = _Index(len(self.routes), exact, by_segment, anywhere)
        return self._index

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        index = self._indexed()
        route = index.exact.get((method, path))
        if route is not None:
            return route, {}
        allowed = False
        for route in index.by_segment.get(path.split("/", 2)[1] if path[:1] == "/" else "",
                                          index.anywhere):
            m = route.regex.match(path)
            if m:
                if route.method == method:
                    return route, m.groupdict()
                allowed = True
        if allowed:
            raise HttpError(405, f"method {method} not allowed on {path}")
        raise HttpError(404, f"page not found: {path}")


_WORD = re.compile(r"[A-Za-z0-9_-]+")


def _first_segment(template: str) -> str | None:
    """The first segment of a route's path when it is a plain word (matched literally by
    the route's regex: a path must have that same first segment); None otherwise."""
    first = template.split("/", 2)[1] if template.startswith("/") else ""
    return first if _WORD.fullmatch(first) else None
