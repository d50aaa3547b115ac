"""A node's own key material: its key, its certificate and the root CA it trusts, checked
with the crypto library (files: ca/files.py; when to renew: ca/renewal.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from swarmlet.ca.authority import RootCA
from swarmlet.ca.files import (
    CA_CERT_FILE,
    NODE_CERT_FILE,
    node_files_exist,
    read_node_key,
    save_node_files,
)
from swarmlet.ca.identity import NodeIdentity
from swarmlet.ca.renewal import Validity
from swarmlet.ca.subject import identity_from_certificate
from swarmlet.errors import SwarmletError


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

    @cached_property
    def validity(self) -> Validity:
        return Validity.of(self.cert_pem)

    @property
    def not_before(self) -> datetime:
        return self.validity.not_before

    @property
    def expires_at(self) -> datetime:
        return self.validity.expires_at

    @property
    def issued_at(self) -> datetime:
        return self.validity.issued_at

    @property
    def renew_at(self) -> datetime:
        return self.validity.renew_at

    def needs_renewal(self, now: datetime | None = None) -> bool:
        return self.validity.needs_renewal(now)

    def expired(self, now: datetime | None = None) -> bool:
        return self.validity.expired(now)

    @staticmethod
    def exist_in(directory: Path) -> bool:
        """Whether the directory holds a node key and certificate (a node that has joined)."""
        return node_files_exist(directory)

    def save(self, directory: Path) -> None:
        save_node_files(directory, self.key_pem, self.cert_pem, self.ca_pem)

    @classmethod
    def load(cls, directory: Path, key_password: bytes | None = None) -> NodeCertificates:
        try:
            return cls(
                key_pem=read_node_key(directory, key_password),
                cert_pem=(directory / NODE_CERT_FILE).read_bytes(),
                ca_pem=(directory / CA_CERT_FILE).read_bytes(),
            )
        except FileNotFoundError as exc:
            raise SwarmletError(
                f"missing node certificate file {exc.filename}: this node is not part of a swarm"
            ) from None
