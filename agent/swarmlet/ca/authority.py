"""The root CA: creates itself, signs node CSRs with the identity the manager decides, and
checks that a node certificate is one of ours and still valid.

Files (in a directory like /var/lib/swarmlet/certificates): swarm-root-ca.crt, and on
managers swarm-root-ca.key (mode 0600). Workers hold only the certificate.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from swarmlet.ca import tokens
from swarmlet.ca.expiry import BACKDATE, DEFAULT_NODE_CERT_EXPIRY
from swarmlet.ca.files import CA_CERT_FILE, write_atomic
from swarmlet.ca.identity import NodeIdentity
from swarmlet.ca.subject import identity_from_certificate, subject_of
from swarmlet.errors import SwarmletError

CA_KEY_FILE = "swarm-root-ca.key"

CA_COMMON_NAME = "swarm-ca"
CA_VALIDITY = timedelta(days=20 * 365)
NODE_CERT_VALIDITY = DEFAULT_NODE_CERT_EXPIRY  # the cluster's CAConfig.NodeCertExpiry wins
MIN_RSA_BITS = 2048


def _private_key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_ca_certificate(cert_pem: bytes) -> x509.Certificate:
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise SwarmletError(f"invalid root CA certificate: {exc}") from None
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise SwarmletError("the root CA certificate is not a CA certificate")
    return cert


def _general_name(address: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(address))
    except ValueError:
        return x509.DNSName(address)


def names_address(cert_pem: bytes, address: str) -> bool:
    """Whether a certificate names `address` (an IP or DNS SAN)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return _general_name(address) in list(names)


class RootCA:
    """A root CA certificate, with its key when this node may sign (managers)."""

    def __init__(self, cert_pem: bytes, key_pem: bytes | None = None) -> None:
        self.cert_pem = cert_pem
        self.key_pem = key_pem
        self.certificate = _load_ca_certificate(cert_pem)
        self._key: ec.EllipticCurvePrivateKey | None = None
        if key_pem is not None:
            key = serialization.load_pem_private_key(key_pem, password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise SwarmletError("the root CA key must be an ECDSA key")
            if key.public_key() != self.certificate.public_key():
                raise SwarmletError("the root CA key does not match the root CA certificate")
            self._key = key

    @classmethod
    def create(cls) -> RootCA:
        """A new self-signed root: ECDSA P-256, CN swarm-ca, valid 20 years."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME)])
        now = datetime.now(UTC)
        public = key.public_key()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True,
                    crl_sign=True, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert.public_bytes(serialization.Encoding.PEM), _private_key_pem(key))

    @property
    def digest(self) -> str:
        """The CA digest that join tokens carry."""
        return tokens.ca_digest(self.cert_pem)

    @property
    def can_sign(self) -> bool:
        return self._key is not None

    def sign_csr(self, csr_pem: bytes, node_id: str, role: str, cluster_id: str,
                 validity: timedelta = NODE_CERT_VALIDITY,
                 addresses: Sequence[str] = ()) -> bytes:
        """Issue a node certificate for the CSR's key. The subject the CSR asks for is
        ignored: the manager decides who the node is and what role it has. `addresses`
        (a manager's advertise address) become SANs too, so that clients which check the
        host they dial (DOCKER_TLS_VERIFY=1, tcp://MANAGER_IP:2377) accept it."""
        if self._key is None:
            raise SwarmletError("this node holds no root CA key and cannot sign certificates")
        if validity <= timedelta(0):
            raise SwarmletError("certificate validity must be positive")
        identity = NodeIdentity(node_id, role, cluster_id)
        try:
            csr = x509.load_pem_x509_csr(csr_pem)
        except ValueError as exc:
            raise SwarmletError(f"invalid certificate signing request: {exc}") from None
        if not csr.is_signature_valid:
            raise SwarmletError("invalid certificate signing request: bad signature")
        public = csr.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            if public.key_size < MIN_RSA_BITS:
                raise SwarmletError(f"RSA keys must have at least {MIN_RSA_BITS} bits")
        elif not isinstance(public, ec.EllipticCurvePublicKey):
            raise SwarmletError("node keys must be ECDSA or RSA keys")

        now = datetime.now(UTC)
        # A node certificate cannot outlive the root that vouches for it.
        not_after = min(now + validity, self.certificate.not_valid_after_utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject_of(identity))
            .issuer_name(self.certificate.subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=True,
                    data_encipherment=False, key_agreement=False, key_cert_sign=False,
                    crl_sign=False, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName(identity.node_id), x509.DNSName(identity.ou),
                     *map(_general_name, addresses)]),
                critical=False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM)

    def verify_certificate(self, cert: x509.Certificate,
                           now: datetime | None = None) -> NodeIdentity:
        """Check a parsed node certificate was issued by this CA and is valid at `now`."""
        try:
            cert.verify_directly_issued_by(self.certificate)
        except (ValueError, TypeError, InvalidSignature):
            raise SwarmletError(
                "certificate was not issued by this swarm's root CA") from None
        now = now or datetime.now(UTC)
        if now < cert.not_valid_before_utc:
            raise SwarmletError("certificate is not valid yet: check the clocks of the nodes")
        if now > cert.not_valid_after_utc:
            raise SwarmletError(
                f"certificate expired at {cert.not_valid_after_utc.isoformat()}")
        return identity_from_certificate(cert)

    def verify(self, cert_pem: bytes, now: datetime | None = None) -> NodeIdentity:
        """Check a PEM node certificate was issued by this CA and is valid at `now`."""
        try:
            cert = x509.load_pem_x509_certificate(cert_pem)
        except ValueError as exc:
            raise SwarmletError(f"invalid node certificate: {exc}") from None
        return self.verify_certificate(cert, now)

    def save(self, directory: Path) -> None:
        """Write the certificate, and the key (0600) when this node has it. A key file
        already there is left alone when this RootCA holds no key."""
        write_atomic(directory / CA_CERT_FILE, self.cert_pem, 0o644)
        if self.key_pem is not None:
            write_atomic(directory / CA_KEY_FILE, self.key_pem, 0o600)

    @classmethod
    def load(cls, directory: Path) -> RootCA:
        try:
            cert_pem = (directory / CA_CERT_FILE).read_bytes()
        except FileNotFoundError:
            raise SwarmletError(
                f"no root CA certificate in {directory}: this node is not part of a swarm"
            ) from None
        try:
            key_pem: bytes | None = (directory / CA_KEY_FILE).read_bytes()
        except FileNotFoundError:
            key_pem = None
        return cls(cert_pem, key_pem)
