"""The way from a route to this node's manager, with the errors Docker gives when there is
none: not in a swarm, locked (autolock), or a worker. Both APIs use it (api/swarm.py, the
agent's own; api/engine/, Docker's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from swarmlet.node.swarm import SwarmNode
from swarmlet.transport.errors import HttpError

if TYPE_CHECKING:  # the manager's modules load when the node becomes one (node/swarm.py)
    from swarmlet.manager.controlapi.networks import NetworkAPI
    from swarmlet.manager.controlapi.nodes import ControlAPI
    from swarmlet.manager.controlapi.services import ServiceAPI
    from swarmlet.manager.manager import Manager

NOT_A_MANAGER = ("This node is not a swarm manager. Worker nodes can't be used to view or "
                 "modify cluster state. Please run this command on a manager node or promote "
                 "the current node to a manager.")
LOCKED = ('Swarm is encrypted and needs to be unlocked before it can be used. Please use '
          '"swarmlet swarm unlock" to unlock it.')
INACTIVE = ('This node is not a swarm manager. Use "swarmlet swarm init" or "swarmlet swarm '
            'join" to connect this node to swarm and try again.')


class NodeControl:
    def __init__(self, node: SwarmNode, cli: str = "swarmlet") -> None:
        self.node = node
        # Docker's texts name the command to run: "docker swarm init" on the Engine API.
        self.inactive = INACTIVE.replace("swarmlet", cli)
        self.locked = LOCKED.replace("swarmlet", cli)

    def control(self) -> ControlAPI:
        node = self.node
        if node.state is None:
            raise HttpError(503, self.inactive)
        if node.locked:
            raise HttpError(503, self.locked)
        if node.control is None:
            raise HttpError(503, NOT_A_MANAGER)
        return node.control

    def manager(self) -> Manager:
        self.control()
        assert self.node.manager is not None
        return self.node.manager

    def services(self) -> ServiceAPI:
        from swarmlet.manager.controlapi.services import ServiceAPI

        return ServiceAPI(self.manager())

    def networks(self) -> NetworkAPI:
        from swarmlet.manager.controlapi.networks import NetworkAPI

        return NetworkAPI(self.manager())
