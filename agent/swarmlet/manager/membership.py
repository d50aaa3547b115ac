"""Raft membership follows the managers (SwarmKit's role manager): a node joining with the
manager token, or promoted, is added to Raft by the manager that issues its manager
certificate, before it starts its own replica; a demoted manager is removed by the leader's
role loop (the leader hands over first if it is the one demoted). Also where the managers
and the leader are, as nodes are told."""

from __future__ import annotations

import logging
from typing import Any

from swarmlet.ca.identity import WORKER
from swarmlet.store.raft import RaftStore

log = logging.getLogger("swarmlet.manager")


class Membership:
    def __init__(self, store: RaftStore, node_id: str) -> None:
        self.store = store
        self.node_id = node_id
        self._cached: tuple[int, list[tuple[str, str]]] | None = None

    def admit(self, raft_addr: str) -> None:
        if raft_addr not in self.store.members():
            self.store.add_member(raft_addr)

    @property
    def api_addr(self) -> str:
        """This manager's cluster API address, as other nodes reach it."""
        node = self.store.get("node", self.node_id) or {}
        return (node.get("ManagerStatus") or {}).get("Addr", "")

    def _managers(self) -> list[tuple[str, str]]:
        """(API address, Raft address) of every manager, read once per store index: every
        heartbeat's answer names the managers, and a swarm has thousands of nodes."""
        cached = self._cached
        if cached is None or cached[0] != self.store.index:
            index, objects = self.store.view(["node"])
            statuses = [n["ManagerStatus"] for n in objects["node"] if n.get("ManagerStatus")]
            cached = self._cached = (index, sorted((s["Addr"], s.get("RaftAddr", ""))
                                                   for s in statuses))
        return cached[1]

    def manager_addrs(self) -> list[str]:
        return [addr for addr, _ in self._managers()]

    def leader_api_addr(self) -> str | None:
        leader = self.store.leader()
        return next((addr for addr, raft in self._managers() if raft == leader), None)

    def reconcile_demotions(self) -> None:
        """Managers whose desired role is worker leave Raft; their node loses ManagerStatus."""
        for stored in self.store.view(["node"])[1]["node"]:  # not copied: every tick
            status: dict[str, Any] | None = stored.get("ManagerStatus")
            if stored["Spec"]["Role"] != WORKER or not status:
                continue
            node = dict(stored)
            raft_addr = status["RaftAddr"]
            if raft_addr in self.store.members():
                log.info("demoting %s: removing %s from raft", node["ID"], raft_addr)
                self.store.remove_member(raft_addr)
            del node["ManagerStatus"]
            self.store.write([{"op": "update", "kind": "node", "object": node}])
