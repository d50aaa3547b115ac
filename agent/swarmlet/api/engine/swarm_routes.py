"""The swarm's part of the facade: /swarm and /nodes (one entry for routes.py)."""

from __future__ import annotations

from swarmlet.api.engine.nodes import add_node_routes
from swarmlet.api.engine.swarm import add_swarm_routes
from swarmlet.api.node_control import NodeControl
from swarmlet.api.router import Router
from swarmlet.node.swarm import SwarmNode


def add_swarm_area(router: Router, node: SwarmNode, access: NodeControl) -> None:
    add_swarm_routes(router, node, access)
    add_node_routes(router, access)
