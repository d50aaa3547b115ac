"""Who may call what: the access check against a store of nodes (removed nodes, demoted and
promoted managers, operators' client certificates), and the same through a real TLS server."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_ca_tls import node_dir  # one way to make a node's certificate files

from swarmlet.api import cluster_server
from swarmlet.api.access import check_access
from swarmlet.api.cluster_server import ClusterApiServer
from swarmlet.api.router import Route, Router
from swarmlet.ca.authority import RootCA
from swarmlet.ca.identity import NodeIdentity
from swarmlet.ca.tls import client_context
from swarmlet.ca.tls_server import peer_identity, server_context
from swarmlet.transport.errors import HttpError
from swarmlet.transport.threads import serve_in_thread

STORE = {
    "mgr": {"ID": "mgr", "Spec": {"Role": "manager"}},
    "wrk": {"ID": "wrk", "Spec": {"Role": "worker"}},
    "demoted": {"ID": "demoted", "Spec": {"Role": "worker"}},  # certificate still says manager
    "promoted": {"ID": "promoted", "Spec": {"Role": "manager"}},  # certificate says worker
}


def lookup(node_id: str) -> dict | None:
    return STORE.get(node_id)


def who(node_id: str, role: str) -> NodeIdentity:
    return NodeIdentity(node_id, role, "c1")


def status(access: str, identity: NodeIdentity | None, local: bool = False) -> int:
    try:
        check_access(access, local, identity, lookup)
    except HttpError as exc:
        return exc.status
    return 200


@pytest.mark.parametrize("identity,public,node,manager,local", [
    (None, 200, 401, 401, 403),
    (who("mgr", "manager"), 200, 200, 200, 403),
    (who("wrk", "worker"), 200, 200, 403, 403),
    (who("gone", "worker"), 200, 403, 403, 403),  # removed: not in the store
    (who("gone", "manager"), 200, 403, 403, 403),  # a manager certificate of no node
    (who("demoted", "manager"), 200, 200, 403, 403),  # demotion counts at once
    (who("promoted", "worker"), 200, 200, 403, 403),  # promotion once it holds its cert
    (who("client-abc", "manager"), 200, 200, 200, 403),  # operators' client certificates
])
def test_access_levels(identity, public, node, manager, local):
    assert [status(a, identity) for a in ("public", "node", "manager", "local")] == \
        [public, node, manager, local]


def test_the_unix_socket_reaches_everything():
    assert {status(a, None, local=True) for a in ("public", "node", "manager", "local")} == {200}


def test_a_removed_node_is_told_why():
    with pytest.raises(HttpError) as exc:
        check_access("node", False, who("gone", "worker"), lookup)
    assert exc.value.status == 403
    assert "node gone is not a member of this swarm (it was removed)" in exc.value.message


def test_without_a_store_only_public_routes_are_open():
    with pytest.raises(HttpError) as exc:
        check_access("node", False, who("mgr", "manager"), None)
    assert exc.value.status == 403
    check_access("public", False, who("mgr", "manager"), None)


# --- through a real TLS server ----------------------------------------------------------

@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[tuple[int, RootCA, Path]]:
    root = RootCA.create()
    base = tmp_path_factory.mktemp("access")
    router = Router()
    for method, path, access in (("POST", "/dispatcher/assignments", "node"),
                                 ("GET", "/nodes", "manager"), ("GET", "/ca/root", "public")):
        router.routes.append(Route(method, path, lambda _: {"ok": True}, path, access))
    server_certs = node_dir(root, base / "mgr", "mgr", "manager")
    server = ClusterApiServer(("127.0.0.1", 0), router, server_context(server_certs),
                          lambda sock: peer_identity(sock, root), lookup)
    serve_in_thread(server, "test-access")
    yield server.server_address[1], root, base
    server.shutdown()
    server.server_close()


def call(port: int, certs: Path, method: str, path: str) -> tuple[int, str]:
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    with client_context(certs, None).wrap_socket(raw) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nContent-Length: 2\r\n"
                     "Connection: close\r\n\r\n{}".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, body = answer.split(b"\r\n\r\n", 1)
    return int(head.split(b" ", 2)[1]), json.loads(body).get("message", "")


def test_tls_a_removed_nodes_certificate_is_refused_except_on_public_routes(cluster):
    port, root, base = cluster
    gone = node_dir(root, base / "gone", "gone", "worker")
    assert call(port, gone, "POST", "/dispatcher/assignments")[0] == 403
    assert "was removed" in call(port, gone, "POST", "/dispatcher/assignments")[1]
    assert call(port, gone, "GET", "/ca/root")[0] == 200


def test_tls_a_demoted_manager_keeps_the_dispatcher_only(cluster):
    port, root, base = cluster
    demoted = node_dir(root, base / "demoted", "demoted", "manager")
    assert call(port, demoted, "POST", "/dispatcher/assignments")[0] == 200
    assert call(port, demoted, "GET", "/nodes")[0] == 403


def test_tls_a_client_certificate_reaches_manager_routes(cluster):
    port, root, base = cluster
    client = node_dir(root, base / "client", "client-xyz", "manager")
    assert call(port, client, "GET", "/nodes")[0] == 200


def test_tls_a_certificate_that_expires_during_a_connection_stops_working(cluster,
                                                                          monkeypatch):
    port, root, base = cluster
    certs = node_dir(root, base / "expiring", "wrk", "worker")
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    with client_context(certs, None).wrap_socket(raw) as sock:
        def ask() -> tuple[int, bytes]:
            sock.sendall(b"POST /dispatcher/assignments HTTP/1.1\r\nContent-Length: 2\r\n"
                         b"\r\n{}")
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(1)
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            body = b""
            while len(body) < length:
                body += sock.recv(length - len(body))
            return int(head.split(b" ", 2)[1]), body

        assert ask()[0] == 200
        later = time.time() + 10 * 365 * 86400  # past any certificate's end
        monkeypatch.setattr(cluster_server, "IDENTITY_RECHECK", 0.0)
        monkeypatch.setattr(cluster_server.time, "time", lambda: later)
        status, body = ask()
    assert status == 403
    assert "certificate expired at" in json.loads(body)["message"]
