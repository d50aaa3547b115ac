"""Docker's swarm routes (Engine API 1.41: /swarm /nodes /services /tasks /secrets
/configs), every one of them: a request for one that no handler of this facade serves is
answered 501 naming swarmlet, not 404 as a route Docker does not have would be. Handlers
come first (frontend.EngineFrontend._match), so this table never hides one; it only says
what Docker would have served here, and what swarmlet offers instead where it has it."""

from __future__ import annotations

import re

from swarmlet import __version__

# (method, path template) -> what to do instead ("" where nothing more is to say).
SWARM_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/swarm"): "",
    ("POST", "/swarm/init"): "create a swarm with `swarmlet swarm init`",
    ("POST", "/swarm/join"): "join one with `swarmlet swarm join`",
    ("POST", "/swarm/leave"): "leave with `swarmlet swarm leave`",
    ("POST", "/swarm/update"): "use `swarmlet swarm update`",
    ("GET", "/swarm/unlockkey"): "use `swarmlet swarm unlock-key`",
    ("POST", "/swarm/unlock"): "use `swarmlet swarm unlock`",
    ("GET", "/nodes"): "",
    ("GET", "/nodes/{id}"): "",
    ("DELETE", "/nodes/{id}"): "",
    ("POST", "/nodes/{id}/update"): "",
    ("GET", "/services"): "",
    ("POST", "/services/create"): "",
    ("GET", "/services/{id}"): "",
    ("DELETE", "/services/{id}"): "",
    ("POST", "/services/{id}/update"): "",
    ("GET", "/services/{id}/logs"): "",
    ("GET", "/tasks"): "",
    ("GET", "/tasks/{id}"): "",
    ("GET", "/tasks/{id}/logs"): "",
    ("GET", "/secrets"): "",
    ("POST", "/secrets/create"): "",
    ("GET", "/secrets/{id}"): "",
    ("DELETE", "/secrets/{id}"): "",
    ("POST", "/secrets/{id}/update"): "",
    ("GET", "/configs"): "",
    ("POST", "/configs/create"): "",
    ("GET", "/configs/{id}"): "",
    ("DELETE", "/configs/{id}"): "",
    ("POST", "/configs/{id}/update"): "",
}
_PATTERNS = [(method, template, re.compile("^" + re.sub(r"\{\w+\}", "[^/]+", template) + "$"))
             for method, template in SWARM_ROUTES]


def not_served(method: str, path: str) -> str | None:
    """The 501 message for a route of Docker's that swarmlet does not serve; None if Docker
    has no such route either."""
    for want, template, pattern in _PATTERNS:
        if want == method and pattern.match(path):
            return unsupported(f"{method} {template}", SWARM_ROUTES[(method, template)])
    return None


def unsupported(what: str, instead: str = "") -> str:
    text = f"{what} is not supported by swarmlet {__version__}'s Docker Engine API"
    return f"{text}: {instead}" if instead else text
