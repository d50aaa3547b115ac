"""A manager: this node's Raft replica and what runs on it — the CA server (ca_server.py),
Raft membership (membership.py), the dispatcher (dispatcher/), the log broker and the
leader's control loops (loops.py). The cluster API handlers (controlapi/) call into it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from swarmlet.manager import cluster_secrets
from swarmlet.manager.ca_server import CAServer
from swarmlet.manager.cluster_metrics import ClusterCollector
from swarmlet.manager.dispatcher.dispatcher import Dispatcher
from swarmlet.manager.event_journal import EventJournal
from swarmlet.manager.logbroker import LogBroker, LogStreams
from swarmlet.manager.loops import ControlLoops
from swarmlet.manager.membership import Membership
from swarmlet.manager.objects import SECOND
from swarmlet.manager.raft_keys import KeyHolder, RaftKeys
from swarmlet.manager.sealing import DataKeys
from swarmlet.store.raft import NO_LEADER, RaftStore
from swarmlet.store.state import StoreError

log = logging.getLogger("swarmlet.manager")

NOT_LEADER_RETRY = 0.5
CATCH_UP_TIMEOUT = 30.0


class NoQuorum(StoreError):
    def __init__(self) -> None:
        super().__init__(NO_LEADER, "no_leader")


class Manager:
    def __init__(self, store: RaftStore, keys: KeyHolder, node_id: str,
                 on_members: Callable[[list[str]], None] | None = None) -> None:
        self.store = store
        self.on_members = on_members
        # Seal secret and config data, the CA key and the join tokens (manager/sealing.py)
        self.data_key = DataKeys(store.keys)
        self.node_id = node_id
        cluster = self._wait_for_cluster(CATCH_UP_TIMEOUT)
        self.membership = Membership(store, node_id)
        self.raft_keys = RaftKeys(store, keys, self.data_key, node_id,
                                  self.membership.manager_addrs, lambda: self.api_addr)
        self.ca = CAServer(store, self.membership, self.open_cluster, self.require_quorum)
        self.logbroker = LogBroker()  # used while this manager leads
        self.log_streams = LogStreams()  # the log requests of this manager's own clients
        self.dispatcher = Dispatcher(store, cluster["Spec"]["Dispatcher"]["HeartbeatPeriod"]
                                     / SECOND, self.data_key, self.logbroker,
                                     self.membership.manager_addrs,
                                     self.membership.leader_api_addr)
        self.control_loops = ControlLoops(store)
        self.events = EventJournal(store)  # on every manager: `swarmlet events`, the visualizer
        self.metrics = ClusterCollector(store, store.status)  # read at each scrape
        self._stopping = threading.Event()
        self._loop = threading.Thread(target=self._leader_loop, name="manager-loops",
                                      daemon=True)
        self.peer_client: Callable[[str], Any] | None = None  # set by the node: mTLS client

    # --- cluster state --------------------------------------------------------------------

    def cluster(self) -> dict[str, Any]:
        clusters = self.store.list("cluster")
        if not clusters:
            raise StoreError("the cluster object is missing from the store", "not_found")
        return clusters[0]

    def open_cluster(self) -> dict[str, Any]:
        """The cluster with its CA key, join tokens and unlock key in clear (a copy)."""
        return cluster_secrets.opened(self.cluster(), self.data_key)

    def _wait_for_cluster(self, timeout: float) -> dict[str, Any]:
        """A new manager's replica is empty until the leader has sent it the log."""
        deadline = time.monotonic() + timeout
        while not self.store.list("cluster"):
            if time.monotonic() > deadline:
                raise StoreError("this manager's replica did not catch up with the leader "
                                 f"within {timeout:.0f} s", "unavailable")
            time.sleep(0.05)
        return self.cluster()

    def require_quorum(self) -> None:
        """Manager commands fail, as Docker's do, when this manager sees no quorum."""
        if not self.store.has_quorum():
            raise NoQuorum()

    @property
    def api_addr(self) -> str:
        return self.membership.api_addr

    def leader_api_addr(self) -> str | None:
        return self.membership.leader_api_addr()

    # --- the leader's loops -------------------------------------------------------------

    def start(self) -> None:
        self.events.start()
        self.dispatcher.start()
        self._loop.start()
        self.control_loops.start()
        self.raft_keys.start()

    def stop(self) -> None:
        self.raft_keys.stop()
        self.control_loops.stop()
        self._stopping.set()
        self.dispatcher.stop()
        self.events.stop()
        if self._loop.is_alive():
            self._loop.join(timeout=10)

    def _leader_loop(self) -> None:
        while not self._stopping.wait(NOT_LEADER_RETRY):
            try:
                if self.on_members:
                    self.on_members(self.store.members())
                self.dispatcher.tick()
                if self.store.is_leader():
                    self.membership.reconcile_demotions()
            except StoreError as exc:
                log.debug("leader loop: %s", exc)
            except Exception:
                log.exception("leader loop failed; going on")

