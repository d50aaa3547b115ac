"""Routes of networks (managers): Docker's /networks endpoints. Registered by
add_swarm_routes with its `add` (store errors become API errors) and its way to the
manager (errors when this node is not one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from swarmlet.api.router import Request
from swarmlet.spec.answer_models import Created, Network, Plan
from swarmlet.spec.network_models import NetworkSpec
from swarmlet.spec.query_models import DryRunQuery, is_true

if TYPE_CHECKING:  # the manager's modules load when the node becomes one (node/swarm.py)
    from swarmlet.manager.controlapi.networks import NetworkAPI
    from swarmlet.manager.manager import Manager


def add_network_routes(add: Callable[..., Any], manager: Callable[[], Manager]) -> None:
    def networks() -> NetworkAPI:
        from swarmlet.manager.controlapi.networks import NetworkAPI

        return NetworkAPI(manager())

    @add("POST", "/networks/create", "Create an overlay network from a NetworkSpec (a subnet "
         "from 10.0.0.0/8 unless IPAMOptions gives one; ?dry_run=1: the plan)",
         body=NetworkSpec, query=DryRunQuery, answer=(Created, Plan))
    def network_create(request: Request) -> dict[str, Any]:
        return networks().create(request.body, dry_run=is_true(request.query.get("dry_run")))

    @add("GET", "/networks", "Every network of the swarm", answer=[Network])
    def network_list(_: Request) -> list[dict[str, Any]]:
        return networks().list()

    @add("GET", "/networks/{id}", "One network, by ID, name or unique ID prefix",
         answer=Network)
    def network_inspect(request: Request) -> dict[str, Any]:
        return networks().resolve(request.params["id"])

    @add("DELETE", "/networks/{id}", "Remove a network no service uses (?dry_run=1: the "
         "checks and the plan)", query=DryRunQuery, answer=(None, Plan))
    def network_remove(request: Request) -> dict[str, Any] | None:
        return networks().remove(request.params["id"],
                                 dry_run=is_true(request.query.get("dry_run")))
