"""The Engine API's routes: one Router, filled by each part of the facade."""

from __future__ import annotations

from swarmlet.api.engine.data import add_data_routes
from swarmlet.api.engine.events import add_events_route
from swarmlet.api.engine.frontend import EngineState
from swarmlet.api.engine.networks import add_network_routes
from swarmlet.api.engine.services import add_service_routes
from swarmlet.api.engine.swarm_info import swarm_info
from swarmlet.api.engine.swarm_routes import add_swarm_area
from swarmlet.api.engine.system import add_system_routes
from swarmlet.api.node_control import NodeControl
from swarmlet.api.router import Router
from swarmlet.node.swarm import SwarmNode


def engine_router(node: SwarmNode, state: EngineState) -> None:
    """Fill state.router with every route of the facade."""
    router: Router = state.router
    access = NodeControl(node, cli="docker")
    add_system_routes(router, state, lambda: swarm_info(node, access))
    add_swarm_area(router, node, access)
    add_service_routes(router, access)
    add_data_routes(router, access)
    add_network_routes(router, access, state)
    add_events_route(router, access, state)
