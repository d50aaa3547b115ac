"""The agent's Prometheus metrics (docs/observability.md#metrics): every metric's definition,
in one module that every layer may import to observe into.

The counters and histograms here belong to the process (one agent per process in
production) and sit in no registry of their own: an agent's registry (`agent_registry`)
takes them, with the process's CPU and memory and, while the node is a manager, the
manager's metrics and its view of the cluster (read at scrape time). prometheus_client's
global default registry is never used, so tests that build several agents in one process
do not clash.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

disable_created_metrics()  # no *_created series: nothing here restarts without the process

# What /metrics answers: the text format 0.0.4, which every Prometheus reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Seconds: from half a millisecond (an entry committed alone) to 10 s (a write's timeout).
_LATENCY = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            10.0)

RAFT_APPLY = Histogram(
    "swarmlet_raft_apply_latency_seconds",
    "Time from a store write's submission on this manager to its commit and apply here "
    "(group commit included).", buckets=_LATENCY, registry=None)

CONTROL_PASS = Histogram(
    "swarmlet_control_pass_duration_seconds",
    "Duration of the leader's control pass, by stage (orchestrator, updater, allocator, "
    "scheduler, attachments, reaper, write: the pass's changes written) and whole (pass).",
    ["stage"], buckets=_LATENCY, registry=None)

HEARTBEATS = Counter(
    "swarmlet_dispatcher_heartbeats",
    "Node heartbeats this manager's dispatcher received.", registry=None)

ASSIGNMENT_LATENCY = Histogram(
    "swarmlet_dispatcher_assignment_latency_seconds",
    "Time from the store write that assigned a task to a node (the task's UpdatedAt) to the "
    "dispatcher's answer to that node's poll that first carries it.",
    buckets=_LATENCY, registry=None)

DATAPLANE = Histogram(
    "swarmlet_dataplane_programming_seconds",
    "Time a network pass of this node took to program its dataplane, by what was "
    "programmed (overlays: bridges, VXLAN, FDB and neighbours; balancer: nftables or IPVS; "
    "dns; endpoints; docker_networks; cleanup).",
    ["what"], buckets=_LATENCY, registry=None)

NODE_METRICS: tuple[Collector, ...] = (DATAPLANE,)  # every node
MANAGER_METRICS: tuple[Collector, ...] = (RAFT_APPLY, CONTROL_PASS, HEARTBEATS,
                                          ASSIGNMENT_LATENCY)


class WhileManager(Collector):
    """The manager's metrics, while this node is one: `find()` gives the manager's
    collector of the cluster's state (read at scrape time), or None on a worker, which
    then shows none of them."""

    def __init__(self, find: Callable[[], Collector | None]) -> None:
        self.find = find

    def collect(self) -> Iterator[Any]:
        cluster = self.find()
        if cluster is None:
            return
        yield from cluster.collect()
        for collector in MANAGER_METRICS:
            yield from collector.collect()


def agent_registry(manager: Callable[[], Collector | None]) -> CollectorRegistry:
    """An agent's registry: the node's metrics, the process's CPU and memory
    (process_cpu_seconds_total, process_resident_memory_bytes, ...) and, while `manager()`
    gives a collector, the manager's metrics."""
    registry = CollectorRegistry()
    for collector in NODE_METRICS:
        registry.register(collector)
    ProcessCollector(registry=registry)
    registry.register(WhileManager(manager))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry in the Prometheus text format (CONTENT_TYPE)."""
    return generate_latest(registry)


@contextmanager
def timed(histogram: Any) -> Iterator[None]:
    """Observe the block's duration (monotonic seconds), also when it raises."""
    start = time.monotonic()
    try:
        yield
    finally:
        histogram.observe(time.monotonic() - start)
