"""The node's session with the managers: heartbeats to the leader, and role changes.

Every node (managers too) heartbeats the leader every period over mutual TLS with its node
certificate. A manager that is not the leader answers with where the leader is. When the
answer says the node's role differs from its certificate's (a promotion or demotion), the
session asks for a new certificate and hands the result to `on_role_change`.

A node removed from the swarm (`node rm --force` while it runs) is refused by every manager
("... was removed ..."). A manager whose replica lags can refuse a node that has only just
joined, so the session believes it only when every known manager refused it, on
REMOVED_BEATS beats in a row spanning two heartbeat periods; then `on_removed` runs (the node
leaves: its tasks stop, its keys and state go), as a Docker node does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from swarmlet.ca.csr import check_issued_for, renewal_request
from swarmlet.ca.files import (
    CA_CERT_FILE,
    NODE_CERT_FILE,
    NODE_KEY_FILE,
    read_node_key,
    save_node_files,
)
from swarmlet.ca.identity import MANAGER
from swarmlet.ca.node_state import NodeFiles, NodeState
from swarmlet.ca.renewal import Validity
from swarmlet.ca.tls import client_context
from swarmlet.client import ApiResponseError, Client
from swarmlet.errors import SwarmletError
from swarmlet.protocol.heartbeat import beat_interval, heartbeat_timeout

log = logging.getLogger("swarmlet.session")

REMOVED_BEATS = 3


def says_removed(err: ApiResponseError, node_id: str) -> bool:
    """A manager's refusal because this node is no longer in the swarm (api/access.py,
    manager/dispatcher/dispatcher.py say so in these words)."""
    return err.status == 403 and node_id in str(err) and "was removed" in str(err)


class Session:
    def __init__(self, files: NodeFiles, state: NodeState, period: float,
                 on_role_change: Callable[[dict[str, Any]], None],
                 on_removed: Callable[[], None] | None = None) -> None:
        self.files = files
        self.state = state
        self.period = period
        self.interval = 0.0  # how often to beat, as the leader last said (0: from the period)
        self.on_role_change = on_role_change
        self.on_removed = on_removed
        self._refusals: list[float] = []  # beats on which every manager said "removed"
        self._refused_by: set[str] = set()  # managers that said so in this beat
        self._target: str | None = None  # the leader's API address, once known
        self._unanswered: set[str] = set()  # managers whose last heartbeat went unanswered
        self._address_checked = False  # _lacks_address ran
        self._stopping = threading.Event()
        self._clients: dict[tuple[str, float], Client] = {}
        self._clients_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="session", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self._forget_clients()

    def client(self, addr: str, timeout: float | None = None) -> Client:
        """A client of a manager's cluster API, presenting this node's certificate. Clients
        are kept (with their kept-alive connections), so beats and polls pay one TLS
        handshake per manager and thread, not one each; a renewal starts them afresh."""
        key = (addr, timeout or heartbeat_timeout(self.period))
        with self._clients_lock:
            client = self._clients.get(key)
            if client is None:
                context = client_context(self.files.certs_dir, None,
                                         self.files.node_key_password)
                client = self._clients[key] = Client(f"tcp://{addr}", tls_context=context,
                                                     timeout=key[1])
            return client

    def _forget_clients(self) -> None:
        with self._clients_lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    @property
    def leader(self) -> str | None:
        """The leader's API address, as the last heartbeat found it."""
        return self._target

    def follow(self, leader: str | None) -> None:
        """Someone told us where the leader is (or that the one we knew is gone)."""
        self._target = leader

    def _candidates(self) -> list[str]:
        """The known leader, then the other managers; those that did not answer last time
        go last, so a dead leader costs one timeout, not one per beat."""
        managers = [m for m in self.state.managers if m != self._target]
        managers.sort(key=lambda m: m in self._unanswered)
        return ([self._target] if self._target else []) + managers

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.beat()
            except Exception:
                log.exception("heartbeat failed")
            self._stopping.wait(self.interval or beat_interval(self.period))

    def beat(self) -> None:
        """One heartbeat: to the leader if known, else to each manager until one answers;
        a manager that is not the leader names it, and the beat goes there."""
        self._refused_by = set()
        for addr in self._candidates():
            answer = self._heartbeat(addr)
            if answer is not None and "Leader" in answer:
                leader = answer["Leader"]
                answer = self._heartbeat(leader) if leader and leader != addr else None
                addr = leader
            if answer is None or "Leader" in answer:
                continue
            self._target = addr
            self._refusals = []
            role = answer.get("Role")
            if role and role != self.state.role:
                self.renew(addr)
            elif self._validity().needs_renewal() or self._lacks_address():
                self.renew(addr)  # past a random 50-80 % of its life, as SwarmKit does
            return
        self._target = None
        log.debug("no manager answered a heartbeat")
        self._count_refusal()

    def _count_refusal(self) -> None:
        """After a beat no manager accepted: was it refused by all of them as removed?"""
        if not self.state.managers or not set(self.state.managers) <= self._refused_by:
            self._refusals = []
            return
        now = time.monotonic()
        self._refusals.append(now)
        if len(self._refusals) >= REMOVED_BEATS and now - self._refusals[0] >= 2 * self.period:
            log.warning("every manager says this node was removed from the swarm: leaving")
            self._refusals = []
            if self.on_removed is not None:
                self.on_removed()

    def say_restarting(self) -> None:
        """A last beat before the agent stops on purpose: the leader gives this node time to
        come back before it replaces its tasks (protocol/heartbeat.py)."""
        if self._target is None:
            return
        try:
            self.client(self._target, timeout=1.0).post(
                "/dispatcher/heartbeat", {"Addr": self.state.advertise_addr, "Restarting": True})
        except SwarmletError as exc:
            log.debug("restarting beat to %s: %s", self._target, exc)

    def _heartbeat(self, addr: str) -> dict[str, Any] | None:
        try:
            answer = self.client(addr).post("/dispatcher/heartbeat",
                                             {"Addr": self.state.advertise_addr})
        except ApiResponseError as exc:
            log.warning("heartbeat to %s refused: %s", addr, exc)
            if says_removed(exc, self.state.node_id):
                self._refused_by.add(addr)
            return None
        except SwarmletError as exc:
            log.debug("heartbeat to %s failed: %s", addr, exc)
            self._unanswered.add(addr)
            return None
        self._unanswered.discard(addr)
        self.period = float(answer.get("Period", self.period))
        self.interval = float(answer.get("Interval") or 0)  # the leader's pace for this swarm
        if answer.get("Managers"):
            self.state.managers = answer["Managers"]
        return answer

    def _lacks_address(self) -> bool:
        """Once per run: whether this manager's certificate lacks its advertise address
        (issued before certificates named it): remote Docker clients that check the host
        refuse it, so it is renewed at once rather than at 50-80 % of its life."""
        if self._address_checked or self.state.role != MANAGER:
            return False
        self._address_checked = True
        from swarmlet.ca.authority import names_address  # the crypto library: managers'

        cert = (self.files.certs_dir / NODE_CERT_FILE).read_bytes()
        return not names_address(cert, self.state.advertise_addr)

    def _validity(self) -> Validity:
        return Validity.of((self.files.certs_dir / NODE_CERT_FILE).read_bytes())

    def renew(self, addr: str) -> None:
        """Get a certificate for the role the cluster now gives this node."""
        certs_dir = self.files.certs_dir
        key = (certs_dir / NODE_KEY_FILE).read_bytes()  # a manager's: encrypted, kept so
        csr = renewal_request(read_node_key(certs_dir, self.files.node_key_password))
        answer = self.client(addr).post("/ca/renew", {
            "CSR": csr.decode(), "RaftPort": self.state.raft_port})
        cert = answer["Certificate"].encode()
        check_issued_for(cert, csr)
        save_node_files(certs_dir, key, cert, (certs_dir / CA_CERT_FILE).read_bytes())
        self._forget_clients()  # the next requests present the new certificate
        log.info("new certificate: role %s", answer["Role"])
        if answer["Role"] != self.state.role:
            self.on_role_change(answer)

