"""A removed node's certificate is refused at once, and node certificates live as long as
`swarm update --cert-expiry` says: one manager and one worker, real agents and TLS."""

from __future__ import annotations

import json
import sys

import pytest
from swarm_cluster import eventually, running_cluster

MANAGER, WORKER = "rv-m1", "rv-w1"
NODE_ROUTES = ("/dispatcher/assignments", "/dispatcher/attach", "/logbroker/publish")
LIFETIME = ("from cryptography import x509; c = x509.load_pem_x509_certificate(open("
            "'/var/lib/swarmlet/rv-client/cert.pem', 'rb').read()); "
            "print(int((c.not_valid_after_utc - c.not_valid_before_utc).total_seconds()))")


@pytest.fixture(scope="module")
def cluster(swarmlet):
    with running_cluster(swarmlet, [MANAGER], [WORKER]) as c:
        yield c


def test_cert_expiry_is_dockers_flag_and_new_certificates_follow_it(cluster):
    refused = cluster.run(MANAGER, "swarmlet swarm update --cert-expiry 30m", check=False)
    assert refused.returncode == 1
    assert "minimum certificate expiry time is 1h0m0s" in refused.stderr
    assert cluster.cli(MANAGER, "swarm update --cert-expiry 1h30m").strip() == "Swarm updated."
    swarm = json.loads(cluster.cli(MANAGER, "swarm inspect"))[0]
    assert swarm["Spec"]["CAConfig"]["NodeCertExpiry"] == 90 * 60 * 10**9
    cluster.cli(MANAGER, "swarm ca client-cert --out /var/lib/swarmlet/rv-client")
    lifetime = cluster.run(MANAGER, f'{sys.executable} -c "{LIFETIME}"').stdout
    assert int(lifetime) == 90 * 60 + 3600  # 1h30m, and backdated 1 h for lagging clocks


def test_a_removed_nodes_certificate_is_refused_on_every_node_route(cluster, tmp_path):
    assert cluster.probe(WORKER, MANAGER, "POST", "/dispatcher/heartbeat")["status"] == 200
    # A copy of its certificate and key, as someone who took them would hold them (the node
    # itself deletes its own once it finds out it was removed).
    kept = tmp_path / "kept-certs"
    cluster.run(WORKER, f"cp -a /var/lib/swarmlet/certificates {kept}")
    cluster.cli(MANAGER, f"node rm --force {WORKER}")
    for path in NODE_ROUTES:
        answer = cluster.probe(WORKER, MANAGER, "POST", path, "--certs", str(kept))
        assert answer["status"] == 403, (path, answer)
        assert "is not a member of this swarm (it was removed)" in answer["message"]
    assert cluster.probe(WORKER, MANAGER, "GET", "/nodes", "--certs", str(kept))[
        "status"] == 403
    assert cluster.probe(WORKER, MANAGER, "GET", "/ca/root", "--certs", str(kept))[
        "status"] == 200  # public
    eventually(lambda: json.loads(cluster.cli(WORKER, "info --format json"))["Swarm"][
        "LocalNodeState"] == "inactive", timeout=30)
