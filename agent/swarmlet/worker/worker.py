"""The worker side of the dispatcher: fetch this node's assignments, hand them to the
executor, and send the executor's task status reports to the leader.

Assignments are a long poll (`POST /dispatcher/assignments` naming the set this node holds):
the leader answers as soon as something of this node's changed, with only the changes
(protocol/assignments.py), so a new task starts without waiting for a heartbeat. Status
reports go from a thread of their own, so the executor's threads never wait on the network
(those that come while one is on its way go together in the next); reports that cannot be
delivered are kept and sent with the next ones.
The networks of an answer are programmed before its tasks are handed on, so a new task's
overlay is there when its container is created.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from swarmlet.client import Client
from swarmlet.errors import SwarmletError
from swarmlet.protocol.assignments import COMPLETE, Sections, apply_changes, keyed, listed
from swarmlet.worker.executor import Executor
from swarmlet.worker.logs import LogPublisher
from swarmlet.worker.session import Session

if TYPE_CHECKING:
    from swarmlet.net.dataplane import NodeNetworks

log = logging.getLogger("swarmlet.worker")

POLL_WAIT = 10.0
SLOW = 1.0  # seconds: a longer step is logged
ATTACH_TIMEOUT = 20.0  # the manager waits up to 10 s for the allocator


class Worker:
    def __init__(self, session: Session, node_id: str,
                 networks: NodeNetworks | None = None) -> None:
        self.session = session
        self.networks = networks
        self.executor = Executor(node_id, self._report, networks)
        self.logs = LogPublisher(node_id, lambda addr: session.client(addr, timeout=30))
        self._unsent: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._to_send = threading.Event()
        self._thread = threading.Thread(target=self._run, name="assignments", daemon=True)
        self._reporter = threading.Thread(target=self._send_reports, name="task-status",
                                          daemon=True)
        if networks is not None:
            networks.use_control(self)

    def start(self) -> None:
        self.executor.start()
        self._thread.start()
        self._reporter.start()

    def stop(self) -> None:
        self._stopping.set()
        self._to_send.set()
        self.executor.stop()

    def _run(self) -> None:
        held: Sections = {}
        applies_to = ""
        while not self._stopping.is_set():
            leader = self.session.leader
            if leader is None:
                self._stopping.wait(0.5)  # the session's next heartbeat finds the leader
                continue
            try:
                answer = self.session.client(leader, timeout=POLL_WAIT + 10).post(
                    "/dispatcher/assignments", {"AppliesTo": applies_to, "Wait": POLL_WAIT})
            except SwarmletError as exc:
                log.debug("assignments from %s: %s", leader, exc)
                self.session.follow(None)
                self._stopping.wait(0.5)
                continue
            if self._stopping.is_set():
                break  # the node is leaving or stopping: this answer is stale
            if "Leader" in answer:
                self.session.follow(answer["Leader"])
                continue
            if answer.get("Type") == COMPLETE:
                held = keyed(answer)
            elif answer.get("AppliesTo") == applies_to and answer.get("Changes"):
                held = apply_changes(held, answer["Changes"])
            elif answer.get("AppliesTo") != applies_to:
                applies_to = ""  # not for the set we hold: ask for a complete one
                continue
            else:
                continue  # the poll's wait ran out with nothing new
            applies_to = answer["ResultsIn"]
            self._hand_on(listed(held))
            self._to_send.set()  # kept reports too: the leader answers again

    def _hand_on(self, answer: dict[str, Any]) -> None:
        """The assignments, whole, to the dataplane, the executor and the log publisher."""
        started = time.monotonic()
        self._program_networks(answer)
        took = time.monotonic() - started
        if took > SLOW:  # the tasks of this answer waited for it
            log.info("programming the networks of an assignments answer took %.1f s (%s)",
                     took, ", ".join(f"{k} {v:.1f} s" for k, v in
                                     (self.networks.last_pass if self.networks else {}
                                      ).items()))
        self.executor.assign(answer["Tasks"], answer.get("Secrets"))
        self.logs.update(answer.get("LogSubscriptions") or [])

    def _program_networks(self, answer: dict[str, Any]) -> None:
        if self.networks is None:
            return
        try:
            self.networks.update(answer["Networks"], self.session.state.advertise_addr,
                                 answer.get("Services"), answer.get("HostPorts"),
                                 answer.get("Tasks"), answer.get("Attachments"),
                                 answer.get("AttachableNetworks"))
        except Exception:  # the tasks still go on; the network passes retry
            log.exception("programming this node's networks failed")

    # --- containers on attachable networks (net/dataplane.AttachmentControl) -------------

    def attach_network(self, network_id: str, endpoint_id: str) -> dict[str, Any]:
        return self._leader_client(ATTACH_TIMEOUT).post(
            "/dispatcher/attach", {"Network": network_id, "EndpointID": endpoint_id})

    def detach_network(self, endpoint_id: str) -> None:
        self._leader_client(POLL_WAIT).post("/dispatcher/detach", {"EndpointID": endpoint_id})

    def _leader_client(self, timeout: float) -> Client:
        for _ in range(50):  # the session's next heartbeat finds the leader
            leader = self.session.leader
            if leader is not None:
                return self.session.client(leader, timeout=timeout)
            self._stopping.wait(0.1)
        raise SwarmletError("no manager is reachable (no leader)")

    def _report(self, updates: list[dict[str, Any]]) -> None:
        with self._lock:
            for update in updates:
                self._unsent[update["ID"]] = update  # only the newest report of a task
        self._to_send.set()

    def _send_reports(self) -> None:
        while not self._stopping.is_set():
            self._to_send.wait()
            self._to_send.clear()
            if not self._stopping.is_set():
                self._flush()

    def _flush(self) -> None:
        with self._lock:
            updates = list(self._unsent.values())
        leader = self.session.leader
        if not updates or leader is None:
            return
        try:
            self.session.client(leader).post("/dispatcher/status", {"Updates": updates})
        except SwarmletError as exc:
            log.debug("task status to %s: %s (kept for later)", leader, exc)
            return
        with self._lock:
            for update in updates:
                if self._unsent.get(update["ID"]) is update:
                    del self._unsent[update["ID"]]
