"""Node heartbeats and liveness (the heartbeat half of SwarmKit's manager/dispatcher).

Heartbeats go to the leader only (others answer with where the leader is) and are kept in
memory: the store is written only when a node changes between ready and down, so a quiet
cluster writes nothing. A node silent for longer than protocol/heartbeat.down_after(period)
is marked down (one that said it is restarting: restart_grace); after a leader change, every
node gets that long from the new leader's start, plus the time one beat may spend waiting
on the dead leader, before that can happen (else a failover would mark live nodes down and
replace their tasks).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from swarmlet.manager.objects import SECOND
from swarmlet.protocol.heartbeat import (
    beat_interval,
    down_after,
    heartbeat_timeout,
    restart_grace,
)
from swarmlet.store.raft import RaftStore
from swarmlet.store.state import StoreError

log = logging.getLogger("swarmlet.dispatcher")

def ready_update(node: dict[str, Any] | None, addr: str) -> dict[str, Any] | None:
    """The node marked ready at `addr`, if a heartbeat from there changes it; else None."""
    if node is None:
        return None
    status = node.get("Status", {})
    if status.get("State") == "ready" and status.get("Addr") == addr:
        return None
    return {**node, "Status": {"State": "ready", "Addr": addr}}


class Liveness:
    def __init__(self, store: RaftStore, period: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.period = period  # follows the cluster's Dispatcher.HeartbeatPeriod (follow_spec)
        self.clock = clock
        self._last_seen: dict[str, float] = {}
        self._restarting: dict[str, float] = {}  # node -> until when it may be silent
        self._lock = threading.Lock()
        self._leading_since: float | None = None

    def interval(self) -> float:
        """How often nodes are to beat now (the heartbeat's answer says it)."""
        return beat_interval(self.period, len(self._last_seen))

    def heartbeat(self, node_id: str, addr: str, restarting: bool = False) -> None:
        """Record a heartbeat; mark the node ready (with its address) if it was not."""
        self.seen(node_id, restarting)
        if restarting:
            return
        update = ready_update(self.store.peek("node", node_id), addr)
        if update is not None:
            self._write_node(update, f"node {node_id} is ready")

    def seen(self, node_id: str, restarting: bool = False) -> None:
        """The in-memory half of a heartbeat (no store write)."""
        now = self.clock()
        with self._lock:
            self._last_seen[node_id] = now
            if restarting:
                self._restarting[node_id] = now + restart_grace(self.period)
            else:
                self._restarting.pop(node_id, None)
        if restarting:
            log.info("node %s is restarting its agent", node_id)

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
        now = self.clock()
        if not self.store.leads():  # cut off, or not leading: no node is judged from here
            self._leading_since = None
            return
        if self._leading_since is None:
            self._leading_since = now  # everyone gets a full grace period from a new leader
        self.follow_spec()
        nodes = self.store.view(["node"])[1]["node"]  # not copied: read-only
        silent_for = down_after(self.period, len(nodes))
        since_leading = self._leading_since + heartbeat_timeout(self.period) + \
            beat_interval(self.period, len(nodes))
        for node in nodes:
            if node.get("Status", {}).get("State") != "ready":
                continue
            with self._lock:
                # A node just joined is ready before its first beat: its time starts when
                # this loop first sees it (else every join cost a Down and a Ready).
                first = self._last_seen.setdefault(node["ID"], now)
                seen = max(first, since_leading)
                grace = self._restarting.get(node["ID"], 0.0)
            if now - seen > silent_for and now > grace:
                node = {**node, "Status": {**node["Status"], "State": "down",
                                           "Message": "heartbeat failure"}}
                self._write_node(node, f"node {node['ID']} is down: heartbeat failure")

    def _write_node(self, node: dict[str, Any], what: str) -> None:
        try:
            self.store.write([{"op": "update", "kind": "node", "object": node}], timeout=5)
            log.info("%s", what)
        except StoreError as exc:  # a conflicting write or lost leadership: next pass decides
            log.debug("%s: not written: %s", what, exc)
