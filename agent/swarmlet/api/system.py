"""System endpoints: /_ping, /version, /info and the OpenAPI document."""

from __future__ import annotations

import os
import platform
import socket
from collections.abc import Callable
from typing import Any

from swarmlet import __version__
from swarmlet.api.openapi import openapi_document
from swarmlet.api.router import Request, Router
from swarmlet.api.server import PlainText

API_VERSION = "1.0"


def add_system_routes(router: Router, swarm_info: Callable[[], dict[str, Any]]) -> None:
    @router.add("GET", "/_ping", "Liveness check; answers OK", access="public")
    def ping(_: Request) -> PlainText:
        return PlainText("OK")

    @router.add("GET", "/version", "Versions of the agent and its API", access="public")
    def version(_: Request) -> dict[str, Any]:
        return {
            "Version": __version__,
            "ApiVersion": API_VERSION,
            "Os": platform.system().lower(),
            "Arch": platform.machine(),
            "KernelVersion": platform.release(),
        }

    @router.add("GET", "/info", "This node: hostname and swarm membership", access="local")
    def info(_: Request) -> dict[str, Any]:
        return {"Name": socket.gethostname(), "ID": "", "Pid": os.getpid(),
                "Swarm": swarm_info()}

    @router.add("GET", "/openapi.json", "This document", access="public")
    def openapi(_: Request) -> dict[str, Any]:
        return openapi_document(router)
