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
from swarmlet.protocol.tasks import MEANT_TO_RUN

Obj = dict[str, Any]


def sendable(tasks: list[Obj], node: Obj | None) -> list[Obj]:
    """The node's tasks without those just assigned whose networks it has no address on
    yet (tasks it may already run are always sent: withholding one would stop it)."""
    attached = set(N.attachment_addresses((node or {}).get("Attachments")))
    return [t for t in tasks if t.get("Status", {}).get("State") != "assigned"
            or set(N.attachment_addresses(t.get("NetworksAttachments"))) <= attached]


class PeerIndex:
    """What every node's Networks section is made of, built once per view and shared by all
    the nodes' answers: each node's underlay address, and per network every address on it
    with the node it lives on. A node's peers are then that list without its own: in a
    swarm of thousands, O(addresses) per node instead of O(nodes + tasks)."""

    def __init__(self, nodes: list[Obj], tasks: Sequence[Obj],
                 attachments: Sequence[Obj] = (), previous: PeerIndex | None = None) -> None:
        self.nodes = nodes
        self.nodes_by_id = {n["ID"]: n for n in nodes}
        self.underlay = {n["ID"]: (n.get("Status") or {}).get("Addr", "") for n in nodes}
        self.holders = [*tasks, *attachments]  # both hold NetworksAttachments
        self._peers: dict[str, list[tuple[str, Obj]]] = {}
        self._mine: dict[tuple[str, str], list[Obj]] = {}
        # The previous view's index: a network whose peers did not change keeps the very same
        # lists, so comparing a node's new Networks with what it was sent costs nothing.
        self._previous = previous
        if previous is not None:
            previous._previous = None  # one step back only: no chain of every view

    def peers(self, network_id: str, node_id: str) -> list[Obj]:
        mine = self._mine.get((network_id, node_id))
        if mine is None:
            every = self._peers.get(network_id)
            if every is None:
                every = self._peers[network_id] = self._every_peer(network_id)
            old = self._previous
            if old is not None and old._peers.get(network_id) is every:
                mine = old._mine.get((network_id, node_id))
            if mine is None:
                mine = [peer for owner, peer in every if owner != node_id]
            self._mine[(network_id, node_id)] = mine
        return mine

    def _every_peer(self, network_id: str) -> list[tuple[str, Obj]]:
        found = self._every_peer_computed(network_id)
        old = self._previous._peers.get(network_id) if self._previous is not None else None
        return old if old == found else found

    def _every_peer_computed(self, network_id: str) -> list[tuple[str, Obj]]:
        """(owner node, peer) of every address on the network, by IP. An attachment has no
        Status, so it holds its addresses as long as it exists."""
        found = []
        for node in self.nodes:
            if self.underlay.get(node["ID"]):
                for addr in N.attachment_addresses(node.get("Attachments")).get(network_id, []):
                    found.append((node["ID"], {"IP": addr.split("/")[0],
                                               "NodeAddr": self.underlay[node["ID"]]}))
        for task in self.holders:
            owner = task.get("NodeID")
            if owner and self.underlay.get(owner) and N.holds_addresses(task):
                for addr in N.attachment_addresses(task.get("NetworksAttachments")).get(
                        network_id, []):
                    found.append((owner, {"IP": addr.split("/")[0],
                                          "NodeAddr": self.underlay[owner]}))
        return sorted(found, key=lambda p: tuple(int(x) for x in p[1]["IP"].split(".")))


def node_networks(node_id: str, sent: list[Obj], nodes: list[Obj], networks: list[Obj],
                  tasks: list[Obj], attachments: Sequence[Obj] = (),
                  index: PeerIndex | None = None) -> list[Obj]:
    """The "Networks" of the node's assignments: the networks its sent tasks meant to run
    use, those of the containers attached here (dispatcher/attachments.py), plus ingress (the
    routing mesh is everywhere); each with the node's address (NodeAddress) and the Peers:
    addresses of tasks, attached containers and nodes on other nodes. `index`: the view's
    PeerIndex of these nodes, tasks and attachments (made here if not given)."""
    index = index or PeerIndex(nodes, tasks, attachments)
    by_id = {n["ID"]: n for n in networks}
    mine = N.attachment_addresses((index.nodes_by_id.get(node_id) or {}).get("Attachments"))
    wanted = [n["ID"] for n in networks if N.is_ingress(n)]
    for task in sent:
        if task.get("DesiredState") in MEANT_TO_RUN:
            wanted += N.attachment_addresses(task.get("NetworksAttachments"))
    wanted += [a["NetworkID"] for a in attachments if a.get("NodeID") == node_id]
    out = []
    for network_id in dict.fromkeys(wanted):
        if network_id not in by_id or not mine.get(network_id):
            continue  # gone, or the node has no address on it yet
        out.append({"Network": by_id[network_id], "NodeAddress": mine[network_id][0],
                    "Peers": index.peers(network_id, node_id)})
    return out
