"""Who may call a route: its access level, the peer's certificate, and what this manager's
replica of the store says about that peer now.

A certificate stays valid until it expires, but a node can be removed or demoted at any
time: so a node certificate counts only while its node is in the store, and gives manager
access only while the store's desired role (Spec.Role) is manager too. The store is local on
every manager, so this is a dict lookup per request, no Raft round trip. Operators' client
certificates (CN client-<id>, `swarm ca client-cert`) are not nodes: their OU alone decides,
and only a CA rotation revokes them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from swarmlet.ca.identity import MANAGER, WORKER, NodeIdentity
from swarmlet.transport.errors import HttpError

# Looks a node up in the local store by ID: the node object, or None.
NodeLookup = Callable[[str], dict[str, Any] | None]

NO_CERTIFICATE = "a node certificate of this swarm is required for this endpoint"
NOT_A_MANAGER = ("Permission denied: unauthorized peer role: remote certificate not part of "
                 "OUs: [swarm-manager]")
LOCAL_ONLY = "this endpoint is served on the node's unix socket only"


def removed(node_id: str) -> str:
    return (f"Permission denied: node {node_id} is not a member of this swarm (it was "
            "removed): its certificate is no longer accepted")


def effective_role(identity: NodeIdentity, lookup: NodeLookup) -> str:
    """The role a TLS peer may act with now; HttpError 403 if its node is gone."""
    if identity.is_client:
        return identity.role
    node = lookup(identity.node_id)
    if node is None:
        raise HttpError(403, removed(identity.node_id))
    wanted = (node.get("Spec") or {}).get("Role")
    # The lesser of certificate and store: a demotion counts at once, a promotion once
    # the node holds its manager certificate.
    return MANAGER if identity.role == MANAGER and wanted == MANAGER else WORKER


def check_access(access: str, local: bool, identity: NodeIdentity | None,
                 lookup: NodeLookup | None) -> None:
    """Raise HttpError (401/403) unless the caller may use a route of this access level.
    `lookup` is None only where no store is at hand: then only public routes are open."""
    if local or access == "public":
        return
    if access == "local":
        raise HttpError(403, LOCAL_ONLY)
    if identity is None:
        raise HttpError(401, NO_CERTIFICATE)
    if lookup is None:
        raise HttpError(403, "this node holds no copy of the swarm's state to check "
                            "certificates against: ask a manager")
    role = effective_role(identity, lookup)
    if access == "manager" and role != MANAGER:
        raise HttpError(403, NOT_A_MANAGER)
