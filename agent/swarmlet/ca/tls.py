"""TLS contexts for node-to-node and client connections, and who is on the other end.

Servers ask for a client certificate but do not require one: a joining node has none yet
and may reach only the join endpoint; the API layer authorises every other call by the
role in the peer's certificate. Nodes are addressed by IP, so names are not checked: trust
comes from the swarm's own root CA alone, and a client that needs a manager checks the
role with peer_identity.
"""

from __future__ import annotations

import hmac
import ssl
import threading
from pathlib import Path

from cryptography import x509

from swarmlet.ca.authority import CA_CERT_FILE, RootCA
from swarmlet.ca.identity import NodeIdentity
from swarmlet.ca.node import NODE_CERT_FILE, NODE_KEY_FILE, NodeCertificates
from swarmlet.ca.tokens import JoinToken, ca_digest
from swarmlet.errors import SwarmletError

# For TLS 1.2 only (1.3 suites are all strong): forward secrecy and AEAD ciphers.
_TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


def _context(server: bool) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(_TLS12_CIPHERS)
    return ctx


def server_context(certs_dir: Path) -> ssl.SSLContext:
    """Serve with the node certificate; accept clients with a certificate from our CA, or
    with none at all."""
    certs = NodeCertificates.load(certs_dir)  # checks key and certificate belong together
    ctx = _context(server=True)
    ctx.load_cert_chain(certs_dir / NODE_CERT_FILE, certs_dir / NODE_KEY_FILE)
    ctx.load_verify_locations(cadata=certs.ca_pem.decode("ascii"))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


class ServerContextSource:
    """server_context(certs_dir), made again when the node's certificate files change (a
    renewal replaces them): the server asks at every connection, so a manager never serves
    a certificate it has replaced, which would expire under it."""

    def __init__(self, certs_dir: Path) -> None:
        self.certs_dir = certs_dir
        self._lock = threading.Lock()
        self._stamp = self._files_stamp()
        self._context = server_context(certs_dir)

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
                    self._context = server_context(self.certs_dir)
                    self._stamp = stamp
                except (OSError, ssl.SSLError, SwarmletError):
                    pass  # caught between the writes of a renewal: the next call retries
            return self._context


def client_context(certs_dir: Path | None, ca_pem: bytes | None) -> ssl.SSLContext:
    """Verify the server against `ca_pem` (default: the CA file in certs_dir) and present
    the node certificate when certs_dir holds one."""
    if ca_pem is None:
        if certs_dir is None:
            raise SwarmletError("no root CA certificate to verify the manager with")
        ca_pem = (certs_dir / CA_CERT_FILE).read_bytes()
    ctx = _context(server=False)
    ctx.check_hostname = False  # must be off before verify_mode can be anything
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=ca_pem.decode("ascii"))
    if certs_dir is not None and NodeCertificates.exist_in(certs_dir):
        ctx.load_cert_chain(certs_dir / NODE_CERT_FILE, certs_dir / NODE_KEY_FILE)
    return ctx


def unverified_client_context() -> ssl.SSLContext:
    """Only for a joiner's first fetch of the CA certificate, which it then checks against
    the digest in its join token (fetch_checked_ca) before trusting anything."""
    ctx = _context(server=False)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def fetch_checked_ca(ca_pem_from_server: bytes, token: str) -> bytes:
    """Return the CA certificate a manager sent if it is the one the join token pins."""
    expected = JoinToken.parse(token).ca_digest
    if not hmac.compare_digest(expected, ca_digest(ca_pem_from_server)):
        raise SwarmletError(
            "the CA certificate presented by the manager does not match the join token")
    RootCA(ca_pem_from_server)  # the digest matched; still refuse a non-CA certificate
    return ca_pem_from_server


def peer_identity(sock: ssl.SSLSocket, root: RootCA) -> NodeIdentity | None:
    """The identity in the peer's certificate, checked against the root; None if the peer
    sent no certificate (a joining node)."""
    der = sock.getpeercert(binary_form=True)
    if not der:
        return None
    return root.verify_certificate(x509.load_der_x509_certificate(der))
