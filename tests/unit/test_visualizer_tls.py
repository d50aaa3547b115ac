"""The visualizer over HTTPS: a client certificate of the swarm with manager access gets the
page; a worker's is refused; none, or one of another CA, fails the handshake."""

from __future__ import annotations

import http.client
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from swarmlet.ca.authority import RootCA
from swarmlet.ca.node import make_csr, new_key
from swarmlet.visualizer.access import Guard
from swarmlet.visualizer.hub import Hub
from swarmlet.visualizer.server import VisualizerServer, tls_context


def issue(root: RootCA, directory: Path, name: str, role: str) -> tuple[str, str]:
    key = new_key()
    cert = root.sign_csr(make_csr(key), name, role, "cluster1", addresses=["127.0.0.1"])
    (directory / f"{name}.key").write_bytes(key)
    (directory / f"{name}.crt").write_bytes(cert)
    return str(directory / f"{name}.crt"), str(directory / f"{name}.key")


@pytest.fixture(scope="module")
def root() -> RootCA:
    return RootCA.create()


@pytest.fixture
def served(root: RootCA, tmp_path: Path) -> Iterator[int]:
    hub = Hub()
    hub.publish({"nodes": [{"id": "m1", "role": "manager"}], "services": [], "tasks": []})
    server = VisualizerServer(("127.0.0.1", 0), Guard(None, certificate=True), hub,
                              tls_context(*issue(root, tmp_path, "m1", "manager"),
                                          root.cert_pem.decode()))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def get(port: int, root: RootCA, cert: tuple[str, str] | None) -> int:
    context = ssl.create_default_context(cadata=root.cert_pem.decode())
    if cert:
        context.load_cert_chain(*cert)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
    conn.request("GET", "/")
    return conn.getresponse().status


def test_a_client_certificate_with_manager_access_sees_the_page(
        served: int, root: RootCA, tmp_path: Path) -> None:
    assert get(served, root, issue(root, tmp_path, "client-abc", "manager")) == 200
    assert get(served, root, issue(root, tmp_path, "m1", "manager")) == 200  # a manager's own


def test_others_are_refused(served: int, root: RootCA, tmp_path: Path) -> None:
    assert get(served, root, issue(root, tmp_path, "w1", "worker")) == 403
    assert get(served, root, issue(root, tmp_path, "gone", "manager")) == 403  # not a manager now
    with pytest.raises((ssl.SSLError, ConnectionError)):
        get(served, root, None)
    stranger = RootCA.create()
    with pytest.raises((ssl.SSLError, ConnectionError)):
        get(served, root, issue(stranger, tmp_path, "client-x", "manager"))
