"""The executor: makes this node's containers match its assigned tasks.

Assignments come from the dispatcher (the tasks of this node with their desired states);
containers are found by the `swarmlet.node.id` label, so after an agent restart the running
ones are adopted, not duplicated. Each pass reports state transitions it observed; a pass runs
when assignments change, when Docker reports a container event, and every second.

A pass lists the node's containers in one call and inspects only those whose state or health
changed since the last pass (an idle node costs one list a second). Starting and stopping
containers, the slow part, runs in a few worker threads, as SwarmKit runs a controller per
task: ten new tasks start side by side, and each reports as soon as it is running. Stops have
threads of their own: a stop may wait out its task's grace period (10 s by default), and must
not hold back the starts of a rolling update meanwhile.

A task with NetworksAttachments gets its container created on its overlays (through this
node's network driver, so its interfaces exist before its process starts); until the node's
overlay for a network is programmed the task stays preparing, and is rejected if that lasts.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from swarmlet.errors import SwarmletError
from swarmlet.net import names
from swarmlet.net.dataplane import NetworkNotReady
from swarmlet.protocol import tasks as T
from swarmlet.protocol.tasks import container_name
from swarmlet.transport.engine import Engine, EngineError, EngineNotFound
from swarmlet.worker.config_templates import ConfigTemplateError, render_configs
from swarmlet.worker.containers import (
    NODE_LABEL,
    TASK_LABEL,
    create_body,
    endpoint_config,
    observed_state,
    stop_timeout,
    volume_requests,
)
from swarmlet.worker.task_files import TaskFiles

if TYPE_CHECKING:
    from swarmlet.net.dataplane import NodeNetworks

log = logging.getLogger("swarmlet.executor")

Report = Callable[[list[dict[str, Any]]], None]
SLOW_PASS = 2.0  # seconds: a longer pass is logged (it holds back new assignments)
NETWORK_WAIT = 60.0  # seconds a task may wait for its overlay here before it is rejected
WORKERS = 4  # containers started at once; as many more may be stopping
Status = tuple[str, str, str]  # (task state, message, error)


@dataclass
class Seen:
    """A container of this node as the last pass saw it: `attrs` is its `docker inspect`,
    taken again only when `key` (its state and health, from the list) changes."""

    id: str
    name: str
    status: str
    key: tuple[str, str]
    attrs: dict[str, Any]


def _list_key(summary: dict[str, Any]) -> tuple[str, str]:
    """What in a container's list entry says it may have changed: its state, and the health
    Docker appends to its status ("Up 3 minutes (healthy)")."""
    text = str(summary.get("Status") or "")
    health = text[text.rfind("("):] if text.endswith(")") else ""
    return str(summary.get("State") or ""), health


class Executor:
    def __init__(self, node_id: str, report: Report,
                 networks: NodeNetworks | None = None) -> None:
        self.node_id = node_id
        self.report = report
        self.networks = networks
        self._waiting: dict[str, float] = {}  # task ID → when it began to wait for a network
        self.client = Engine(timeout=60)
        self._assigned: dict[str, dict[str, Any]] = {}
        # Secret and config data of the assignments, (kind, ID) → bytes: in memory only.
        self._data: dict[tuple[str, str], bytes] = {}
        self._templated: dict[str, str] = {}  # config ID → its template driver
        self.files = TaskFiles(names.machine() or node_id)
        self._reported: dict[str, Status] = {}
        self._seen: dict[str, Seen] = {}  # container ID -> as inspected
        self._busy: set[str] = set()  # tasks with a start or stop in a worker thread
        self._starts = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="start")
        self._stops = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="stop")
        self._network_lock = threading.Lock()
        self._have_assignments = False
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="executor", daemon=True)
        self._events = threading.Thread(target=self._watch_events, name="docker-events",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._events.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=10)
        for pool in (self._starts, self._stops):
            pool.shutdown(wait=True, cancel_futures=True)
        self.client.close()

    def assign(self, tasks: list[dict[str, Any]],
               data: list[dict[str, Any]] | None = None) -> None:
        """New assignments: the tasks, and the secret and config data they refer to."""
        with self._lock:
            self._assigned = {t["ID"]: t for t in tasks}
            if data is not None:
                self._data = {(d["Kind"], d["ID"]): base64.b64decode(d["Data"]) for d in data}
                self._templated = {d["ID"]: d["Templating"]["Name"] for d in data
                                   if (d.get("Templating") or {}).get("Name")}
            self._have_assignments = True
        self._wake.set()

    # --- the loop -----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            if self._stopping.is_set():
                break
            started = time.monotonic()
            try:
                self.reconcile()
            except EngineError as exc:
                log.warning("executor pass: Docker Engine: %s", exc)
            except Exception:
                log.exception("executor pass failed; going on")
            if (took := time.monotonic() - started) > SLOW_PASS:
                log.info("an executor pass took %.1f s", took)

    def _watch_events(self) -> None:
        """Container events of this node wake the loop (a container died, turned unhealthy)."""
        while not self._stopping.is_set():
            try:
                events = self.client.events({
                    "type": "container", "label": [f"{NODE_LABEL}={self.node_id}"]})
                for _event in events:
                    self._wake.set()
                    if self._stopping.is_set():
                        return
            except Exception as exc:  # dockerd restarted: reconnect; passes re-list anyway
                log.debug("docker events: %s", exc)
                self._stopping.wait(1.0)

    def reconcile(self) -> None:
        with self._lock:
            if not self._have_assignments:
                return  # before the first assignments, nothing may be judged an orphan
            assigned = dict(self._assigned)
            busy = set(self._busy)
        containers = self._containers(busy)
        updates: list[dict[str, Any]] = []
        for task in assigned.values():
            if task["ID"] in busy:
                continue  # a worker thread is starting or stopping it, and will report
            reported = self._reported.get(task["ID"])
            if reported and reported[0] in T.TERMINAL:
                continue  # an ended task's first report is its last (no 137 after unhealthy)
            container = containers.get(task["ID"])
            status = self._reconcile_task(task, container)
            update = self._note(task, status, container.attrs if container else None)
            if update is not None:
                updates.append(update)
        for task_id, seen in containers.items():
            if task_id not in assigned and task_id not in busy:  # its task was deleted
                log.info("removing container %s (no such task here)", seen.name)
                _quietly(lambda c=seen.id: self.client.remove_container(c))
        try:  # a task's files go when it ends (or leaves), its container with them
            self.files.release_all_but(
                {tid for tid, t in assigned.items() if T.is_active(t)} | busy
                | {tid for tid, c in containers.items() if c.status == "running"})
        except SwarmletError as exc:
            log.warning("task files not released: %s", exc)
        with self._lock:
            self._reported = {k: v for k, v in self._reported.items() if k in assigned}
        with self._network_lock:
            for task_id in [k for k in self._waiting if k not in assigned]:
                del self._waiting[task_id]
        if updates:
            self.report(updates)

    def _containers(self, busy: set[str]) -> dict[str, Seen]:
        """This node's containers by task ID: one list call; an inspect only for those that
        are new or changed. Not those of `busy` tasks (a worker thread starts or stops them
        and reports): dockerd holds a container's lock through its start, so their inspect
        would hold this pass, and the next start it hands out, until that start is done."""
        summaries = self.client.containers({"label": f"{NODE_LABEL}={self.node_id}"})
        seen: dict[str, Seen] = {}
        out: dict[str, Seen] = {}
        for summary in summaries:
            cid, key = summary["Id"], _list_key(summary)
            known = self._seen.get(cid)
            if (summary.get("Labels") or {}).get(TASK_LABEL) in busy:
                if known is not None:
                    seen[cid] = known  # inspected again once its key changed and it is idle
                continue
            if known is None or known.key != key:
                try:
                    attrs = self.client.inspect_container(cid)
                except EngineNotFound:
                    continue  # removed between the list and the inspect
                known = Seen(cid, attrs["Name"].lstrip("/"), attrs["State"]["Status"], key,
                             attrs)
            seen[cid] = known
            task_id = (summary.get("Labels") or {}).get(TASK_LABEL)
            if task_id:
                out[task_id] = known
        self._seen = seen
        return out

    def _note(self, task: dict[str, Any], status: Status | None,
              attrs: dict[str, Any] | None) -> dict[str, Any] | None:
        """The status update to send for a task, if it differs from the last one sent."""
        with self._lock:
            if status is None or self._reported.get(task["ID"]) == status:
                return None
            self._reported[task["ID"]] = status
        state, message, err = status
        task_status: dict[str, Any] = {"Timestamp": _now(), "State": state, "Message": message}
        if err:
            task_status["Err"] = err
        if attrs is not None:
            task_status["ContainerStatus"] = _container_status(attrs)
        return {"ID": task["ID"], "Status": task_status}

    def _in_worker(self, task: dict[str, Any],
                   work: Callable[[], tuple[Status | None, dict[str, Any] | None]],
                   pool: ThreadPoolExecutor) -> None:
        """Run `work` (a start or a stop) in a thread of `pool`; report what it ends in."""
        with self._lock:
            self._busy.add(task["ID"])

        def run() -> None:
            status, attrs = None, None
            try:
                status, attrs = work()
            except EngineError as exc:
                log.warning("task %s: Docker Engine: %s", task["ID"], exc)
            except Exception:
                log.exception("task %s: failed", task["ID"])
            finally:
                with self._lock:
                    self._busy.discard(task["ID"])
            update = self._note(task, status, attrs)
            if update is not None:
                self.report([update])
            self._wake.set()

        pool.submit(run)

    def _reconcile_task(self, task: dict[str, Any], container: Seen | None) -> Status | None:
        state, desired = T.state_of(task), task.get("DesiredState", "running")
        if T.ORDER.get(desired, 0) >= T.ORDER["shutdown"]:
            if container is not None and container.status in ("running", "restarting",
                                                               "paused"):
                self._in_worker(task, lambda: self._stop(task, container), self._stops)
                return None
            return None if T.is_terminal(task) else ("shutdown", "shutdown", "")
        if T.is_terminal(task):
            return None
        if container is None:
            if T.at_least(state, "running"):
                return "failed", "started", "task: container is gone"
            self._in_worker(task, lambda: self._start(task), self._starts)
            return None
        observed = observed_state(container.attrs)
        if observed[0] == "preparing":  # created, never started (the agent stopped midway)
            _quietly(lambda: self.client.start(container.id))
            return "starting", "starting", ""
        if observed[0] == "failed" and observed[1] == "unhealthy":
            _quietly(lambda: self.client.kill(container.id))
        return observed

    def _stop(self, task: dict[str, Any], container: Seen,
              ) -> tuple[Status | None, dict[str, Any] | None]:
        log.info("stopping %s", container.name)
        _quietly(lambda: self.client.stop(container.id, stop_timeout(task)))
        return (None if T.is_terminal(task) else ("shutdown", "shutdown", "")), None

    def _networks(self, task: dict[str, Any]) -> list[tuple[str, str]] | tuple[str, str, str]:
        """(Docker network, address) pairs for the task's overlays, or the status to report
        while they cannot be had."""
        attachments = task.get("NetworksAttachments") or []
        if not attachments:
            return []
        if self.networks is None:
            log.warning("task %s has networks but this node has no overlays: default bridge",
                        task["ID"])
            return []
        try:
            plan = self.networks.attach(attachments)
        except NetworkNotReady as exc:
            since = self._waiting.setdefault(task["ID"], time.monotonic())
            if time.monotonic() - since < NETWORK_WAIT:
                return "preparing", "preparing", ""
            return "rejected", "preparing", str(exc)
        except SwarmletError as exc:  # an EngineError too
            return "rejected", "preparing", f"network attachment failed: {exc}"
        self._waiting.pop(task["ID"], None)
        return plan

    def _start(self, task: dict[str, Any]) -> tuple[Status, dict[str, Any] | None]:
        with self._network_lock:  # one at a time: a Docker network is made on first use
            plan = self._networks(task)
        if isinstance(plan, tuple):
            return plan, None
        dns = self.networks.dns_servers(task.get("NetworksAttachments") or []) \
            if plan and self.networks is not None else []
        body = create_body(task, self.node_id, plan, dns)
        name, image = container_name(task), body["Image"]
        try:
            files = self.files.prepare(task, render_configs(task, self._data, self._templated))
        except ConfigTemplateError as exc:  # Docker's words, as its task error
            return ("rejected", "preparing", str(exc)), None
        except SwarmletError as exc:
            return ("rejected", "preparing", f"secret and config files: {exc}"), None
        if files is None:
            return ("preparing", "preparing", ""), None  # the data comes with the next answer
        body["HostConfig"]["Mounts"] += files
        for volume in volume_requests(task):
            try:
                self.client.create_volume(volume)
            except EngineError as exc:
                if not exc.status:
                    raise  # the engine is away: try again on a later pass
                return ("rejected", "preparing",
                        f"volume {volume['Name']}: {exc.explanation}"), None
        try:
            try:
                cid = self.client.create_container(name, body)
            except EngineNotFound as exc:  # found by the create: no inspect for every start
                if "no such image" not in exc.explanation.lower():
                    raise  # a missing network, say: no pull mends that
                try:
                    self.client.pull(image)
                except EngineError as exc:
                    return ("rejected", "preparing", f"No such image: {image} ({exc})"), None
                cid = self.client.create_container(name, body)
            for network, address in plan[1:]:  # before the start: all interfaces at once
                self.client.connect(network, cid, endpoint_config(address))
            self.client.start(cid)
        except EngineError as exc:
            if not exc.status:
                raise  # the engine is away, not refusing: try again on a later pass
            return ("rejected", "preparing", f"starting container failed: {exc.explanation}"), None
        log.info("started %s", name)
        attrs = self.client.inspect_container(cid)
        observed = observed_state(attrs)
        return (observed if observed[0] != "preparing" else ("starting", "starting", "")), attrs


def remove_node_containers(node_id: str) -> None:
    """`swarm leave`: the node's task containers go with it, as Docker's do."""
    client = Engine(timeout=60)
    try:
        for container in client.containers({"label": f"{NODE_LABEL}={node_id}"}):
            _quietly(lambda c=container["Id"]: client.remove_container(c))
    except EngineError as exc:
        log.warning("could not remove this node's containers: %s", exc)
    finally:
        client.close()


def _container_status(attrs: dict[str, Any]) -> dict[str, Any]:
    state = attrs.get("State", {})
    return {"ContainerID": attrs.get("Id", ""), "PID": state.get("Pid", 0),
            "ExitCode": state.get("ExitCode", 0)}


def _quietly(action: Callable[[], Any]) -> None:
    try:
        action()
    except EngineError as exc:  # it went away or changed state meanwhile
        if not exc.status:
            raise  # the engine is away: the pass says so
        log.debug("docker: %s", exc)


def _now() -> str:
    from swarmlet.store.objects import now_rfc3339

    return now_rfc3339()
