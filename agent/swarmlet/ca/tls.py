"""TLS contexts for a node's and a client's connections to managers (the server side is
tls_server.py). Standard library only: a worker's session needs no crypto library.

Nodes are addressed by IP, so names are not checked: trust comes from the swarm's own root
CA alone, and a client that needs a manager checks the role with peer_identity.
"""

from __future__ import annotations

import hmac
import ssl
from collections.abc import Callable
from pathlib import Path

from swarmlet.ca.files import CA_CERT_FILE, NODE_CERT_FILE, NODE_KEY_FILE, node_files_exist
from swarmlet.ca.tokens import JoinToken, ca_digest
from swarmlet.errors import SwarmletError

# For TLS 1.2 only (1.3 suites are all strong): forward secrecy and AEAD ciphers.
_TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


def tls_context(server: bool) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(_TLS12_CIPHERS)
    return ctx


def client_context(certs_dir: Path | None, ca_pem: bytes | None,
                   key_password: bytes | None = None) -> ssl.SSLContext:
    """Verify the server against `ca_pem` (default: the CA file in certs_dir) and present
    the node certificate when certs_dir holds one (a manager's key is an encrypted PEM:
    `key_password` opens it)."""
    if ca_pem is None:
        if certs_dir is None:
            raise SwarmletError("no root CA certificate to verify the manager with")
        ca_pem = (certs_dir / CA_CERT_FILE).read_bytes()
    ctx = tls_context(server=False)
    ctx.check_hostname = False  # must be off before verify_mode can be anything
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=ca_pem.decode("ascii"))
    if certs_dir is not None and node_files_exist(certs_dir):
        ctx.load_cert_chain(certs_dir / NODE_CERT_FILE, certs_dir / NODE_KEY_FILE,
                            password=key_password_or_refusal(key_password))
    return ctx


def key_password_or_refusal(password: bytes | None) -> bytes | Callable[[], bytes]:
    """What load_cert_chain is given: without a password, a callback that refuses, so an
    encrypted key fails clearly instead of OpenSSL prompting on a terminal."""
    if password is not None:
        return password

    def refuse() -> bytes:
        raise SwarmletError("the node key is encrypted (a manager's): its password is in the "
                            "manager's sealed keys (node/keys.py)")
    return refuse


def unverified_client_context() -> ssl.SSLContext:
    """Only for a joiner's first fetch of the CA certificate, which it then checks against
    the digest in its join token (fetch_checked_ca) before trusting anything."""
    ctx = tls_context(server=False)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def fetch_checked_ca(ca_pem_from_server: bytes, token: str) -> bytes:
    """Return the CA certificate a manager sent if it is the one the join token pins (that it
    is a CA certificate at all, csr.join_request checks)."""
    expected = JoinToken.parse(token).ca_digest
    if not hmac.compare_digest(expected, ca_digest(ca_pem_from_server)):
        raise SwarmletError(
            "the CA certificate presented by the manager does not match the join token")
    return ca_pem_from_server
