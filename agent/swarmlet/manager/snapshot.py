"""One consistent view of the store for a pass of the leader's loops, with the indexes the
orchestrators need. Loops read a snapshot and return store changes; they never write.

A snapshot also collects the pass's failures (failures.py): a stage that cannot process one
object calls `guard`, which keeps the failure against that object and lets the stage go on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from swarmlet.manager.orchestrator.failures import Failure, Failures, guard
from swarmlet.manager.orchestrator.fields import FieldError, check_task, number, whole_number
from swarmlet.spec.service import SECOND

DEFAULT_RETENTION = 5  # Docker's TaskHistoryRetentionLimit
R = TypeVar("R")


class StoreReader(Protocol):
    def list(self, kind: str) -> list[dict]: ...


@dataclass
class Snapshot:
    services: dict[str, dict[str, Any]]
    nodes: dict[str, dict[str, Any]]
    tasks: list[dict[str, Any]]
    retention: int = DEFAULT_RETENTION
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    attachments: list[dict[str, Any]] = field(default_factory=list)  # dispatcher/attachments.py
    cluster: dict[str, Any] | None = None
    failures: Failures = field(default_factory=Failures)
    # task ID → why the task does not read (fields.check_task), found once per snapshot
    unreadable: dict[str, str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        for task in self.tasks:
            try:
                check_task(task)
            except FieldError as exc:
                self.unreadable[task["ID"]] = str(exc)
                self.failures.add(Failure("task", task["ID"], "snapshot", str(exc)))

    @classmethod
    def read(cls, store: StoreReader) -> Snapshot:
        clusters = store.list("cluster")
        snap = cls({s["ID"]: s for s in store.list("service")},
                   {n["ID"]: n for n in store.list("node")}, store.list("task"),
                   networks={n["ID"]: n for n in store.list("network")},
                   attachments=store.list("attachment"),
                   cluster=clusters[0] if clusters else None)
        if snap.cluster is not None:
            cluster = snap.cluster
            snap.retention = snap.guard("snapshot", "cluster", cluster,
                                        lambda: retention_of(cluster), DEFAULT_RETENTION)
        return snap

    def guard(self, stage: str, kind: str, obj: Any, step: Callable[[], R], fallback: R) -> R:
        """`step()` for one object of a stage; a failure stays with `obj` (failures.py).
        A task that does not read is not tried (its error, naming the field, is kept)."""
        if kind == "task" and obj.get("ID") in self.unreadable:
            return fallback
        return guard(self.failures, stage, kind, obj, step, fallback)

    def readable_tasks(self) -> list[dict[str, Any]]:
        """The tasks the stages can read; the others keep their error and are left out."""
        if not self.unreadable:
            return self.tasks
        return [t for t in self.tasks if t["ID"] not in self.unreadable]

    def tasks_by_service(self) -> dict[str, list[dict[str, Any]]]:
        """The readable tasks by service (a slot whose task does not read gets a new one;
        the old one is told to stop once it reads again)."""
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for task in self.readable_tasks():
            grouped[task["ServiceID"]].append(task)
        return grouped

    def node_usable(self, node_id: str) -> bool:
        """Whether tasks may keep running on the node: it exists, is not down, not drained.
        A node whose Status or Spec does not read counts as usable: nothing is replaced on
        the strength of a field the manager cannot read."""
        node = self.nodes.get(node_id)
        return bool(node) and _part(node, "Status").get("State") != "down" and \
            _part(node, "Spec").get("Availability") != "drain"

    def node_down(self, node_id: str) -> bool:
        node = self.nodes.get(node_id)
        return node is None or _part(node, "Status").get("State") == "down"

    def seconds_since(self, timestamp: str) -> float:
        try:
            then = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        except (TypeError, ValueError):
            return float("inf")
        return (self.now - then).total_seconds()


def _part(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def retention_of(cluster: dict[str, Any]) -> int:
    """The cluster's TaskHistoryRetentionLimit; FieldError (saying the default applies) when
    it does not read as a whole number."""
    where = "Spec.Orchestration.TaskHistoryRetentionLimit"
    try:
        orchestration = _part(_part(cluster, "Spec"), "Orchestration")
        value = orchestration.get("TaskHistoryRetentionLimit")
        return DEFAULT_RETENTION if value is None else whole_number(value, where)
    except FieldError as exc:
        raise FieldError(f"{exc}; the default, {DEFAULT_RETENTION}, applies") from None


def nanos_to_seconds(value: int | float | None, where: str = "duration") -> float:
    return number(value or 0, where) / SECOND
