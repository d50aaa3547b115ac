"""Real TLS handshakes on loopback between the server and client contexts."""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from swarmlet.ca.authority import RootCA
from swarmlet.ca.identity import NodeIdentity
from swarmlet.ca.node import NodeCertificates, make_csr, new_key
from swarmlet.ca.tls import client_context, fetch_checked_ca, unverified_client_context
from swarmlet.ca.tls_server import peer_identity, server_context
from swarmlet.ca.tokens import generate_join_token
from swarmlet.errors import SwarmletError

TIMEOUT = 10


def node_dir(root: RootCA, path: Path, node_id: str, role: str) -> Path:
    key = new_key()
    NodeCertificates(key, root.sign_csr(make_csr(key), node_id, role, "cluster1"),
                     root.cert_pem).save(path)
    return path


@pytest.fixture(scope="module")
def root() -> RootCA:
    return RootCA.create()


@pytest.fixture(scope="module")
def manager_dir(root, tmp_path_factory) -> Path:
    return node_dir(root, tmp_path_factory.mktemp("manager"), "m1", "manager")


@dataclass
class Served:
    """What the server side saw of its one connection."""
    port: int
    thread: threading.Thread
    identity: NodeIdentity | None = None
    error: BaseException | None = None
    done: bool = False


def serve_once(manager_dir: Path, root: RootCA) -> Served:
    """Accept one TLS connection on 127.0.0.1, note the peer, answer b"ok"."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(TIMEOUT)
    ctx = server_context(manager_dir)

    def run() -> None:
        try:
            conn, _ = listener.accept()
            conn.settimeout(TIMEOUT)
            with ctx.wrap_socket(conn, server_side=True) as tls:
                served.identity = peer_identity(tls, root)
                served.done = True
                tls.sendall(b"ok")
        except (OSError, SwarmletError) as exc:
            served.error = exc
        finally:
            listener.close()

    served = Served(listener.getsockname()[1], threading.Thread(target=run, daemon=True))
    served.thread.start()
    return served


def talk(port: int, ctx: ssl.SSLContext, root: RootCA) -> tuple[bytes, NodeIdentity | None]:
    """Connect, read the server's answer, and say who the server is."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw, \
            ctx.wrap_socket(raw) as tls:
        return tls.recv(2), peer_identity(tls, root)


def test_a_worker_client_is_seen_as_a_worker(root, manager_dir, tmp_path):
    worker = node_dir(root, tmp_path, "w1", "worker")
    served = serve_once(manager_dir, root)
    answer, server = talk(served.port, client_context(worker, root.cert_pem), root)
    served.thread.join(TIMEOUT)
    assert served.error is None and served.done
    assert answer == b"ok"
    assert served.identity == NodeIdentity("w1", "worker", "cluster1")
    assert server == NodeIdentity("m1", "manager", "cluster1")  # the client checks the role


def test_the_ca_can_come_from_the_certs_dir(root, manager_dir, tmp_path):
    worker = node_dir(root, tmp_path, "w2", "worker")
    served = serve_once(manager_dir, root)
    assert talk(served.port, client_context(worker, None), root)[0] == b"ok"
    served.thread.join(TIMEOUT)
    assert served.identity == NodeIdentity("w2", "worker", "cluster1")


def test_a_client_without_a_certificate_connects_anonymously(root, manager_dir):
    served = serve_once(manager_dir, root)
    answer, server = talk(served.port, client_context(None, root.cert_pem), root)
    served.thread.join(TIMEOUT)
    assert served.error is None and served.done
    assert answer == b"ok" and server is not None
    assert served.identity is None


def test_a_client_trusting_another_ca_refuses_the_server(root, manager_dir):
    served = serve_once(manager_dir, root)
    with pytest.raises(ssl.SSLCertVerificationError):
        talk(served.port, client_context(None, RootCA.create().cert_pem), root)
    served.thread.join(TIMEOUT)
    assert not served.done


def test_the_server_refuses_a_client_certificate_from_another_ca(root, manager_dir, tmp_path):
    stranger = node_dir(RootCA.create(), tmp_path, "x1", "manager")
    served = serve_once(manager_dir, root)
    # With TLS 1.3 the client learns of the refusal on its first read, not in the handshake.
    with pytest.raises((ssl.SSLError, ConnectionError)):
        talk(served.port, client_context(stranger, root.cert_pem), root)
    served.thread.join(TIMEOUT)
    assert isinstance(served.error, ssl.SSLError) and not served.done


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated")
def test_tls_before_1_2_is_refused(root, manager_dir):
    assert client_context(None, root.cert_pem).minimum_version == ssl.TLSVersion.TLSv1_2
    served = serve_once(manager_dir, root)
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname, old.verify_mode = False, ssl.CERT_NONE
    old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError):
        talk(served.port, old, root)
    served.thread.join(TIMEOUT)
    assert isinstance(served.error, ssl.SSLError) and not served.done


def test_a_joiner_fetches_the_ca_and_checks_it_against_the_token(root, manager_dir):
    served = serve_once(manager_dir, root)
    with socket.create_connection(("127.0.0.1", served.port), timeout=TIMEOUT) as raw, \
            unverified_client_context().wrap_socket(raw) as tls:
        assert tls.recv(2) == b"ok"
    served.thread.join(TIMEOUT)

    token = generate_join_token(root.cert_pem)
    assert fetch_checked_ca(root.cert_pem, token) == root.cert_pem
    with pytest.raises(SwarmletError, match="does not match the join token"):
        fetch_checked_ca(RootCA.create().cert_pem, token)
    with pytest.raises(SwarmletError, match="invalid join token"):
        fetch_checked_ca(root.cert_pem, "SWMTKN-1-nope")
