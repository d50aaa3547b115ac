"""Who a certificate says its holder is: node ID (CN), role (OU) and cluster ID (O)."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from swarmlet.errors import SwarmletError

MANAGER = "manager"
WORKER = "worker"
ROLES = (MANAGER, WORKER)
# The CN of an operator's client certificate (`swarm ca client-cert`) starts with this; node
# IDs are base36 without a dash, so no node can have one.
CLIENT_PREFIX = "client-"

# SwarmKit's OU values; the API authorises by these, so they must match exactly.
_OU_OF_ROLE = {MANAGER: "swarm-manager", WORKER: "swarm-worker"}
_ROLE_OF_OU = {ou: role for role, ou in _OU_OF_ROLE.items()}


def role_ou(role: str) -> str:
    """The OU that carries a role: "swarm-manager" or "swarm-worker"."""
    try:
        return _OU_OF_ROLE[role]
    except KeyError:
        raise SwarmletError(f"invalid node role {role!r}: must be manager or worker") from None


@dataclass(frozen=True)
class NodeIdentity:
    node_id: str
    role: str
    cluster_id: str

    def __post_init__(self) -> None:
        role_ou(self.role)  # validates
        if not self.node_id or not self.cluster_id:
            raise SwarmletError("a node identity needs a node ID and a cluster ID")

    @property
    def is_client(self) -> bool:
        """An operator's client certificate: not a node, never in the store."""
        return self.node_id.startswith(CLIENT_PREFIX)

    @property
    def ou(self) -> str:
        return role_ou(self.role)

    def subject(self) -> x509.Name:
        """The certificate subject for this identity, in SwarmKit's order (O, OU, CN)."""
        return x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.cluster_id),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, self.ou),
            x509.NameAttribute(NameOID.COMMON_NAME, self.node_id),
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
    if ou not in _ROLE_OF_OU:
        raise SwarmletError(f"node certificate has an unknown role {ou!r}")
    return NodeIdentity(
        node_id=_single(subject, NameOID.COMMON_NAME, "common name (node ID)"),
        role=_ROLE_OF_OU[ou],
        cluster_id=_single(subject, NameOID.ORGANIZATION_NAME, "organization (cluster ID)"),
    )


def identity_of(cert_pem: bytes) -> NodeIdentity:
    """Read the identity from a PEM certificate (no trust check: see RootCA.verify)."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise SwarmletError(f"invalid node certificate: {exc}") from None
    return identity_from_certificate(cert)
