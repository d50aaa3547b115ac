"""/_ping, /version and /info: dockerd's own answers, with the swarm's view in place of
dockerd's (which is not in a swarm) and the API versions this facade serves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from swarmlet import __version__
from swarmlet.api.engine import versions
from swarmlet.api.engine.answers import Answer
from swarmlet.api.engine.frontend import EngineState
from swarmlet.api.router import Request, Router
from swarmlet.api.system import API_VERSION as AGENT_API_VERSION
from swarmlet.transport.errors import HttpError

PING_HEADERS = [("Cache-Control", "no-cache, no-store, must-revalidate"), ("Pragma", "no-cache")]


def add_system_routes(router: Router, state: EngineState,
                      swarm_info: Callable[[], dict[str, Any]]) -> None:
    def swarm_header() -> str:
        """/_ping's Swarm header: "inactive", "locked", or "active/manager|worker"."""
        info = swarm_info()
        node_state = info.get("LocalNodeState", "inactive")
        if node_state != "active":
            return str(node_state)
        return "active/manager" if info.get("ControlAvailable") else "active/worker"

    for method in ("GET", "HEAD"):
        @router.add(method, "/_ping", "Liveness check and the highest API version",
                    access="public")
        def ping(_: Request) -> Answer:
            return Answer(text="OK", headers=[*PING_HEADERS, ("Swarm", swarm_header())])

    @router.add("GET", "/version", "dockerd's versions, with the API versions served here",
                access="public")
    def version(_: Request) -> dict[str, Any]:
        answer = dict(state.dockerd.get("/version"))
        answer["ApiVersion"] = state.highest()
        answer["MinAPIVersion"] = versions.ENGINE_MIN
        components = list(answer.get("Components") or [])
        components.append({"Name": "swarmlet", "Version": __version__,
                           "Details": {"ApiVersion": AGENT_API_VERSION,
                                       "EngineApiVersion": state.highest()}})
        answer["Components"] = components
        return answer

    @router.add("GET", "/info", "dockerd's system information, with the swarm's in Swarm",
                access="public")
    def info(_: Request) -> dict[str, Any]:
        try:
            answer = dict(state.dockerd.get("/info"))
        except HttpError:
            answer = {}
        answer["Swarm"] = swarm_info()
        answer["Warnings"] = [*(answer.get("Warnings") or []),
                              *answer["Swarm"].get("Warnings", [])]
        return answer
