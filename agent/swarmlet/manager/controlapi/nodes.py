"""The cluster's control API over the store: nodes and the swarm object, with Docker's rules
and messages (SwarmKit's manager/controlapi)."""

from __future__ import annotations

from typing import Any

from swarmlet.ca.identity import MANAGER, WORKER
from swarmlet.ca.kek import format_unlock_key, new_kek
from swarmlet.ca.tokens import generate_join_token
from swarmlet.errors import Conflict, InvalidArgument, NotFound
from swarmlet.manager import cluster_secrets
from swarmlet.manager.controlapi.plan import spec_plan
from swarmlet.manager.manager import Manager
from swarmlet.manager.objects import cluster_view, node_view
from swarmlet.spec.swarm import merged_node_spec, merged_swarm_spec, signing_ca
from swarmlet.store.raft import LOSS_OF_QUORUM

AVAILABILITIES = ("active", "pause", "drain")


class ControlAPI:
    def __init__(self, manager: Manager) -> None:
        self.manager = manager
        self.store = manager.store

    # --- nodes ------------------------------------------------------------------------

    def list_nodes(self) -> list[dict[str, Any]]:
        self.manager.require_quorum()
        status = self.store.status()
        return [node_view(n, status) for n in self.store.list("node")]

    def resolve_node(self, ref: str) -> dict[str, Any]:
        """A node by ID, unique ID prefix or hostname, as Docker resolves NODE: the stored
        object itself, read-only (a copy of a node cost more than the rest of a read)."""
        self.manager.require_quorum()
        node = self.store.peek("node", ref)  # by full ID: a dict lookup, no listing
        if node is not None:
            return node
        nodes = self.store.view(["node"]).objects["node"]
        matches = [n for n in nodes if n["ID"].startswith(ref)] or [
            n for n in nodes if n.get("Description", {}).get("Hostname") == ref]
        if not matches:
            raise NotFound(f"node {ref} not found")
        if len(matches) > 1:
            raise Conflict(f"node {ref} is ambiguous ({len(matches)} matches found)")
        return matches[0]

    def inspect_node(self, ref: str) -> dict[str, Any]:
        return node_view(self.resolve_node(ref), self.store.status())

    def update_node(self, ref: str, version: int, spec: dict[str, Any] | None,
                    dry_run: bool = False) -> dict[str, Any] | None:
        node = self.resolve_node(ref)
        if node["Version"]["Index"] != version:
            raise Conflict("update out of sequence")
        new_spec = merged_node_spec(node["Spec"], spec)
        if new_spec["Role"] == WORKER and node["Spec"]["Role"] == MANAGER:
            self._check_demotion(node)
        if dry_run:
            return spec_plan("node", "update", node["ID"], node["Spec"], new_spec)
        self.store.write([{"op": "update", "kind": "node", "object": {**node, "Spec": new_spec}}],
                         copies=False)
        return None

    def _check_demotion(self, node: dict[str, Any]) -> None:
        managers = [n for n in self.store.list("node") if n["Spec"]["Role"] == MANAGER]
        if len(managers) <= 1:
            raise InvalidArgument("attempting to demote the last manager of the swarm")
        raft_addr = (node.get("ManagerStatus") or {}).get("RaftAddr")
        members = self.store.status()["members"]
        if raft_addr in members:
            reachable = [a for a, seen in members.items()
                         if seen != "unreachable" and a != raft_addr]
            if len(reachable) < (len(members) - 1) // 2 + 1:
                raise InvalidArgument(LOSS_OF_QUORUM)

    def remove_node(self, ref: str, force: bool) -> None:
        node = self.resolve_node(ref)
        if node["Spec"]["Role"] == MANAGER or node.get("ManagerStatus"):
            raise InvalidArgument(f"node {ref} is a cluster manager and is a member of the raft "
                                "cluster. It must be demoted to worker before removal")
        if not force and node.get("Status", {}).get("State") != "down":
            raise InvalidArgument(f"node {ref} is not down and can't be removed")
        self.store.write([{"op": "delete", "kind": "node", "id": node["ID"],
                           "version": node["Version"]["Index"]}])

    # --- the swarm ----------------------------------------------------------------------

    def inspect_swarm(self) -> dict[str, Any]:
        self.manager.require_quorum()
        return cluster_view(self.manager.open_cluster())

    def update_swarm(self, version: int, spec: dict[str, Any] | None, rotate_worker: bool,
                     rotate_manager: bool, dry_run: bool = False,
                     rotate_unlock_key: bool = False) -> dict[str, Any] | None:
        self.manager.require_quorum()
        cluster = self.manager.open_cluster()
        if cluster["Version"]["Index"] != version:
            raise Conflict("update out of sequence")
        check_no_ca_rotation(cluster, spec)
        new_spec = merged_swarm_spec(cluster["Spec"], spec)
        autolock = bool(new_spec.get("EncryptionConfig", {}).get("AutoLockManagers"))
        if rotate_unlock_key and not autolock:
            raise InvalidArgument("cannot rotate because autolock is not turned on")
        if dry_run:
            return spec_plan("swarm", "update", cluster["ID"], cluster["Spec"], new_spec)
        cluster["Spec"] = new_spec
        ca_pem = cluster["RootCA"]["CACert"].encode()
        if rotate_worker:
            cluster["JoinTokens"]["Worker"] = generate_join_token(ca_pem)
        if rotate_manager:
            cluster["JoinTokens"]["Manager"] = generate_join_token(ca_pem)
        # Each manager seals its keys on disk with the new unlock key, or its KEK file once
        # autolock is off (manager/raft_keys.py).
        if not autolock:
            cluster.pop("UnlockKey", None)
        elif rotate_unlock_key or not cluster.get("UnlockKey"):
            cluster["UnlockKey"] = format_unlock_key(new_kek())
        self.store.write([{"op": "update", "kind": "cluster",
                           "object": cluster_secrets.sealed(cluster, self.manager.data_key)}])
        return None

    def unlock_key(self) -> dict[str, str]:
        """GET /swarm/unlockkey: the swarm's unlock key, "" without autolock."""
        self.manager.require_quorum()
        return {"UnlockKey": self.manager.open_cluster().get("UnlockKey") or ""}


def check_no_ca_rotation(cluster: dict[str, Any], body: Any) -> None:
    """A root CA rotation (another signing CA, or a new CAConfig.ForceRotate) is refused:
    swarmlet's root CA is the one the swarm was made with. The same CA given again, as a
    playbook that gave it at init does, is no change."""
    given = signing_ca(body)
    current = cluster["RootCA"]["CACert"]
    if given is not None and given[0].strip() != current.strip():
        raise InvalidArgument("root CA rotation is not supported: the swarm keeps the root "
                              "CA it was initialised with (CAConfig.SigningCACert differs)")
    config = (body.get("CAConfig") or {}) if isinstance(body, dict) else {}
    rotate = config.get("ForceRotate")
    if rotate is not None and rotate != (cluster["Spec"].get("CAConfig") or {}).get(
            "ForceRotate", 0):
        raise InvalidArgument("root CA rotation is not supported: CAConfig.ForceRotate "
                              "cannot change")
