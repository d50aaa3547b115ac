"""A node identity as a certificate subject, and back: O cluster ID, OU role, CN node ID."""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID

from swarmlet.ca.identity import ROLE_OF_OU, NodeIdentity
from swarmlet.errors import SwarmletError


def subject_of(identity: NodeIdentity) -> x509.Name:
    """The certificate subject for an identity, in SwarmKit's order (O, OU, CN)."""
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, identity.cluster_id),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, identity.ou),
        x509.NameAttribute(NameOID.COMMON_NAME, identity.node_id),
    ])


def _single(name: x509.Name, oid: x509.ObjectIdentifier, what: str) -> str:
    values = name.get_attributes_for_oid(oid)
    if len(values) != 1:
        raise SwarmletError(f"node certificate must have exactly one {what}")
    value = values[0].value
    return value if isinstance(value, str) else value.decode()


def identity_from_certificate(cert: x509.Certificate) -> NodeIdentity:
    """Read the identity from a parsed certificate (no trust check: see RootCA.verify)."""
    subject = cert.subject
    ou = _single(subject, NameOID.ORGANIZATIONAL_UNIT_NAME, "organizational unit (role)")
    if ou not in ROLE_OF_OU:
        raise SwarmletError(f"node certificate has an unknown role {ou!r}")
    return NodeIdentity(
        node_id=_single(subject, NameOID.COMMON_NAME, "common name (node ID)"),
        role=ROLE_OF_OU[ou],
        cluster_id=_single(subject, NameOID.ORGANIZATION_NAME, "organization (cluster ID)"),
    )


def identity_of(cert_pem: bytes) -> NodeIdentity:
    """Read the identity from a PEM certificate (no trust check: see RootCA.verify)."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise SwarmletError(f"invalid node certificate: {exc}") from None
    return identity_from_certificate(cert)
