"""The executor: makes this node's containers match its assigned tasks.

Assignments come from the dispatcher (the tasks of this node with their desired states);
containers are found by the `swarmlet.node.id` label, so after an agent restart the running
ones are adopted, not duplicated. Each pass reports state transitions it observed; a pass runs
when assignments change, when Docker reports a container event, and every second.

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
from typing import TYPE_CHECKING, Any

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound

from swarmlet.errors import SwarmletError
from swarmlet.net import names
from swarmlet.net.dataplane import NetworkNotReady
from swarmlet.protocol import tasks as T
from swarmlet.worker.containers import (
    NODE_LABEL,
    TASK_LABEL,
    create_args,
    endpoint_config,
    observed_state,
    stop_timeout,
)
from swarmlet.worker.task_files import TaskFiles

if TYPE_CHECKING:
    from swarmlet.net.dataplane import NodeNetworks

log = logging.getLogger("swarmlet.executor")

Report = Callable[[list[dict[str, Any]]], None]
SLOW_PASS = 2.0  # seconds: a longer pass is logged (it holds back new assignments)
NETWORK_WAIT = 60.0  # seconds a task may wait for its overlay here before it is rejected


class Executor:
    def __init__(self, node_id: str, report: Report,
                 networks: NodeNetworks | None = None) -> None:
        self.node_id = node_id
        self.report = report
        self.networks = networks
        self._waiting: dict[str, float] = {}  # task ID → when it began to wait for a network
        self.client = docker.from_env(timeout=60)
        self._assigned: dict[str, dict[str, Any]] = {}
        # Secret and config data of the assignments, (kind, ID) → bytes: in memory only.
        self._data: dict[tuple[str, str], bytes] = {}
        self.files = TaskFiles(names.machine() or node_id)
        self._reported: dict[str, tuple[str, str, str]] = {}
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
        self.client.close()

    def assign(self, tasks: list[dict[str, Any]],
               data: list[dict[str, Any]] | None = None) -> None:
        """New assignments: the tasks, and the secret and config data they refer to."""
        with self._lock:
            self._assigned = {t["ID"]: t for t in tasks}
            if data is not None:
                self._data = {(d["Kind"], d["ID"]): base64.b64decode(d["Data"]) for d in data}
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
            except DockerException as exc:
                log.warning("executor pass: Docker Engine: %s", exc)
            except Exception:
                log.exception("executor pass failed; going on")
            if (took := time.monotonic() - started) > SLOW_PASS:
                log.info("an executor pass took %.1f s", took)

    def _watch_events(self) -> None:
        """Container events of this node wake the loop (a container died, turned unhealthy)."""
        while not self._stopping.is_set():
            try:
                events = docker.from_env(timeout=None).events(decode=True, filters={
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
        containers = {c.labels.get(TASK_LABEL): c for c in self.client.containers.list(
            all=True, filters={"label": f"{NODE_LABEL}={self.node_id}"})}
        updates: list[dict[str, Any]] = []
        for task in assigned.values():
            reported = self._reported.get(task["ID"])
            if reported and reported[0] in T.TERMINAL:
                continue  # an ended task's first report is its last (no 137 after unhealthy)
            status = self._reconcile_task(task, containers.get(task["ID"]))
            if status is not None and self._reported.get(task["ID"]) != status:
                self._reported[task["ID"]] = status
                state, message, err = status
                task_status = {"Timestamp": _now(), "State": state, "Message": message}
                if err:
                    task_status["Err"] = err
                container = containers.get(task["ID"])
                if container is not None:
                    task_status["ContainerStatus"] = _container_status(container)
                updates.append({"ID": task["ID"], "Status": task_status})
        for task_id, container in containers.items():
            if task_id not in assigned:  # its task was deleted: nothing may keep it
                log.info("removing container %s (no such task here)", container.name)
                _quietly(lambda c=container: c.remove(force=True, v=True))
        try:  # a task's files go when it ends (or leaves), its container with them
            self.files.release_all_but(
                {tid for tid, t in assigned.items() if T.is_active(t)}
                | {tid for tid, c in containers.items() if c.status == "running"})
        except SwarmletError as exc:
            log.warning("task files not released: %s", exc)
        self._reported = {k: v for k, v in self._reported.items() if k in assigned}
        self._waiting = {k: v for k, v in self._waiting.items() if k in assigned}
        if updates:
            self.report(updates)

    def _reconcile_task(self, task: dict[str, Any], container: Any,
                        ) -> tuple[str, str, str] | None:
        state, desired = T.state_of(task), task.get("DesiredState", "running")
        if T.ORDER.get(desired, 0) >= T.ORDER["shutdown"]:
            if container is not None:
                container.reload()
                if container.status in ("running", "restarting", "paused"):
                    log.info("stopping %s", container.name)
                    _quietly(lambda: container.stop(timeout=stop_timeout(task)))
                    container.reload()
            return None if T.is_terminal(task) else ("shutdown", "shutdown", "")
        if T.is_terminal(task):
            return None
        if container is None:
            if T.at_least(state, "running"):
                return "failed", "started", "task: container is gone"
            return self._start(task)
        container.reload()
        observed = observed_state(container.attrs)
        if observed[0] == "preparing":  # created, never started (the agent stopped midway)
            _quietly(container.start)
            return "starting", "starting", ""
        if observed[0] == "failed" and observed[1] == "unhealthy":
            _quietly(lambda: container.kill())
        return observed

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
        except (SwarmletError, DockerException) as exc:
            return "rejected", "preparing", f"network attachment failed: {exc}"
        self._waiting.pop(task["ID"], None)
        return plan

    def _start(self, task: dict[str, Any]) -> tuple[str, str, str]:
        plan = self._networks(task)
        if isinstance(plan, tuple):
            return plan
        dns = self.networks.dns_servers(task.get("NetworksAttachments") or []) \
            if plan and self.networks is not None else []
        args = create_args(task, self.node_id, plan, dns)
        try:
            files = self.files.prepare(task, self._data)
        except SwarmletError as exc:
            return "rejected", "preparing", f"secret and config files: {exc}"
        if files is None:
            return "preparing", "preparing", ""  # their data comes with the next answer
        args["mounts"] = [*args["mounts"], *files]
        try:
            self.client.images.get(args["image"])
        except ImageNotFound:
            try:
                self.client.images.pull(args["image"])
            except DockerException as exc:
                return "rejected", "preparing", f"No such image: {args['image']} ({exc})"
        try:
            container = self.client.containers.create(**args)
            for network, address in plan[1:]:  # before the start: all interfaces at once
                self.client.api.connect_container_to_network(
                    container.id, network, driver_opt=endpoint_config(address)["DriverOpts"])
            container.start()
        except APIError as exc:
            return "rejected", "preparing", f"starting container failed: {exc.explanation}"
        log.info("started %s", args["name"])
        container.reload()
        observed = observed_state(container.attrs)
        return observed if observed[0] != "preparing" else ("starting", "starting", "")


def remove_node_containers(node_id: str) -> None:
    """`swarm leave`: the node's task containers go with it, as Docker's do."""
    client = docker.from_env(timeout=60)
    try:
        for container in client.containers.list(
                all=True, filters={"label": f"{NODE_LABEL}={node_id}"}):
            _quietly(lambda c=container: c.remove(force=True, v=True))
    except DockerException as exc:
        log.warning("could not remove this node's containers: %s", exc)
    finally:
        client.close()


def _container_status(container: Any) -> dict[str, Any]:
    state = container.attrs.get("State", {})
    return {"ContainerID": container.id, "PID": state.get("Pid", 0),
            "ExitCode": state.get("ExitCode", 0)}


def _quietly(action: Callable[[], Any]) -> None:
    try:
        action()
    except (NotFound, APIError) as exc:  # it went away or changed state meanwhile
        log.debug("docker: %s", exc)


def _now() -> str:
    from swarmlet.store.objects import now_rfc3339

    return now_rfc3339()
