"""The dispatcher (SwarmKit's manager/dispatcher): what a manager does for the nodes.

- heartbeats: liveness of every node, kept in memory on the leader (heartbeats.py), answered
  without waiting on Raft (a node that comes up is written in a batch: ready_writer.py);
- assignments: each node's tasks, networks, services, secrets..., sent as the changes since
  what the node holds, as soon as a committed change concerns it (sessions.py, fed by a
  watch of the store; assignments.py computes them from one view shared by all nodes);
- task status: nodes' reports, applied forward only.
Only the leader answers; others name the leader.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from swarmlet.ca.identity import NodeIdentity
from swarmlet.manager import tasks
from swarmlet.manager.dispatcher.assignments import (
    AssignmentView,
    node_assignments,
    node_inputs,
)
from swarmlet.manager.dispatcher.heartbeats import Liveness, ready_update
from swarmlet.manager.dispatcher.ready_writer import ReadyWriter
from swarmlet.manager.dispatcher.sessions import Sessions
from swarmlet.manager.logbroker import LogBroker
from swarmlet.manager.sealing import DataKeys
from swarmlet.metrics import HEARTBEATS
from swarmlet.store.raft import RaftStore
from swarmlet.store.state import StoreError
from swarmlet.transport.parked import Parked

log = logging.getLogger("swarmlet.dispatcher")

MAX_WAIT = 30.0
STATUS_ATTEMPTS = 5


def removed(node_id: str) -> StoreError:
    return StoreError(f"Permission denied: node {node_id} was removed from swarm",
                      "unauthorized")


class Dispatcher:
    def __init__(self, store: RaftStore, period: float, data_key: DataKeys,
                 logbroker: LogBroker, managers: Callable[[], list[str]],
                 leader_addr: Callable[[], str | None]) -> None:
        self.store = store
        self.data_key = data_key
        self.logbroker = logbroker
        self.managers = managers
        self.leader_addr = leader_addr
        self.liveness = Liveness(store, period)
        self.ready = ReadyWriter(store)
        self.sessions = Sessions(self._compute, self._live, self._inputs)
        self._logs = object()  # replaced at each change of the log broker's subscriptions
        logbroker.on_change = self._logs_changed
        self._view: AssignmentView | None = None
        self._view_lock = threading.Lock()
        self._stopping = threading.Event()
        self._leading = False
        self._watcher = threading.Thread(
            target=self.sessions.follow_store, args=(store.watch, self._stopping),
            name="dispatcher-watch", daemon=True)

    @property
    def period(self) -> float:
        return self.liveness.period

    def start(self) -> None:
        self._watcher.start()
        self.ready.start()

    def stop(self) -> None:
        self.ready.stop()
        self._stopping.set()
        self.sessions.notify()
        if self._watcher.is_alive():
            self._watcher.join(timeout=5)

    def tick(self) -> None:
        """The leader loop's pass: liveness, and a clean slate when leadership changes."""
        leading = self.store.is_leader()
        if leading != self._leading:
            self._leading = leading
            self.sessions.reset()  # polls waiting on a former leader answer now
        self.liveness.check_liveness()
        if leading:
            _, objects = self.store.view(["node"])
            self.sessions.keep_only({n["ID"] for n in objects["node"]})

    # --- heartbeats -----------------------------------------------------------------------

    def heartbeat(self, identity: NodeIdentity, addr: str,
                  restarting: bool = False) -> dict[str, Any]:
        """Answered from memory, never waiting on Raft: a node that comes up is marked
        ready by the ReadyWriter, in a batch."""
        HEARTBEATS.inc()
        node = self.store.peek("node", identity.node_id)
        if node is None:
            raise removed(identity.node_id)
        answer: dict[str, Any] = {"Period": self.period, "Interval": self.liveness.interval(),
                                  "Managers": self.managers()}
        if not self.store.leads():  # a leader cut off from its quorum sends nodes elsewhere
            answer["Leader"] = self.leader_addr()
            return answer
        self.liveness.seen(identity.node_id, restarting)
        if not restarting and ready_update(node, addr) is not None:
            self.ready.submit(identity.node_id, addr)
        answer["Role"] = node["Spec"]["Role"]
        return answer

    # --- assignments ----------------------------------------------------------------------

    def assignments(self, identity: NodeIdentity, applies_to: str, wait: float) -> Parked:
        """The calling node's assignments: complete, or the changes since `applies_to`
        once there are some (a long poll of at most `wait` seconds, for the server to
        wait on: transport/parked.py)."""
        if not self.store.leads():
            elsewhere = {"Leader": self.leader_addr()}
            return Parked(lambda: elsewhere, self.sessions.subscribe, 0.0, elsewhere)
        return self.sessions.parked(identity.node_id, applies_to,
                                    min(max(wait, 0.0), MAX_WAIT))

    def _live(self) -> bool:
        return not self._stopping.is_set() and self.store.leads()

    def _logs_changed(self) -> None:
        self._logs = object()
        self.sessions.notify()

    def _inputs(self, node_id: str) -> tuple[object, ...]:
        return node_inputs(self._current_view(), node_id, self._logs)

    def _compute(self, node_id: str) -> dict[str, list[Any]]:
        return node_assignments(self._current_view(), node_id, self.data_key,
                                self.logbroker.for_services)

    def _current_view(self) -> AssignmentView:
        with self._view_lock:
            if self._view is None or self._view.index != self.store.index:
                self._view = AssignmentView.read(self.store, self._view)
            return self._view

    # --- task status ----------------------------------------------------------------------

    def update_task_status(self, identity: NodeIdentity, updates: list[dict[str, Any]]) -> None:
        """Apply a node's reports. Only tasks of that node, and only forward: a task's state
        never goes back (a late report of an older state is dropped)."""
        if not self.store.leads():
            raise StoreError("not the leader", "not_leader")
        for _attempt in range(STATUS_ATTEMPTS):
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
