"""The control API for services and tasks: Docker's /services and /tasks endpoints, with
SwarmKit's validation (the spec core, swarmlet.spec.service) and the store's version checks."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from typing import Any

from swarmlet.errors import Conflict, InvalidArgument, Unavailable
from swarmlet.manager import tasks as T
from swarmlet.manager.controlapi.plan import read_objects, service_plan
from swarmlet.manager.controlapi.references import resolve
from swarmlet.manager.controlapi.service_networks import check_service_networks
from swarmlet.manager.controlapi.service_refs import check_references
from swarmlet.manager.controlapi.service_status import service_status
from swarmlet.manager.controlapi.spec_change import job_status, with_new_spec
from swarmlet.manager.logbroker import Subscription
from swarmlet.manager.manager import Manager
from swarmlet.spec.service import is_job, normalise_spec
from swarmlet.store.objects import new_id, now_rfc3339
from swarmlet.store.state import StoreError

LOGS_TIMEOUT = 15.0  # without --follow: the longest wait for a silent node
REMOVE_ATTEMPTS = 5


class ServiceAPI:
    def __init__(self, manager: Manager) -> None:
        self.manager = manager
        self.store = manager.store

    def create(self, spec: Any, dry_run: bool = False) -> dict[str, Any]:
        self.manager.require_quorum()
        spec = self._checked(normalise_spec(spec))
        service = {"ID": new_id(), "Spec": spec, "SpecVersion": {"Index": 1},
                   **job_status(spec, now_rfc3339())}
        if dry_run:
            if any(s["Spec"]["Name"] == spec["Name"] for s in self.store.list("service")):
                raise Conflict(f"service {spec['Name']} already exists")
            return service_plan(read_objects(self.store), "create", None, service)
        [created] = self.store.write([{"op": "create", "kind": "service", "object": service}])
        return {"ID": created["ID"]}

    def _checked(self, spec: dict[str, Any],
                 service: dict[str, Any] | None = None) -> dict[str, Any]:
        spec = check_service_networks(spec, self.store.list("network"),
                                      self.store.list("service"), service)
        return check_references(spec, self.store.list("secret"), self.store.list("config"))

    def resolve(self, ref: str) -> dict[str, Any]:
        """A service by ID, name, or unique ID prefix, as Docker resolves SERVICE."""
        self.manager.require_quorum()
        return resolve(self.store, "service", ref)

    def with_status(self, service: dict[str, Any]) -> dict[str, Any]:
        """Docker's ServiceStatus: running tasks and how many are wanted (and, of a job,
        how many tasks of its iteration completed)."""
        tasks = [t for t in self.store.list("task") if t["ServiceID"] == service["ID"]]
        return {**service, "ServiceStatus": service_status(service, tasks)}

    def list(self) -> list[dict[str, Any]]:
        self.manager.require_quorum()
        return [self.with_status(s) for s in self.store.list("service")]

    def inspect(self, ref: str) -> dict[str, Any]:
        return self.with_status(self.resolve(ref))

    def update(self, ref: str, version: int, spec: Any, rollback: bool = False,
               dry_run: bool = False) -> dict[str, Any] | None:
        """A new spec; when its task template changed (or --force), a rolling update starts.
        With `rollback`, the previous spec comes back under the rollback policy. With
        `dry_run`, the plan of the update instead (nothing is written)."""
        service = self.resolve(ref)
        if service["Version"]["Index"] != version:
            raise Conflict("update out of sequence")
        if rollback:
            previous = service.get("PreviousSpec")
            if previous is None:
                raise InvalidArgument(f"service {ref} does not have a previous spec")
            new_spec, state, message = previous, "rollback_started", "manually requested rollback"
        else:
            new_spec = self._checked(normalise_spec(spec, old=service["Spec"]), service)
            state, message = "updating", "update in progress"
        if dry_run:  # (a job's next run, as it would be written: its tasks are planned)
            planned = with_new_spec(service, new_spec, state, message, now_rfc3339()) \
                if is_job(new_spec) else {**service, "Spec": new_spec}
            return service_plan(read_objects(self.store), "update", service, planned)
        if new_spec == service["Spec"]:
            return None
        service = with_new_spec(service, new_spec, state, message, now_rfc3339())
        self.store.write([{"op": "update", "kind": "service", "object": service}])
        return None

    def remove(self, ref: str, dry_run: bool = False) -> dict[str, Any] | None:
        # The task writes are versioned, and nodes report task states (and the reaper
        # deletes old tasks) all the time: a conflict or a task gone only means a task
        # moved meanwhile, so read again and retry (a service gone fails in resolve()).
        if dry_run:
            service = self.resolve(ref)
            return service_plan(read_objects(self.store), "remove", service, service)
        for attempt in range(REMOVE_ATTEMPTS):
            service = self.resolve(ref)
            changes: list[dict[str, Any]] = [{"op": "delete", "kind": "service",
                                              "id": service["ID"]}]
            for task in self.store.list("task"):
                if task["ServiceID"] == service["ID"] and task.get("DesiredState") != "remove":
                    task["DesiredState"] = "remove"
                    changes.append(T.update(task))
            try:
                self.store.write(changes)
                return None
            except StoreError as exc:
                if exc.code not in ("conflict", "not_found") or attempt == REMOVE_ATTEMPTS - 1:
                    raise

    def logs(self, ref: str, tail: int, follow: bool) -> Iterator[bytes]:
        """The service's log lines from every node, as Docker prints them:
        `<task name>.<task id>@<node>    | <line>`."""
        def lines() -> Iterator[bytes]:
            for item in items:
                prefix = f"{item['TaskName']}.{item['Task'][:12]}@{item['Node']}"
                yield f"{prefix}    | {item['Line']}\n".encode()

        items = self.log_items(self.resolve(ref)["ID"], tail, follow)
        return lines()

    def log_items(self, service_id: str, tail: int, follow: bool, since: str | None = None,
                  task_id: str | None = None) -> Iterator[dict[str, Any]]:
        """The log lines of a service (of one of its tasks, with `task_id`) from every node
        (logbroker's LogLine items: Task, TaskName, Node, Line, NodeID, Stream, Time).
        Without `follow`, it ends once every node with tasks of the service has sent its
        lines (or after LOGS_TIMEOUT). The subscription is made before this returns, so a
        bad request fails here rather than in the stream."""
        manager = self.manager
        me = manager.api_addr
        stream = manager.log_streams.open(service_id, tail, follow, publisher=me, since=since)
        sub = stream.subscription
        nodes = {t["NodeID"] for t in self.store.list("task")
                 if t["ServiceID"] == service_id and t.get("NodeID")
                 and (task_id is None or t["ID"] == task_id)}
        self._at_leader("/logbroker/subscribe", sub.as_dict())

        def items() -> Iterator[dict[str, Any]]:
            deadline = time.monotonic() + LOGS_TIMEOUT
            try:
                while follow or (nodes - stream.done_nodes and time.monotonic() < deadline):
                    try:
                        item = stream.lines.get(timeout=0.5)
                    except queue.Empty:
                        continue
                    if "Line" in item and (task_id is None or item["Task"] == task_id):
                        yield item
            finally:
                manager.log_streams.close(sub.ID)
                self._at_leader("/logbroker/unsubscribe", {"ID": sub.ID})

        return items()

    def _at_leader(self, path: str, body: dict[str, Any]) -> None:
        """Subscriptions live on the leader: here if we lead, else sent there."""
        manager = self.manager
        if self.store.is_leader():
            if path.endswith("/subscribe"):
                manager.logbroker.subscribe(Subscription(**body))
            else:
                manager.logbroker.unsubscribe(body["ID"])
            return
        leader = manager.leader_api_addr()
        if leader is None or manager.peer_client is None:
            raise Unavailable("no leader to ask for the logs")
        manager.peer_client(leader).post(path, body)

    def tasks(self, service: str | None, node: str | None) -> list[dict[str, Any]]:
        self.manager.require_quorum()
        found = self.store.list("task")
        if service:
            service_id = self.resolve(service)["ID"]
            found = [t for t in found if t["ServiceID"] == service_id]
        if node:
            found = [t for t in found if t.get("NodeID") == node]
        return found
