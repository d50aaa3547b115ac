"""/info's Swarm part, in Docker's shape (types/swarm.Info)."""

from __future__ import annotations

from typing import Any

from swarmlet.api.node_control import NodeControl
from swarmlet.node.swarm import SwarmNode
from swarmlet.transport.errors import HttpError


def swarm_info(node: SwarmNode, access: NodeControl) -> dict[str, Any]:
    mine = node.info()
    info: dict[str, Any] = {
        "NodeID": mine.get("NodeID", ""),
        "NodeAddr": mine.get("NodeAddr", ""),
        "LocalNodeState": mine.get("LocalNodeState", "inactive"),
        "ControlAvailable": bool(mine.get("ControlAvailable")),
        "Error": "",
        "RemoteManagers": None,
    }
    if not info["ControlAvailable"]:
        return info
    try:
        control = access.control()
        nodes = control.list_nodes()
        swarm = control.inspect_swarm()
    except HttpError:
        return info
    managers = [n for n in nodes if (n.get("Spec") or {}).get("Role") == "manager"]
    info["Nodes"] = len(nodes)
    info["Managers"] = len(managers)
    info["RemoteManagers"] = [{"NodeID": n["ID"],
                               "Addr": (n.get("ManagerStatus") or {}).get("Addr", "")}
                              for n in managers]
    info["Cluster"] = {k: v for k, v in swarm.items() if k != "JoinTokens"}
    return info
