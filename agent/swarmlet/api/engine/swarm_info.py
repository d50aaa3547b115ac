"""/info's Swarm part, in Docker's shape (types/swarm.Info), as `docker info` prints it: on
every node its ID, address and the managers it knows; on a manager also the cluster, the
node and manager counts."""

from __future__ import annotations

from typing import Any

from swarmlet.api.engine.swarm_shapes import swarm_view
from swarmlet.api.node_control import NodeControl
from swarmlet.errors import SwarmletError
from swarmlet.node.swarm import SwarmNode
from swarmlet.transport.errors import HttpError

# Docker's words (daemon/cluster/swarm.go), line breaks included: `docker info` prints them.
TWO_MANAGERS = """WARNING: Running Swarm in a two-manager configuration. This configuration provides
         no fault tolerance, and poses a high risk to lose control over the cluster.
         Refer to https://docs.docker.com/engine/swarm/admin_guide/ to configure the
         Swarm for fault-tolerance."""


def swarm_info(node: SwarmNode, access: NodeControl) -> dict[str, Any]:
    mine = node.info()
    info: dict[str, Any] = {
        "NodeID": mine.get("NodeID", ""),
        "NodeAddr": mine.get("NodeAddr", ""),
        "LocalNodeState": mine.get("LocalNodeState", "inactive"),
        "ControlAvailable": bool(mine.get("ControlAvailable")),
        "Error": "",
        # A worker knows its managers' addresses, not their IDs.
        "RemoteManagers": [{"NodeID": "", "Addr": addr}
                           for addr in mine.get("RemoteManagers") or []] or None,
    }
    if not info["ControlAvailable"]:
        return info
    try:
        control = access.control()
        nodes = control.list_nodes()
        swarm = control.inspect_swarm()
    except (HttpError, SwarmletError) as exc:  # no leader, no quorum: /info answers still
        info["Error"] = exc.message if isinstance(exc, HttpError) else str(exc)
        return info
    # Docker counts the Raft members: the nodes with a ManagerStatus.
    managers = [n for n in nodes if n.get("ManagerStatus")]
    info["Nodes"] = len(nodes)
    info["Managers"] = len(managers)
    info["RemoteManagers"] = [{"NodeID": n["ID"], "Addr": n["ManagerStatus"].get("Addr", "")}
                              for n in managers]
    info["Cluster"] = {k: v for k, v in swarm_view(swarm).items() if k != "JoinTokens"}
    if len(managers) == 2:  # /info adds it to its own Warnings, as dockerd's does
        info["Warnings"] = [TWO_MANAGERS]
    return info
