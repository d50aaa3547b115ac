"""The CA server (SwarmKit's manager/ca server side): joins with a token, renewals with the
role the store gives the node now, and operators' client certificates. Signing happens on
any manager; the root key is in the cluster object."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from swarmlet.ca.authority import RootCA
from swarmlet.ca.expiry import node_cert_validity
from swarmlet.ca.identity import CLIENT_PREFIX, MANAGER, WORKER, NodeIdentity
from swarmlet.ca.tokens import InvalidJoinToken, JoinToken, tokens_equal
from swarmlet.manager.dispatcher.dispatcher import removed
from swarmlet.manager.membership import Membership
from swarmlet.manager.objects import new_node
from swarmlet.store.objects import new_id
from swarmlet.store.raft import RaftStore
from swarmlet.store.state import StoreError

log = logging.getLogger("swarmlet.ca")

INVALID_TOKEN = "A valid join token is necessary to join this cluster"


class CAServer:
    def __init__(self, store: RaftStore, membership: Membership,
                 cluster: Callable[[], dict[str, Any]],
                 require_quorum: Callable[[], None]) -> None:
        """`cluster`: the cluster object with its secrets opened (Manager.open_cluster)."""
        self.store = store
        self.membership = membership
        self.cluster = cluster
        self.require_quorum = require_quorum

    def root_ca(self) -> RootCA:
        root = self.cluster()["RootCA"]
        return RootCA(root["CACert"].encode(), root["CAKey"].encode())

    def join(self, token: str, csr: str, description: dict[str, Any], addr: str,
             api_port: int, raft_port: int, availability: str = "active") -> dict[str, Any]:
        """A new node presents a join token and a CSR: it becomes a node of the store and
        gets its certificate (and, with the manager token, a place in Raft)."""
        self.require_quorum()
        cluster = self.cluster()
        try:
            JoinToken.parse(token)
        except InvalidJoinToken as exc:
            raise StoreError(INVALID_TOKEN, "unauthorized") from exc
        tokens = cluster["JoinTokens"]
        if tokens_equal(token, tokens["Manager"]):
            role = MANAGER
        elif tokens_equal(token, tokens["Worker"]):
            role = WORKER
        else:
            raise StoreError(INVALID_TOKEN, "unauthorized")
        node_id = new_id()
        api_addr, raft_addr = f"{addr}:{api_port}", f"{addr}:{raft_port}"
        node = new_node(node_id, role, description, addr, api_addr if role == MANAGER else None,
                        raft_addr if role == MANAGER else None, availability)
        if role == MANAGER:  # the keys it gets below
            node["ManagerStatus"]["RaftKeyEpoch"] = self.store.keys.newest
        self.store.write([{"op": "create", "kind": "node", "object": node}])
        log.info("node %s (%s) joined as a %s", node_id, description.get("Hostname"), role)
        return self._credentials(node_id, role, csr, raft_addr, addr)

    def renew(self, identity: NodeIdentity, csr: str, raft_port: int) -> dict[str, Any]:
        """A node asks for a new certificate: with the role the store says it has now
        (a promotion or demotion takes effect this way)."""
        self.require_quorum()
        node = self.store.get("node", identity.node_id)
        if node is None:
            raise removed(identity.node_id)
        role = node["Spec"]["Role"]
        raft_addr = f"{node['Status']['Addr']}:{raft_port}"
        if role == MANAGER and "ManagerStatus" not in node:
            node["ManagerStatus"] = {"Addr": f"{node['Status']['Addr']}:{_api_port(node)}",
                                     "RaftAddr": raft_addr,
                                     "RaftKeyEpoch": self.store.keys.newest}
            self.store.write([{"op": "update", "kind": "node", "object": node}])
        return self._credentials(identity.node_id, role, csr, raft_addr,
                                 node["Status"]["Addr"])

    def client_certificate(self, csr: str) -> dict[str, Any]:
        """A certificate for an operator's client (Ansible, a remote CLI): manager access to
        the API, under an ID that no node has. Only the local socket may ask (root on a
        manager), as only root there can read the manager's own key. Not a node: the API
        lets its OU alone decide (api/access.py); it lives as long as node certificates."""
        cluster = self.cluster()
        client_id = f"{CLIENT_PREFIX}{new_id()}"
        cert = self.root_ca().sign_csr(csr.encode(), client_id, MANAGER, cluster["ID"],
                                       node_cert_validity(cluster["Spec"]))
        log.info("issued client certificate %s", client_id)
        return {"ID": client_id, "Certificate": cert.decode(),
                "CACertificate": cluster["RootCA"]["CACert"]}

    def _credentials(self, node_id: str, role: str, csr: str, raft_addr: str,
                     addr: str) -> dict[str, Any]:
        """A manager's certificate names its advertise address: remote Docker clients
        check it (DOCKER_TLS_VERIFY against tcp://ADDR:2377)."""
        cluster = self.cluster()
        cert = self.root_ca().sign_csr(csr.encode(), node_id, role, cluster["ID"],
                                       node_cert_validity(cluster["Spec"]),
                                       addresses=[addr] if role == MANAGER else [])
        answer: dict[str, Any] = {
            "NodeID": node_id,
            "ClusterID": cluster["ID"],
            "Role": role,
            "Certificate": cert.decode(),
            "CACertificate": cluster["RootCA"]["CACert"],
            "Managers": self.membership.manager_addrs(),
        }
        if role == MANAGER:
            self.membership.admit(raft_addr)
            answer["RaftKeys"] = self.store.keys.export()
            answer["RaftKeyEpoch"] = self.store.keys.send_epoch
            answer["RaftMembers"] = self.store.members()
        return answer


def _api_port(node: dict[str, Any]) -> int:
    return int(node.get("Description", {}).get("ApiPort", 2377))
