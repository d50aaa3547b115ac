"""Node heartbeats and liveness (the heartbeat half of SwarmKit's manager/dispatcher).

Heartbeats go to the leader only (others answer with where the leader is) and are kept in
memory: the store is written only when a node changes between ready and down, so a quiet
cluster writes nothing. A node silent for 3 heartbeat periods is marked down; after a leader
change, every node gets 3 periods from the new leader's start, plus the time one heartbeat may
spend waiting on the dead leader, before that can happen (else a failover would mark live
nodes down and replace their tasks).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from swarmlet.manager.objects import SECOND
from swarmlet.protocol.heartbeat import GRACE_PERIODS, heartbeat_timeout
from swarmlet.store.raft import RaftStore
from swarmlet.store.state import StoreError

log = logging.getLogger("swarmlet.dispatcher")

class Liveness:
    def __init__(self, store: RaftStore, period: float) -> None:
        self.store = store
        self.period = period  # follows the cluster's Dispatcher.HeartbeatPeriod (follow_spec)
        self._last_seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._leading_since: float | None = None

    def heartbeat(self, node_id: str, addr: str) -> None:
        """Record a heartbeat; mark the node ready (with its address) if it was not."""
        with self._lock:
            self._last_seen[node_id] = time.monotonic()
        node = self.store.get("node", node_id)
        if node is None:
            return
        status = node.get("Status", {})
        if status.get("State") != "ready" or status.get("Addr") != addr:
            node["Status"] = {"State": "ready", "Addr": addr}
            self._write_node(node, f"node {node_id} is ready")

    def follow_spec(self) -> None:
        """Take up a `swarm update --dispatcher-heartbeat` (Docker applies it without a
        restart); nodes learn the new period from their next heartbeat's answer."""
        clusters = self.store.list("cluster")
        if clusters:
            period = clusters[0]["Spec"]["Dispatcher"]["HeartbeatPeriod"] / SECOND
            if period != self.period:
                log.info("heartbeat period is now %.1f s", period)
                self.period = period

    def check_liveness(self) -> None:
        """One pass of the leader's liveness loop."""
        now = time.monotonic()
        if not self.store.is_leader():
            self._leading_since = None
            return
        self.follow_spec()
        if self._leading_since is None:
            self._leading_since = now  # everyone gets a full grace period from a new leader
        ttl = self.period * GRACE_PERIODS
        since_leading = self._leading_since + heartbeat_timeout(self.period)
        for node in self.store.list("node"):
            if node.get("Status", {}).get("State") != "ready":
                continue
            with self._lock:
                seen = max(self._last_seen.get(node["ID"], 0.0), since_leading)
            if now - seen > ttl:
                node["Status"] = {**node["Status"], "State": "down",
                                  "Message": "heartbeat failure"}
                self._write_node(node, f"node {node['ID']} is down: heartbeat failure")

    def _write_node(self, node: dict[str, Any], what: str) -> None:
        try:
            self.store.write([{"op": "update", "kind": "node", "object": node}], timeout=5)
            log.info("%s", what)
        except StoreError as exc:  # a conflicting write or lost leadership: next pass decides
            log.debug("%s: not written: %s", what, exc)
