"""Routes: (method, path template) → handler, with who may call it.

Access levels, checked by the server before a handler runs:
- "local":   only the unix socket (root on this host)
- "manager": the unix socket, or a client presenting a manager certificate
- "node":    the unix socket, or any node certificate of this cluster (the dispatcher)
- "public":  anyone who reaches the port (a joining node fetching the CA, /_ping)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ACCESS_LEVELS = ("local", "manager", "node", "public")


class ApiError(Exception):
    """An error answered as {"message": ...} with an HTTP status, as Docker's API does."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


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


def version_param(request: Request) -> int:
    """The ?version=N of an update: the object's Version.Index as the client read it."""
    raw = request.query.get("version", "")
    if not raw.isdigit():
        raise ApiError(400, "a version query parameter (the object's Version.Index) is required")
    return int(raw)


@dataclass
class Route:
    method: str
    template: str
    handler: Handler
    summary: str
    access: str
    regex: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        if self.access not in ACCESS_LEVELS:
            raise ValueError(f"unknown access level {self.access!r}")
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template)
        self.regex = re.compile(f"^{pattern}$")


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, summary: str, access: str = "manager",
            ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method, template, handler, summary, access))
            return handler

        return register

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed = False
        for route in self.routes:
            m = route.regex.match(path)
            if m:
                if route.method == method:
                    return route, m.groupdict()
                allowed = True
        if allowed:
            raise ApiError(405, f"method {method} not allowed on {path}")
        raise ApiError(404, f"page not found: {path}")
