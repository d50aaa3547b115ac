"""Routes of networks (managers): Docker's /networks endpoints. Registered by
add_swarm_routes with its `add` (store errors become API errors) and its way to the
manager (errors when this node is not one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from swarmlet.api.router import Request
from swarmlet.manager.controlapi_networks import NetworkAPI
from swarmlet.manager.manager import Manager


def add_network_routes(add: Callable[..., Any], manager: Callable[[], Manager]) -> None:
    def networks() -> NetworkAPI:
        return NetworkAPI(manager())

    @add("POST", "/networks/create", "Create an overlay network from a NetworkSpec (a subnet "
         "from 10.0.0.0/8 unless IPAMOptions gives one)")
    def network_create(request: Request) -> dict[str, str]:
        return networks().create(request.body)

    @add("GET", "/networks", "Every network of the swarm")
    def network_list(_: Request) -> list[dict[str, Any]]:
        return networks().list()

    @add("GET", "/networks/{id}", "One network, by ID, name or unique ID prefix")
    def network_inspect(request: Request) -> dict[str, Any]:
        return networks().resolve(request.params["id"])

    @add("DELETE", "/networks/{id}", "Remove a network no service uses")
    def network_remove(request: Request) -> None:
        networks().remove(request.params["id"])
