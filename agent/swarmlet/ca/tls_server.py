"""The server side of the cluster port's TLS (managers), and who is on the other end.

Servers ask for a client certificate but do not require one: a joining node has none yet
and may reach only the join endpoint; the API layer authorises every other call by the
role in the peer's certificate, checked against the swarm's root CA.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from pathlib import Path

from cryptography import x509

from swarmlet.ca.authority import RootCA
from swarmlet.ca.files import CA_CERT_FILE, NODE_CERT_FILE, NODE_KEY_FILE
from swarmlet.ca.identity import NodeIdentity
from swarmlet.ca.node import NodeCertificates
from swarmlet.ca.tls import key_password_or_refusal, tls_context
from swarmlet.errors import SwarmletError


def server_context(certs_dir: Path, key_password: bytes | None = None) -> ssl.SSLContext:
    """Serve with the node certificate; accept clients with a certificate from our CA, or
    with none at all."""
    # checks key and certificate belong together
    certs = NodeCertificates.load(certs_dir, key_password)
    ctx = tls_context(server=True)
    ctx.load_cert_chain(certs_dir / NODE_CERT_FILE, certs_dir / NODE_KEY_FILE,
                        password=key_password_or_refusal(key_password))
    ctx.load_verify_locations(cadata=certs.ca_pem.decode("ascii"))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


class ServerContextSource:
    """server_context(certs_dir), made again when the node's certificate files change (a
    renewal replaces them): the server asks at every connection, so a manager never serves
    a certificate it has replaced, which would expire under it."""

    def __init__(self, certs_dir: Path,
                 key_password: Callable[[], bytes | None] = lambda: None) -> None:
        self.certs_dir = certs_dir
        self.key_password = key_password  # asked each time: a manager's can change
        self._lock = threading.Lock()
        self._stamp = self._files_stamp()
        self._context = server_context(certs_dir, key_password())

    def _files_stamp(self) -> tuple[tuple[int, int], ...]:
        stamps = []
        for name in (NODE_CERT_FILE, NODE_KEY_FILE, CA_CERT_FILE):
            try:
                st = (self.certs_dir / name).stat()
                stamps.append((st.st_ino, st.st_mtime_ns))
            except FileNotFoundError:
                stamps.append((0, 0))
        return tuple(stamps)

    def __call__(self) -> ssl.SSLContext:
        with self._lock:
            stamp = self._files_stamp()
            if stamp != self._stamp:
                try:
                    self._context = server_context(self.certs_dir, self.key_password())
                    self._stamp = stamp
                except (OSError, ssl.SSLError, SwarmletError):
                    pass  # caught between the writes of a renewal: the next call retries
            return self._context


def peer_identity(sock: ssl.SSLSocket, root: RootCA) -> NodeIdentity | None:
    """The identity in the peer's certificate, checked against the root; None if the peer
    sent no certificate (a joining node)."""
    der = sock.getpeercert(binary_form=True)
    if not der:
        return None
    return root.verify_certificate(x509.load_der_x509_certificate(der))
