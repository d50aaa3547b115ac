"""A worker's session renews its certificate (worker/session.py): the key stays, the new
certificate must be for it, and a heartbeat renews only when the renewal time has come."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from swarmlet.ca.authority import RootCA, names_address
from swarmlet.ca.files import NODE_CERT_FILE
from swarmlet.ca.node import NodeCertificates, make_csr, new_key
from swarmlet.ca.node_state import NodeFiles, NodeState
from swarmlet.ca.renewal import Validity
from swarmlet.errors import SwarmletError
from swarmlet.worker.session import Session

MANAGER_ADDR = "198.18.0.2:2377"


class FakeManager:
    """Answers heartbeats and renewals as a leader would, signing with `root`."""

    def __init__(self, root: RootCA, role: str = "worker") -> None:
        self.root, self.role = root, role
        self.posts: list[str] = []
        self.sign_other_key = False

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.posts.append(path)
        if path == "/dispatcher/heartbeat":
            return {"Role": self.role, "Period": 5}
        csr = make_csr(new_key()) if self.sign_other_key else body["CSR"].encode()
        addresses = ["198.18.0.3"] if self.role == "manager" else []  # as ca_server's
        cert = self.root.sign_csr(csr, "w1", self.role, "c1", addresses=addresses)
        return {"Certificate": cert.decode(), "Role": self.role}


@pytest.fixture
def node(tmp_path: Path) -> tuple[Session, FakeManager, NodeCertificates]:
    root = RootCA.create()
    key = new_key()
    certs = NodeCertificates(key, root.sign_csr(make_csr(key), "w1", "worker", "c1",
                                                timedelta(hours=2)), root.cert_pem)
    files = NodeFiles(tmp_path)
    certs.save(files.certs_dir)
    state = NodeState("w1", "c1", "worker", "198.18.0.3", 2377, 2378, [MANAGER_ADDR])
    roles: list[dict[str, Any]] = []
    session = Session(files, state, 5.0, roles.append)
    manager = FakeManager(root)
    session.client = lambda addr, timeout=None: manager  # type: ignore[method-assign]
    return session, manager, certs


def test_a_renewal_keeps_the_key_and_saves_a_certificate_for_it(node):
    session, _manager, old = node
    session.renew(MANAGER_ADDR)
    new = NodeCertificates.load(session.files.certs_dir)  # checks key and certificate match
    assert new.key_pem == old.key_pem and new.cert_pem != old.cert_pem
    assert new.expires_at - new.issued_at == timedelta(days=90)  # the manager's lifetime


def test_a_certificate_for_another_key_is_refused_and_nothing_is_saved(node):
    session, manager, old = node
    manager.sign_other_key = True
    with pytest.raises(SwarmletError, match="does not match"):
        session.renew(MANAGER_ADDR)
    assert (session.files.certs_dir / NODE_CERT_FILE).read_bytes() == old.cert_pem


def test_a_heartbeat_renews_only_when_the_role_changed_or_the_time_has_come(node):
    session, manager, _old = node
    session.beat()
    assert manager.posts == ["/dispatcher/heartbeat"]  # a fresh certificate is not due
    manager.role = "manager"  # promoted
    session.beat()
    assert manager.posts[1:] == ["/dispatcher/heartbeat", "/ca/renew"]
    assert NodeCertificates.load(session.files.certs_dir).identity.role == "manager"


def test_a_heartbeat_renews_a_certificate_past_its_renewal_time(node, monkeypatch):
    session, manager, old = node
    now = datetime.now(UTC)
    due = Validity(old.validity.serial, now - timedelta(hours=3), now + timedelta(minutes=5))
    monkeypatch.setattr(session, "_validity", lambda: due)
    session.beat()
    assert manager.posts == ["/dispatcher/heartbeat", "/ca/renew"]


def test_a_manager_certificate_without_its_address_is_renewed_once(tmp_path):
    """Issued before managers' certificates named their address: renewed at the first
    heartbeat, so remote clients that check the host accept it without waiting months."""
    root = RootCA.create()
    key = new_key()
    NodeCertificates(key, root.sign_csr(make_csr(key), "w1", "manager", "c1"),
                     root.cert_pem).save(tmp_path / "certificates")
    state = NodeState("w1", "c1", "manager", "198.18.0.3", 2377, 2378, [MANAGER_ADDR])
    session = Session(NodeFiles(tmp_path), state, 5.0, lambda _: None)
    manager = FakeManager(root, role="manager")
    session.client = lambda addr, timeout=None: manager  # type: ignore[method-assign]
    session.beat()
    session.beat()
    assert manager.posts == ["/dispatcher/heartbeat", "/ca/renew", "/dispatcher/heartbeat"]
    renewed = (tmp_path / "certificates" / NODE_CERT_FILE).read_bytes()
    assert names_address(renewed, "198.18.0.3")
