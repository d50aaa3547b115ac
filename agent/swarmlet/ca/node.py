"""A node's own key material: its key, its certificate and the root CA it trusts.

Files, as Docker keeps them in /var/lib/docker/swarm/certificates:
swarm-node.key (0600), swarm-node.crt, swarm-root-ca.crt.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from swarmlet.ca.authority import BACKDATE, CA_CERT_FILE, RootCA, write_atomic
from swarmlet.ca.identity import NodeIdentity, identity_from_certificate
from swarmlet.errors import SwarmletError

NODE_KEY_FILE = "swarm-node.key"
NODE_CERT_FILE = "swarm-node.crt"

# Renew somewhere in this share of the validity, so nodes that joined together do not all
# renew at once (SwarmKit's thundering-herd guard).
RENEW_FROM = 0.5
RENEW_TO = 0.8


def new_key() -> bytes:
    """A fresh ECDSA P-256 key, PEM PKCS#8, unencrypted (the file mode protects it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_key(key_pem: bytes) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise SwarmletError(f"invalid node key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise SwarmletError("node keys must be ECDSA keys")
    return key


def make_csr(key_pem: bytes) -> bytes:
    """A CSR for the key. Its subject stays empty: the CA decides the node's identity."""
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).sign(
        _load_key(key_pem), hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class NodeCertificates:
    key_pem: bytes
    cert_pem: bytes
    ca_pem: bytes

    def __post_init__(self) -> None:
        # A key and certificate that do not belong together fail every handshake later,
        # with a much vaguer error: catch it here.
        if _load_key(self.key_pem).public_key() != self.certificate.public_key():
            raise SwarmletError("the node key does not match the node certificate")

    @cached_property
    def certificate(self) -> x509.Certificate:
        try:
            return x509.load_pem_x509_certificate(self.cert_pem)
        except ValueError as exc:
            raise SwarmletError(f"invalid node certificate: {exc}") from None

    @property
    def root(self) -> RootCA:
        return RootCA(self.ca_pem)

    @property
    def identity(self) -> NodeIdentity:
        return identity_from_certificate(self.certificate)

    @property
    def not_before(self) -> datetime:
        return self.certificate.not_valid_before_utc

    @property
    def expires_at(self) -> datetime:
        return self.certificate.not_valid_after_utc

    @property
    def issued_at(self) -> datetime:
        """When the certificate was made: NotBefore is backdated by an hour for lagging
        clocks, which is half the span of a 1-hour certificate."""
        issued = self.not_before + BACKDATE
        return issued if issued < self.expires_at else self.not_before

    @property
    def renew_at(self) -> datetime:
        """A point between 50 % and 80 % of the life since issue, derived from the serial so
        it is random across nodes yet the same after every restart. (Counted from the
        backdated NotBefore, a 1-hour certificate would be due at once: renewed at every
        heartbeat.)"""
        serial = str(self.certificate.serial_number).encode()
        fraction = int.from_bytes(hashlib.sha256(serial).digest()[:8], "big") / 2**64
        share = RENEW_FROM + (RENEW_TO - RENEW_FROM) * fraction
        return self.issued_at + (self.expires_at - self.issued_at) * share

    def needs_renewal(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) >= self.renew_at

    def expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) > self.expires_at

    @staticmethod
    def exist_in(directory: Path) -> bool:
        """Whether the directory holds a node key and certificate (a node that has joined)."""
        return (directory / NODE_KEY_FILE).is_file() and (directory / NODE_CERT_FILE).is_file()

    def save(self, directory: Path) -> None:
        # Each file is atomic, the set is not: a crash between the writes leaves a key and
        # certificate that do not match, which load() reports clearly.
        write_atomic(directory / NODE_KEY_FILE, self.key_pem, 0o600)
        write_atomic(directory / NODE_CERT_FILE, self.cert_pem, 0o644)
        write_atomic(directory / CA_CERT_FILE, self.ca_pem, 0o644)

    @classmethod
    def load(cls, directory: Path) -> NodeCertificates:
        try:
            return cls(
                key_pem=(directory / NODE_KEY_FILE).read_bytes(),
                cert_pem=(directory / NODE_CERT_FILE).read_bytes(),
                ca_pem=(directory / CA_CERT_FILE).read_bytes(),
            )
        except FileNotFoundError as exc:
            raise SwarmletError(
                f"missing node certificate file {exc.filename}: this node is not part of a swarm"
            ) from None
