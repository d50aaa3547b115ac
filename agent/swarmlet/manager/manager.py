"""A manager: this node's Raft replica, the CA that signs node certificates, the dispatcher,
and the leader's loops. The cluster API handlers (controlapi/) call into it.

Raft membership follows the managers: a node joining with the manager token, or promoted,
is added to Raft by the manager that issues its manager certificate, before it starts its
own replica; a demoted manager is removed by the leader's role loop.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from swarmlet.ca.authority import RootCA
from swarmlet.ca.expiry import node_cert_validity
from swarmlet.ca.identity import CLIENT_PREFIX, MANAGER, WORKER, NodeIdentity
from swarmlet.ca.tokens import InvalidJoinToken, JoinToken, tokens_equal
from swarmlet.manager import tasks
from swarmlet.manager.allocator import network_objects as N
from swarmlet.manager.dispatcher import (
    assignment_networks,
    assignment_ports,
    assignment_secrets,
    assignment_services,
)
from swarmlet.manager.dispatcher import attachments as NA
from swarmlet.manager.dispatcher.heartbeats import Dispatcher
from swarmlet.manager.logbroker import LogBroker, LogStreams
from swarmlet.manager.loops import ControlLoops
from swarmlet.manager.objects import SECOND, new_node
from swarmlet.manager.sealing import data_key
from swarmlet.store.objects import new_id
from swarmlet.store.raft import NO_LEADER, RaftStore
from swarmlet.store.state import StoreError

log = logging.getLogger("swarmlet.manager")

INVALID_TOKEN = "A valid join token is necessary to join this cluster"
NOT_LEADER_RETRY = 0.5
CATCH_UP_TIMEOUT = 30.0


class NoQuorum(StoreError):
    def __init__(self) -> None:
        super().__init__(NO_LEADER, "no_leader")


class Manager:
    def __init__(self, store: RaftStore, raft_key: str, node_id: str,
                 on_members: Callable[[list[str]], None] | None = None) -> None:
        self.store = store
        self.on_members = on_members
        self.raft_key = raft_key
        self.data_key = data_key(raft_key)  # seals secret and config data (manager/sealing.py)
        self.node_id = node_id
        cluster = self._wait_for_cluster(CATCH_UP_TIMEOUT)
        period = cluster["Spec"]["Dispatcher"]["HeartbeatPeriod"] / SECOND
        self.dispatcher = Dispatcher(store, period)
        self._stopping = threading.Event()
        self._loop = threading.Thread(target=self._leader_loop, name="manager-loops",
                                      daemon=True)
        self.control_loops = ControlLoops(store)
        self.logbroker = LogBroker()  # used while this manager leads
        self.log_streams = LogStreams()  # the log requests of this manager's own clients
        self.peer_client: Callable[[str], Any] | None = None  # set by the node: mTLS client

    # --- cluster state --------------------------------------------------------------------

    def cluster(self) -> dict[str, Any]:
        clusters = self.store.list("cluster")
        if not clusters:
            raise StoreError("the cluster object is missing from the store", "not_found")
        return clusters[0]

    def _wait_for_cluster(self, timeout: float) -> dict[str, Any]:
        """A new manager's replica is empty until the leader has sent it the log."""
        deadline = time.monotonic() + timeout
        while not self.store.list("cluster"):
            if time.monotonic() > deadline:
                raise StoreError("this manager's replica did not catch up with the leader "
                                 f"within {timeout:.0f} s", "unavailable")
            time.sleep(0.05)
        return self.cluster()

    def root_ca(self) -> RootCA:
        root = self.cluster()["RootCA"]
        return RootCA(root["CACert"].encode(), root["CAKey"].encode())

    def require_quorum(self) -> None:
        """Manager commands fail, as Docker's do, when this manager sees no quorum."""
        if not self.store.has_quorum():
            raise NoQuorum()

    # --- joining and certificates -------------------------------------------------------

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
        self.store.write([{"op": "create", "kind": "node", "object": node}])
        log.info("node %s (%s) joined as a %s", node_id, description.get("Hostname"), role)
        return self._credentials(node_id, role, csr, raft_addr)

    def renew(self, identity: NodeIdentity, csr: str, raft_port: int) -> dict[str, Any]:
        """A node asks for a new certificate: with the role the store says it has now
        (a promotion or demotion takes effect this way)."""
        self.require_quorum()
        node = self.store.get("node", identity.node_id)
        if node is None:
            raise StoreError(f"Permission denied: node {identity.node_id} was removed from swarm",
                             "unauthorized")
        role = node["Spec"]["Role"]
        raft_addr = f"{node['Status']['Addr']}:{raft_port}"
        if role == MANAGER and "ManagerStatus" not in node:
            node["ManagerStatus"] = {"Addr": f"{node['Status']['Addr']}:{self._api_port(node)}",
                                     "RaftAddr": raft_addr}
            self.store.write([{"op": "update", "kind": "node", "object": node}])
        return self._credentials(identity.node_id, role, csr, raft_addr)

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

    def _api_port(self, node: dict[str, Any]) -> int:
        return int(node.get("Description", {}).get("ApiPort", 2377))

    def _credentials(self, node_id: str, role: str, csr: str, raft_addr: str,
                     ) -> dict[str, Any]:
        cluster = self.cluster()
        cert = self.root_ca().sign_csr(csr.encode(), node_id, role, cluster["ID"],
                                       node_cert_validity(cluster["Spec"]))
        answer: dict[str, Any] = {
            "NodeID": node_id,
            "ClusterID": cluster["ID"],
            "Role": role,
            "Certificate": cert.decode(),
            "CACertificate": cluster["RootCA"]["CACert"],
            "Managers": self.manager_addrs(),
        }
        if role == MANAGER:
            if raft_addr not in self.store.members():
                self.store.add_member(raft_addr)
            answer["RaftKey"] = self.raft_key
            answer["RaftMembers"] = self.store.members()
        return answer

    @property
    def api_addr(self) -> str:
        """This manager's cluster API address, as other nodes reach it."""
        node = self.store.get("node", self.node_id) or {}
        return (node.get("ManagerStatus") or {}).get("Addr", "")

    def manager_addrs(self) -> list[str]:
        return sorted(n["ManagerStatus"]["Addr"] for n in self.store.list("node")
                      if n.get("ManagerStatus"))

    def leader_api_addr(self) -> str | None:
        leader = self.store.leader()
        for node in self.store.list("node"):
            status = node.get("ManagerStatus") or {}
            if status.get("RaftAddr") == leader:
                return status.get("Addr")
        return None

    # --- heartbeats -----------------------------------------------------------------------

    def heartbeat(self, identity: NodeIdentity, addr: str) -> dict[str, Any]:
        node = self.store.get("node", identity.node_id)
        if node is None:
            raise StoreError(f"Permission denied: node {identity.node_id} was removed from swarm",
                             "unauthorized")
        answer: dict[str, Any] = {"Period": self.dispatcher.period,
                                  "Managers": self.manager_addrs()}
        if not self.store.is_leader():
            answer["Leader"] = self.leader_api_addr()
            return answer
        self.dispatcher.heartbeat(identity.node_id, addr)
        answer["Role"] = node["Spec"]["Role"]
        return answer

    # --- assignments and task status (the dispatcher's other half) ----------------------

    def assignments(self, identity: NodeIdentity, index: int, wait: float,
                    log_generation: int = -1) -> dict[str, Any]:
        """The tasks of the calling node, once the store has moved past `index` (or after
        `wait` seconds): a long poll, so a new assignment reaches the node at once."""
        if not self.store.is_leader():
            return {"Leader": self.leader_api_addr()}
        deadline = time.monotonic() + min(max(wait, 0.0), 30.0)
        while self.store.index <= index and self.logbroker.generation == log_generation \
                and time.monotonic() < deadline and self.store.is_leader() \
                and not self._stopping.is_set():
            time.sleep(0.05)
        node_id = identity.node_id
        generation = self.logbroker.generation
        index = self.store.index  # read first: an answer may be newer than it says, never older
        tasks_, nodes = self.store.list("task"), self.store.list("node")
        me = next((n for n in nodes if n["ID"] == node_id), None)
        mine = assignment_networks.sendable([t for t in tasks_ if t.get("NodeID") == node_id],
                                            me)
        all_networks = self.store.list("network")
        attachments = [a for a in self.store.list("attachment") if NA.is_allocated(a)]
        networks = assignment_networks.node_networks(node_id, mine, nodes, all_networks, tasks_,
                                                     attachments)
        ingress = next((n["ID"] for n in all_networks if (n.get("Spec") or {}).get("Ingress")),
                       None)
        services = assignment_services.node_services(
            {n["Network"]["ID"] for n in networks}, self.store.list("service"), tasks_, ingress)
        return {"Index": index, "Tasks": mine, "Networks": networks, "Services": services,
                "HostPorts": assignment_ports.host_ports(node_id, tasks_),
                "Secrets": assignment_secrets.node_data(
                    mine, {k: self.store.list(k) for k in assignment_secrets.KINDS},
                    self.data_key),
                "Attachments": [a for a in attachments if a.get("NodeID") == node_id],
                "AttachableNetworks": [N.attachment_copy(n) for n in all_networks
                                       if n["Spec"].get("Attachable")],
                "LogGeneration": generation,
                "LogSubscriptions": self.logbroker.for_services({t["ServiceID"] for t in mine})}

    def update_task_status(self, identity: NodeIdentity, updates: list[dict[str, Any]]) -> None:
        """Apply a node's reports. Only tasks of that node, and only forward: a task's state
        never goes back (a late report of an older state is dropped)."""
        if not self.store.is_leader():
            raise StoreError("not the leader", "not_leader")
        for _attempt in range(5):
            changes = []
            for update in updates:
                task = self.store.get("task", str(update.get("ID")))
                status = update.get("Status") or {}
                if task is None or task.get("NodeID") != identity.node_id:
                    continue
                new, old = status.get("State"), task["Status"].get("State", "new")
                if new not in tasks.ORDER or tasks.ORDER[new] < tasks.ORDER[old] or \
                        old in tasks.TERMINAL or (new == old and status == task["Status"]):
                    continue  # states only move forward, and an ended task stays ended
                task["Status"] = status
                changes.append(tasks.update(task))
            if not changes:
                return
            try:
                self.store.write(changes)
                return
            except StoreError as exc:
                if exc.code != "conflict":
                    raise
        log.warning("task status from %s dropped after repeated conflicts", identity.node_id)

    # --- the leader's loops -------------------------------------------------------------

    def start(self) -> None:
        self._loop.start()
        self.control_loops.start()

    def stop(self) -> None:
        self.control_loops.stop()
        self._stopping.set()
        if self._loop.is_alive():
            self._loop.join(timeout=10)

    def _leader_loop(self) -> None:
        while not self._stopping.wait(NOT_LEADER_RETRY):
            try:
                if self.on_members:
                    self.on_members(self.store.members())
                self.dispatcher.check_liveness()
                if self.store.is_leader():
                    self._reconcile_demotions()
            except StoreError as exc:
                log.debug("leader loop: %s", exc)
            except Exception:
                log.exception("leader loop failed; going on")

    def _reconcile_demotions(self) -> None:
        """Managers whose desired role is worker leave Raft (the leader hands over first
        if it is the one demoted); their node loses ManagerStatus."""
        for node in self.store.list("node"):
            status = node.get("ManagerStatus")
            if node["Spec"]["Role"] != WORKER or not status:
                continue
            raft_addr = status["RaftAddr"]
            if raft_addr in self.store.members():
                log.info("demoting %s: removing %s from raft", node["ID"], raft_addr)
                self.store.remove_member(raft_addr)
            del node["ManagerStatus"]
            self.store.write([{"op": "update", "kind": "node", "object": node}])


def new_raft_key() -> str:
    return secrets.token_urlsafe(32)
