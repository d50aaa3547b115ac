"""/metrics (docs/observability.md#metrics): what a Prometheus server would read, parsed with
prometheus_client's own parser. The cluster's gauges come from a store driven by the control
pass harness (harness.py); the plain metrics_addr listener runs on loopback."""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest
from harness import Harness
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from swarmlet.api.metrics_server import MetricsServer
from swarmlet.api.results import MetricsText
from swarmlet.api.router import Request
from swarmlet.daemon.daemon import Daemon
from swarmlet.errors import SwarmletError
from swarmlet.manager.cluster_metrics import ClusterCollector
from swarmlet.manager.dispatcher.assignment_latency import newly_assigned
from swarmlet.metrics import CONTENT_TYPE, agent_registry, exposition
from swarmlet.node.config import Config, parse_config
from swarmlet.protocol.assignments import keyed
from swarmlet.transport.threads import serve_in_thread

RAFT = {"term": 7, "is_leader": True, "commit_index": 123, "applied_index": 120}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(registry: CollectorRegistry) -> Samples:
    """Every sample: (name, sorted labels) -> value, as parsed from the text format."""
    text = exposition(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def cluster_registry(h: Harness, raft: dict | None = RAFT) -> CollectorRegistry:
    return agent_registry(lambda: ClusterCollector(h.store, (lambda: raft) if raft else None))


def labelled(samples: Samples, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {labels: value for (n, labels), value in samples.items() if n == name}


def swarm() -> Harness:
    h = Harness()
    h.add_node("m1", role="manager")
    h.add_node("w1")
    h.add_node("w2")
    return h


def test_nodes_are_counted_by_state_availability_and_role():
    h = swarm()
    h.drain("w1")
    h.mark_down("w2")
    nodes = labelled(scrape(cluster_registry(h)), "swarmlet_nodes")
    assert nodes == {
        (("availability", "active"), ("role", "manager"), ("state", "ready")): 1,
        (("availability", "drain"), ("role", "worker"), ("state", "ready")): 1,
        (("availability", "active"), ("role", "worker"), ("state", "down")): 1,
    }


def test_replicas_and_tasks_by_state_follow_the_services():
    h = swarm()
    h.add_service("web", replicas=2)
    h.add_service("agent", mode="global")
    h.run_pass()  # assigned, not started yet
    samples = scrape(cluster_registry(h))
    assert labelled(samples, "swarmlet_tasks") == {
        (("service", "agent"), ("state", "assigned")): 3,
        (("service", "web"), ("state", "assigned")): 2,
    }
    assert labelled(samples, "swarmlet_service_running_replicas") == {
        (("service", "agent"),): 0, (("service", "web"),): 0}
    h.run_to_fixed_point()
    samples = scrape(cluster_registry(h))
    desired = labelled(samples, "swarmlet_service_desired_replicas")
    running = labelled(samples, "swarmlet_service_running_replicas")
    assert desired == running == {(("service", "agent"),): 3, (("service", "web"),): 2}
    assert labelled(samples, "swarmlet_tasks") == {
        (("service", "agent"), ("state", "running")): 3,
        (("service", "web"), ("state", "running")): 2,
    }
    h.drain("w1")  # a global service wants the eligible nodes only
    h.run_to_fixed_point()
    samples = scrape(cluster_registry(h))
    assert labelled(samples, "swarmlet_service_desired_replicas")[(("service", "agent"),)] == 2
    assert labelled(samples, "swarmlet_tasks")[(("service", "web"), ("state", "shutdown"))] == 1


def test_raft_gauges_come_from_the_raft_status():
    samples = scrape(cluster_registry(swarm()))
    assert samples[("swarmlet_raft_term", ())] == 7
    assert samples[("swarmlet_raft_leader", ())] == 1
    assert samples[("swarmlet_raft_commit_index", ())] == 123
    assert samples[("swarmlet_raft_applied_index", ())] == 120
    without = scrape(cluster_registry(swarm(), raft=None))
    assert ("swarmlet_raft_term", ()) not in without


def test_control_passes_are_timed_by_stage():
    h = swarm()
    registry = cluster_registry(h)

    def passes(stage: str) -> float:
        return scrape(registry)[("swarmlet_control_pass_duration_seconds_count",
                                 (("stage", stage),))]

    before = {stage: passes(stage) for stage in ("pass", "scheduler", "write")}
    h.add_service("web", replicas=2)
    h.run_pass()
    assert {stage: passes(stage) - before[stage] for stage in before} == {
        "pass": 1, "scheduler": 1, "write": 1}


def test_a_worker_shows_the_process_and_its_dataplane_but_no_cluster():
    registry = agent_registry(lambda: None)  # no manager on this node
    samples = scrape(registry)
    assert samples[("process_resident_memory_bytes", ())] > 0
    assert ("process_cpu_seconds_total", ()) in samples
    families = {f.name for f in text_string_to_metric_families(exposition(registry).decode())}
    assert "swarmlet_dataplane_programming_seconds" in families
    assert not [n for n in families if n.startswith(("swarmlet_nodes", "swarmlet_raft",
                                                     "swarmlet_control", "swarmlet_dispatcher",
                                                     "swarmlet_tasks", "swarmlet_service"))]


def test_agents_in_one_process_each_have_their_registry(tmp_path: Path):
    daemons = [Daemon(Config(data_dir=tmp_path / name, socket=tmp_path / f"{name}.sock"))
               for name in ("a", "b")]
    assert daemons[0].metrics is not daemons[1].metrics
    route, _ = daemons[1].router.match("GET", "/metrics")
    assert route.access == "node"  # any certificate of the swarm, and the unix socket
    answer = route.handler(Request("GET", "/metrics", {}, {}, None, True))
    assert isinstance(answer, MetricsText)
    assert answer.content_type == "text/plain; version=0.0.4; charset=utf-8"
    names = {f.name for f in text_string_to_metric_families(answer)}
    assert "process_resident_memory_bytes" in names


def test_an_assignment_is_timed_from_the_write_that_assigned_it():
    def task(task_id: str, state: str, at: str) -> dict:
        return {"ID": task_id, "UpdatedAt": at, "Status": {"State": state}}

    at = "2026-12-06T10:00:00.250000Z"
    held = keyed({"Tasks": [task("old", "assigned", at)]})
    new = keyed({"Tasks": [task("old", "assigned", at), task("new", "assigned", at),
                           task("ran", "running", at)]})
    assert newly_assigned(held, new) == [pytest.approx(1796551200.25)]
    assert len(newly_assigned(None, new)) == 2  # a complete set: all that is still ASSIGNED


def test_the_metrics_addr_serves_only_get_metrics():
    server = MetricsServer(("127.0.0.1", 0), agent_registry(lambda: None))
    serve_in_thread(server, "metrics-test")
    try:
        port = server.server_address[1]

        def get(path: str) -> tuple[int, str, str]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            answer = conn.getresponse()
            body = answer.read().decode()
            conn.close()
            return answer.status, answer.getheader("Content-Type") or "", body

        status, content_type, body = get("/metrics")
        assert (status, content_type) == (200, CONTENT_TYPE)
        rss = [s.value for f in text_string_to_metric_families(body) for s in f.samples
               if s.name == "process_resident_memory_bytes"]
        assert rss and rss[0] > 0
        assert get("/")[0] == 404
        assert get("/metrics/x")[0] == 404
    finally:
        server.shutdown()
        server.server_close()


def test_metrics_addr_is_off_by_default_and_checked():
    assert Config().metrics_host_port is None
    assert parse_config({"metrics_addr": "127.0.0.1"}).metrics_host_port == ("127.0.0.1", 9323)
    assert parse_config({"metrics_addr": "198.18.0.2:9100"}).metrics_host_port == \
        ("198.18.0.2", 9100)
    with pytest.raises(SwarmletError, match="invalid address"):
        parse_config({"metrics_addr": "localhost:9323"})
