"""GET /metrics on real agents (docs/observability.md#metrics), read as Prometheus would and
parsed with prometheus_client's parser: on the manager's unix socket, and on its cluster port
over mutual TLS with an operator's client certificate or a worker's node certificate (none:
401). A service of 2 replicas shows in the gauges. The shared swarm is left as found."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from swarm_cluster import (
    SHARED_MANAGER,
    SHARED_WORKERS,
    Cluster,
    eventually,
    shared_cluster,  # noqa: F401 (a fixture)
)

MANAGER, (W1, _W2) = SHARED_MANAGER, SHARED_WORKERS
IMAGE = "swarmlet/demo:latest"
SERVICE = "mt-web"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SOCKET_SCRAPE = ("curl -sS --fail-with-body --unix-socket /run/swarmlet/swarmlet.sock "
                 "http://localhost/metrics")

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parsed(text: str) -> Samples:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples that carry `labels`."""
    return sum(value for (n, found), value in samples.items()
               if n == name and set(labels.items()) <= set(found))


@pytest.fixture(scope="module")
def cluster(shared_cluster):  # noqa: F811 (the fixture imported above)
    return shared_cluster


@pytest.fixture(scope="module")
def certs(cluster: Cluster, tmp_path_factory) -> dict[str, Path]:
    """An operator's client certificate (from the manager) and a worker's node
    certificate, copied out of the machines as files (ca, cert, key)."""
    base = tmp_path_factory.mktemp("metrics-certs")
    client, worker = base / "client", base / "worker"
    cluster.cli(MANAGER, f"swarm ca client-cert --out {client}")
    worker.mkdir()
    cluster.run(W1, f"cp /var/lib/swarmlet/certificates/swarm-node.crt "
                    f"/var/lib/swarmlet/certificates/swarm-node.key {worker}/")
    return {"ca": client / "ca.pem", "client": client, "worker": worker}


class _ManagerConnection(http.client.HTTPSConnection):
    """Checks the manager's certificate against the name every manager's carries, its role
    (docs/observability.md's scrape_config: `server_name: swarm-manager`)."""

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname="swarm-manager")


def tls_get(cluster: Cluster, ca: Path, cert: Path | None = None,
            key: Path | None = None) -> tuple[int, str, str]:
    """GET /metrics on the manager's cluster port: (status, content type, body)."""
    context = ssl.create_default_context(cafile=str(ca))
    if cert is not None:
        context.load_cert_chain(str(cert), str(key))
    conn = _ManagerConnection(cluster.machines.ip(MANAGER), 2377, context=context, timeout=10)
    try:
        conn.request("GET", "/metrics")
        answer = conn.getresponse()
        return answer.status, answer.getheader("Content-Type") or "", answer.read().decode()
    finally:
        conn.close()


def over_socket(cluster: Cluster, machine: str) -> Samples:
    return parsed(cluster.run(machine, SOCKET_SCRAPE).stdout)


@pytest.fixture
def service(cluster: Cluster) -> Iterator[str]:
    try:
        yield SERVICE
    finally:
        cluster.run(MANAGER, f"swarmlet service rm {SERVICE}", check=False)
        eventually(lambda: not subprocess.run(
            ["docker", "ps", "-aq", "--filter", f"label=swarmlet.service.name={SERVICE}"],
            capture_output=True, text=True, check=True).stdout.strip(), timeout=60)


def test_the_manager_serves_the_cluster_state_on_its_socket(cluster, service):
    samples = over_socket(cluster, MANAGER)
    assert total(samples, "swarmlet_nodes", state="ready") == 3
    assert total(samples, "swarmlet_nodes", role="manager") == 1
    assert samples[("swarmlet_raft_leader", ())] == 1
    assert samples[("swarmlet_raft_commit_index", ())] > 0
    assert samples[("process_resident_memory_bytes", ())] > 0
    assert total(samples, "swarmlet_dispatcher_heartbeats_total") > 0
    assert total(samples, "swarmlet_raft_apply_latency_seconds_count") > 0

    cluster.cli(MANAGER, f"service create --name {service} --replicas 2 {IMAGE}")

    def converged() -> Samples:
        now = over_socket(cluster, MANAGER)
        assert total(now, "swarmlet_service_running_replicas", service=service) == 2
        return now

    samples = eventually(converged, timeout=20)
    assert total(samples, "swarmlet_service_desired_replicas", service=service) == 2
    assert total(samples, "swarmlet_tasks", service=service, state="running") == 2
    assert total(samples, "swarmlet_tasks", service=service) == 2
    assert total(samples, "swarmlet_dispatcher_assignment_latency_seconds_count") >= 2
    assert total(samples, "swarmlet_control_pass_duration_seconds_count", stage="pass") > 0


def test_any_certificate_of_the_swarm_reads_them_on_the_cluster_port(cluster, certs):
    status, content_type, body = tls_get(cluster, certs["ca"], certs["client"] / "cert.pem",
                                         certs["client"] / "key.pem")
    assert (status, content_type) == (200, CONTENT_TYPE)
    assert total(parsed(body), "swarmlet_nodes") == 3
    status, _, body = tls_get(cluster, certs["ca"], certs["worker"] / "swarm-node.crt",
                              certs["worker"] / "swarm-node.key")
    assert status == 200
    assert parsed(body)[("swarmlet_raft_leader", ())] == 1
    status, _, body = tls_get(cluster, certs["ca"])
    assert status == 401
    assert "certificate" in json.loads(body)["message"]


def test_a_worker_serves_its_process_but_no_cluster_state(cluster):
    samples = over_socket(cluster, W1)
    assert samples[("process_resident_memory_bytes", ())] > 0
    assert not [name for name, _ in samples if name.startswith(("swarmlet_nodes",
                                                                 "swarmlet_raft"))]
