"""Who a certificate says its holder is: node ID (CN), role (OU) and cluster ID (O).
Standard library only (the API checks roles on a worker too); reading and writing the
certificate subject is ca/subject.py's."""

from __future__ import annotations

from dataclasses import dataclass

from swarmlet.errors import SwarmletError

MANAGER = "manager"
WORKER = "worker"
ROLES = (MANAGER, WORKER)
# The CN of an operator's client certificate (`swarm ca client-cert`) starts with this; node
# IDs are base36 without a dash, so no node can have one.
CLIENT_PREFIX = "client-"

# SwarmKit's OU values; the API authorises by these, so they must match exactly.
_OU_OF_ROLE = {MANAGER: "swarm-manager", WORKER: "swarm-worker"}
ROLE_OF_OU = {ou: role for role, ou in _OU_OF_ROLE.items()}


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
