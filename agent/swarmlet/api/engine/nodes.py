"""Docker's /nodes routes, over the manager's control API (manager/controlapi/nodes.py):
its rules and messages ("node X not found", "update out of sequence") are Docker's already;
this adds Docker's filters, the whole-spec update and TLSInfo."""

from __future__ import annotations

from typing import Any

from swarmlet.api.engine import swarm_shapes
from swarmlet.api.engine.answers import Answer
from swarmlet.api.engine.filters import parse_filters
from swarmlet.api.node_control import NodeControl
from swarmlet.api.router import Request, Router, version_param
from swarmlet.spec.engine.swarm import (
    EngineForceQuery,
    EngineSpecBody,
    EngineVersionedQuery,
    NodeListQuery,
)
from swarmlet.spec.query_models import is_true


def add_node_routes(router: Router, access: NodeControl) -> None:
    control = access.control

    def trust_root() -> str | None:
        manager = access.manager()
        return str(manager.cluster()["RootCA"]["CACert"])

    @router.add("GET", "/nodes", "Every node of the swarm (?filters=)", query=NodeListQuery)
    def node_list(request: Request) -> list[dict[str, Any]]:
        filters = parse_filters(request.query.get("filters"), swarm_shapes.NODE_FILTERS)
        matches = swarm_shapes.node_matcher(filters)
        root = trust_root()
        return [swarm_shapes.node_view(n, root) for n in control().list_nodes() if matches(n)]

    @router.add("GET", "/nodes/{id}", "One node, by ID, unique ID prefix or hostname")
    def node_inspect(request: Request) -> dict[str, Any]:
        return swarm_shapes.node_view(control().inspect_node(request.params["id"]),
                                      trust_root())

    @router.add("POST", "/nodes/{id}/update", "Replace a node's spec (?version=N)",
                body=EngineSpecBody, query=EngineVersionedQuery)
    def node_update(request: Request) -> None:
        control().update_node(request.params["id"], version_param(request),
                              swarm_shapes.node_spec(request.body))

    @router.add("DELETE", "/nodes/{id}", "Remove a node (?force=1 if it is not down)",
                query=EngineForceQuery)
    def node_remove(request: Request) -> Answer:
        control().remove_node(request.params["id"], is_true(request.query.get("force")))
        return Answer(200)
