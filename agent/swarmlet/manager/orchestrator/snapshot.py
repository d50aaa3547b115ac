"""One consistent view of the store for a pass of the leader's loops, with the indexes the
orchestrators need. Loops read a snapshot and return store changes; they never write."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from swarmlet.manager.services import SECOND
from swarmlet.store.raft import RaftStore


@dataclass
class Snapshot:
    services: dict[str, dict[str, Any]]
    nodes: dict[str, dict[str, Any]]
    tasks: list[dict[str, Any]]
    retention: int = 5
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    attachments: list[dict[str, Any]] = field(default_factory=list)  # network_attachments.py

    @classmethod
    def read(cls, store: RaftStore) -> Snapshot:
        clusters = store.list("cluster")
        retention = 5
        if clusters:
            retention = clusters[0]["Spec"].get("Orchestration", {}).get(
                "TaskHistoryRetentionLimit", 5)
        return cls({s["ID"]: s for s in store.list("service")},
                   {n["ID"]: n for n in store.list("node")}, store.list("task"), retention,
                   networks={n["ID"]: n for n in store.list("network")},
                   attachments=store.list("attachment"))

    def tasks_by_service(self) -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for task in self.tasks:
            grouped[task["ServiceID"]].append(task)
        return grouped

    def node_usable(self, node_id: str) -> bool:
        """Whether tasks may keep running on the node: it exists, is not down, not drained."""
        node = self.nodes.get(node_id)
        return bool(node) and node["Status"].get("State") != "down" and \
            node["Spec"].get("Availability") != "drain"

    def node_down(self, node_id: str) -> bool:
        node = self.nodes.get(node_id)
        return node is None or node["Status"].get("State") == "down"

    def seconds_since(self, timestamp: str) -> float:
        try:
            then = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        except (TypeError, ValueError):
            return float("inf")
        return (self.now - then).total_seconds()


def nanos_to_seconds(value: int | float | None) -> float:
    return (value or 0) / SECOND
