"""The cluster's gauges for /metrics (docs/observability.md#metrics), read at scrape time from
this manager's replica of the store: one view of nodes, services and tasks (shared, not
copied), and the Raft status. Nothing polls between scrapes.

Every manager answers from its own replica, a follower too (its view may lag the leader's
by the entries it has not applied yet); `swarmlet_raft_leader` says which one leads.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from swarmlet.manager.controlapi.service_status import service_status
from swarmlet.protocol.tasks import state_of
from swarmlet.store.state import View

Obj = dict[str, Any]


class StoreReader(Protocol):
    def view(self, kinds: Iterable[str] | None = None) -> View: ...


class ClusterCollector(Collector):
    """`raft_status()` is RaftStore.status() (term, is_leader, commit_index); None (an
    in-memory store) leaves the Raft gauges out."""

    def __init__(self, store: StoreReader,
                 raft_status: Callable[[], dict[str, Any]] | None = None) -> None:
        self.store = store
        self.raft_status = raft_status

    def collect(self) -> Iterator[GaugeMetricFamily]:
        _, objects = self.store.view(["node", "service", "task"])
        yield nodes_metric(objects["node"])
        yield from service_metrics(objects["service"], objects["task"])
        if self.raft_status is not None:
            yield from raft_metrics(self.raft_status())


def nodes_metric(nodes: list[Obj]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "swarmlet_nodes", "Nodes of the swarm by state (Status.State), availability and role "
        "(Spec); only the combinations that have nodes.",
        labels=["state", "availability", "role"])
    counts = Counter(((n.get("Status") or {}).get("State", "unknown"),
                      (n.get("Spec") or {}).get("Availability", "active"),
                      (n.get("Spec") or {}).get("Role", "worker")) for n in nodes)
    for labels, count in sorted(counts.items()):
        family.add_metric(list(labels), count)
    return family


def service_metrics(services: list[Obj], tasks: list[Obj]) -> Iterator[GaugeMetricFamily]:
    by_service: dict[str, list[Obj]] = defaultdict(list)
    for task in tasks:
        by_service[str(task.get("ServiceID", ""))].append(task)
    names = {s["ID"]: s["Spec"].get("Name", s["ID"]) for s in services}
    states = GaugeMetricFamily(
        "swarmlet_tasks", "Tasks in the store (history kept by the retention limit included) "
        "by service name and state; only the combinations that have tasks.",
        labels=["service", "state"])
    counts = Counter((names.get(service_id, service_id), state_of(task))
                     for service_id, found in by_service.items() for task in found)
    for labels, count in sorted(counts.items()):
        states.add_metric(list(labels), count)
    yield states
    desired = GaugeMetricFamily(
        "swarmlet_service_desired_replicas", "Tasks a service wants running, as `service ls` "
        "counts them: Replicas; for a global service the tasks meant to run (one per "
        "eligible node); for a job, its concurrency.", labels=["service"])
    running = GaugeMetricFamily(
        "swarmlet_service_running_replicas", "Tasks of a service running and meant to run, "
        "as `service ls` counts them.", labels=["service"])
    for service in sorted(services, key=lambda s: names[s["ID"]]):
        status = service_status(service, by_service.get(service["ID"], []))
        desired.add_metric([names[service["ID"]]], status["DesiredTasks"])
        running.add_metric([names[service["ID"]]], status["RunningTasks"])
    yield desired
    yield running


def raft_metrics(status: dict[str, Any]) -> Iterator[GaugeMetricFamily]:
    yield GaugeMetricFamily("swarmlet_raft_term", "This manager's current Raft term.",
                            value=status["term"])
    yield GaugeMetricFamily("swarmlet_raft_leader", "1 if this manager is the Raft leader.",
                            value=1 if status["is_leader"] else 0)
    yield GaugeMetricFamily("swarmlet_raft_commit_index", "The highest Raft log index this "
                            "manager knows committed.", value=status["commit_index"])
    yield GaugeMetricFamily("swarmlet_raft_applied_index", "The highest Raft log index "
                            "applied to this manager's replica.", value=status["applied_index"])
