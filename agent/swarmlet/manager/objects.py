"""Docker-shaped Cluster and Node objects, and the views the API returns of them."""

from __future__ import annotations

from typing import Any

from swarmlet.store.objects import clone

SECOND = 10**9  # Docker's durations are nanoseconds
DEFAULT_HEARTBEAT_PERIOD = 5 * SECOND
NODE_CERT_EXPIRY = 90 * 24 * 3600 * SECOND


def new_cluster(cluster_id: str, ca_cert: str, ca_key: str, worker_token: str,
                manager_token: str, heartbeat_period: int) -> dict[str, Any]:
    return {
        "ID": cluster_id,
        "Spec": {
            "Name": "default",
            "Labels": {},
            "Orchestration": {"TaskHistoryRetentionLimit": 5},
            "Raft": {"SnapshotInterval": 10000, "KeepOldSnapshots": 0,
                     "LogEntriesForSlowFollowers": 500, "ElectionTick": 10, "HeartbeatTick": 1},
            "Dispatcher": {"HeartbeatPeriod": heartbeat_period},
            "CAConfig": {"NodeCertExpiry": NODE_CERT_EXPIRY},
            "TaskDefaults": {},
            "EncryptionConfig": {"AutoLockManagers": False},
        },
        "TLSInfo": {"TrustRoot": ca_cert},
        "RootRotationInProgress": False,
        "DefaultAddrPool": ["10.0.0.0/8"],
        "SubnetSize": 24,
        "DataPathPort": 4789,
        "JoinTokens": {"Worker": worker_token, "Manager": manager_token},
        # Never leaves the managers: stripped from every API answer (cluster_view).
        "RootCA": {"CACert": ca_cert, "CAKey": ca_key},
    }


# What never leaves the managers: the CA (its key), the unlock key (GET /swarm/unlockkey
# only), the sealed secrets and the Raft key bookkeeping (manager/raft_keys.py).
_MANAGERS_ONLY = ("RootCA", "UnlockKey", "SealedUnlockKey", "SealedJoinTokens", "RaftKeyEpoch",
                  "RaftKeyMembers")


def cluster_view(cluster: dict[str, Any]) -> dict[str, Any]:
    """The cluster as the API shows it; give it the opened cluster (JoinTokens in clear)."""
    view = clone(cluster)
    for key in _MANAGERS_ONLY:
        view.pop(key, None)
    return view


def new_node(node_id: str, role: str, description: dict[str, Any], addr: str,
             api_addr: str | None, raft_addr: str | None,
             availability: str = "active") -> dict[str, Any]:
    node: dict[str, Any] = {
        "ID": node_id,
        "Spec": {"Labels": {}, "Role": role, "Availability": availability},
        "Description": description,
        "Status": {"State": "ready", "Addr": addr},
    }
    if role == "manager":
        node["ManagerStatus"] = {"Addr": api_addr, "RaftAddr": raft_addr}
    return node


def node_view(node: dict[str, Any], raft_status: dict[str, Any] | None) -> dict[str, Any]:
    """The node as the API shows it: ManagerStatus with Leader and Reachability from the
    Raft status of the manager answering (not stored: they change without writes)."""
    view = clone(node)
    manager = view.get("ManagerStatus")
    if manager is not None:
        raft_addr = manager.pop("RaftAddr", None)
        manager.pop("RaftKeyEpoch", None)  # manager/raft_keys.py's bookkeeping
        seen = (raft_status or {}).get("members", {}).get(raft_addr, "unreachable")
        if seen == "leader":
            manager["Leader"] = True
        manager["Reachability"] = "unreachable" if seen == "unreachable" else "reachable"
    return view
