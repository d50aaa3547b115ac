"""The networks part of a node's assignments (the data contract with the node's dataplane):
for each network the node takes part in, the network, the node's own address on it, and
every address on it that lives on another node with that node's underlay address (static
FDB and neighbour entries are programmed from these).

A newly assigned task is held back until its node has its own address on each of the
task's networks (the node attachments are written just after the scheduler's assignment):
so a node never receives a task whose network it cannot build yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from swarmlet.manager.allocator import network_objects as N

Obj = dict[str, Any]
MEANT_TO_RUN = ("running", "ready")


def sendable(tasks: list[Obj], node: Obj | None) -> list[Obj]:
    """The node's tasks without those just assigned whose networks it has no address on
    yet (tasks it may already run are always sent: withholding one would stop it)."""
    attached = set(N.attachment_addresses((node or {}).get("Attachments")))
    return [t for t in tasks if t.get("Status", {}).get("State") != "assigned"
            or set(N.attachment_addresses(t.get("NetworksAttachments"))) <= attached]


def node_networks(node_id: str, sent: list[Obj], nodes: list[Obj], networks: list[Obj],
                  tasks: list[Obj], attachments: Sequence[Obj] = ()) -> list[Obj]:
    """The "Networks" of the node's assignments: the networks its sent tasks meant to run
    use, those of the containers attached here (dispatcher/attachments.py), plus ingress (the
    routing mesh is everywhere); each with the node's address (NodeAddress) and the Peers:
    addresses of tasks, attached containers and nodes on other nodes."""
    by_id = {n["ID"]: n for n in networks}
    me = next((n for n in nodes if n["ID"] == node_id), None)
    mine = N.attachment_addresses((me or {}).get("Attachments"))
    wanted = [n["ID"] for n in networks if N.is_ingress(n)]
    for task in sent:
        if task.get("DesiredState") in MEANT_TO_RUN:
            wanted += N.attachment_addresses(task.get("NetworksAttachments"))
    wanted += [a["NetworkID"] for a in attachments if a.get("NodeID") == node_id]
    underlay = {n["ID"]: (n.get("Status") or {}).get("Addr", "") for n in nodes}
    out = []
    for network_id in dict.fromkeys(wanted):
        if network_id not in by_id or not mine.get(network_id):
            continue  # gone, or the node has no address on it yet
        out.append({"Network": by_id[network_id], "NodeAddress": mine[network_id][0],
                    "Peers": _peers(network_id, node_id, nodes, [*tasks, *attachments],
                                    underlay)})
    return out


def _peers(network_id: str, node_id: str, nodes: list[Obj], tasks: list[Obj],
           underlay: dict[str, str]) -> list[Obj]:
    """`tasks`: tasks and attachments (both hold NetworksAttachments; an attachment has no
    Status, so it holds its addresses as long as it exists)."""
    peers = []
    for node in nodes:
        if node["ID"] != node_id and underlay.get(node["ID"]):
            for addr in N.attachment_addresses(node.get("Attachments")).get(network_id, []):
                peers.append({"IP": addr.split("/")[0], "NodeAddr": underlay[node["ID"]]})
    for task in tasks:
        other = task.get("NodeID")
        if other and other != node_id and underlay.get(other) and N.holds_addresses(task):
            for addr in N.attachment_addresses(task.get("NetworksAttachments")).get(
                    network_id, []):
                peers.append({"IP": addr.split("/")[0], "NodeAddr": underlay[other]})
    return sorted(peers, key=lambda p: tuple(int(x) for x in p["IP"].split(".")))
