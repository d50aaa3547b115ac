"""A harness for the leader's control pass (Nomad's scheduler test harness): the real
stages (manager/loops.py) run on an in-memory store (swarmlet.store.memory) and a fake
clock, against nodes and workers simulated here, so scheduling, restarts, rolling updates,
rollbacks and failover are tested without machines.

    h = Harness()
    h.add_node("a"); h.add_node("b")
    h.add_service("web", replicas=4)
    h.run_to_fixed_point()          # passes until nothing changes; workers start what is assigned
    assert h.placement("web") == {"a": 2, "b": 2}
    h.fail(h.running("web")[0])     # a task fails, as its worker reports it
    h.advance(5)                    # the restart delay passes on the fake clock

Workers: after each pass, every node that is not down acts on its tasks as swarmletd's
executor would, at once: a task assigned to it and meant to run starts (RUNNING, or FAILED
when its image is in `failing_images`; a job's task runs until `finish` says it exited 0);
a task told to stop (desired SHUTDOWN or REMOVE) that has not ended is shut down. A down
node does nothing. `run_to_fixed_point(workers=False)` leaves the workers out; `work()` then
runs them once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from swarmlet.manager import tasks as T
from swarmlet.manager.allocator.network_objects import new_network
from swarmlet.manager.controlapi.spec_change import job_status, with_new_spec
from swarmlet.manager.loops import run_pass
from swarmlet.spec.service import normalise_spec
from swarmlet.store.memory import MemoryStore
from swarmlet.store.objects import clone, stamp

Obj = dict[str, Any]
START = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
SECOND = 10**9
GB = 1 << 30
INGRESS_ID = "ingress0000000000000000000"
EXIT_FAILURE = "task: non-zero exit (1)"
MAX_PASSES = 50


class FakeClock:
    """The pass's and the store's clock. It moves when told to (`advance`), and by one
    microsecond each time it is read, as real time does between two writes: objects written
    one after the other never share a CreatedAt (the newest task of a slot is the one
    created last)."""

    TICK = timedelta(microseconds=1)

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        now = self.now
        self.now += self.TICK
        return now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def stamp(self) -> str:
        return stamp(self.now)


class NoFixedPoint(AssertionError):
    pass


class Harness:
    def __init__(self, ingress: bool = True) -> None:
        self.clock = FakeClock()
        self.store = MemoryStore(clock=self.clock)
        self.stage_errors: dict[str, str] = {}
        self.failing_images: set[str] = set()
        self.passes = 0  # passes run so far
        self.written: list[list[Obj]] = []  # the changes each pass wrote
        self.store.write([{"op": "create", "kind": "cluster", "object": {
            "ID": "cluster0", "Spec": {"Name": "default", "Orchestration": {
                "TaskHistoryRetentionLimit": 5}}}}])
        if ingress:
            self.store.write([{"op": "create", "kind": "network", "object": new_network(
                INGRESS_ID, "ingress", IPv4Network("10.0.0.0/24"), IPv4Address("10.0.0.1"),
                4096, ingress=True)}])

    # --- the world ------------------------------------------------------------------------

    def add_node(self, name: str, *, labels: dict[str, str] | None = None,
                 availability: str = "active", cpus: float = 4, memory: int = 8 * GB,
                 role: str = "worker") -> Obj:
        """A ready node; its ID is its name (and so is its hostname)."""
        return self._write("create", "node", {
            "ID": name, "Spec": {"Role": role, "Availability": availability,
                                 "Labels": dict(labels or {})},
            "Description": {"Hostname": name,
                            "Platform": {"OS": "linux", "Architecture": "x86_64"},
                            "Resources": {"NanoCPUs": int(cpus * SECOND), "MemoryBytes": memory}},
            "Status": {"State": "ready", "Addr": "198.18.0.2"}})

    def set_node(self, name: str, *, state: str | None = None,
                 availability: str | None = None) -> Obj:
        node = self.store.get("node", name)
        assert node is not None, f"no node {name}"
        if state is not None:  # as the leader's heartbeat check marks it
            node["Status"] = {**node["Status"], "State": state}
        if availability is not None:  # as `node update --availability`
            node["Spec"] = {**node["Spec"], "Availability": availability}
        return self._write("update", "node", node)

    def mark_down(self, name: str) -> Obj:
        return self.set_node(name, state="down")

    def drain(self, name: str) -> Obj:
        return self.set_node(name, availability="drain")

    def add_service(self, name: str, replicas: int | None = 1, *, image: str = "img:1",
                    mode: str = "replicated", **spec: Any) -> Obj:
        """A service as `service create` makes it (the spec core's defaults: restart delay
        5 s, update parallelism 1, monitor 5 s...); its ID is its name. `spec` adds to the
        ServiceSpec; `restart`, `update`, `placement` fill the usual parts of it."""
        template: Obj = {"ContainerSpec": {"Image": image}}
        if "restart" in spec:
            template["RestartPolicy"] = spec.pop("restart")
        if "placement" in spec:
            template["Placement"] = spec.pop("placement")
        if "update" in spec:
            spec["UpdateConfig"] = spec.pop("update")
        modes = {"global": {"Global": {}}, "replicated": {"Replicated": {"Replicas": replicas}},
                 "global-job": {"GlobalJob": {}},
                 "replicated-job": {"ReplicatedJob": {"TotalCompletions": replicas,
                                                      "MaxConcurrent": spec.pop(
                                                          "max_concurrent", None)}}}
        full = normalise_spec({"Name": name, "Mode": modes[mode], "TaskTemplate": template,
                               **spec})
        return self._write("create", "service", {"ID": name, "Spec": full,
                                                 "SpecVersion": {"Index": 1},
                                                 **job_status(full, self.clock.stamp())})

    def update_service(self, name: str, change: Callable[[Obj], None] | None = None, *,
                       image: str | None = None, replicas: int | None = None,
                       rollback: bool = False) -> Obj:
        """As `service update` (controlapi/services.py): a new spec; a new task template
        starts a rolling update. `change` edits a copy of the spec (UpdateConfig...);
        `rollback` brings the previous spec back (`service rollback`)."""
        service = self.service(name)
        if rollback:
            spec, state, message = service["PreviousSpec"], "rollback_started", \
                "manually requested rollback"
        else:
            spec = clone(service["Spec"])
            if image is not None:
                spec["TaskTemplate"]["ContainerSpec"]["Image"] = image
            if replicas is not None:
                spec["Mode"] = {"Replicated": {"Replicas": replicas}}
            if change is not None:
                change(spec)
            spec = normalise_spec(spec, old=service["Spec"])
            state, message = "updating", "update in progress"
        service = with_new_spec(service, spec, state, message, self.clock.stamp())
        return self._write("update", "service", service)

    def remove_service(self, name: str) -> None:
        changes: list[Obj] = [{"op": "delete", "kind": "service", "id": name}]
        for task in self.tasks(name, active=False):
            if task.get("DesiredState") != "remove":
                changes.append(T.update({**task, "DesiredState": "remove"}))
        self.store.write(changes)

    # --- workers --------------------------------------------------------------------------

    def report(self, task: Obj | str, state: str, err: str = "") -> Obj:
        """A status report from the task's worker (at the fake clock's time)."""
        task = self.task(task if isinstance(task, str) else task["ID"])
        status = {**task["Status"], "State": state, "Timestamp": self.clock.stamp(),
                  "Message": state}
        if err:
            status["Err"] = err
        return self._write("update", "task", {**task, "Status": status})

    def fail(self, task: Obj | str, err: str = EXIT_FAILURE) -> Obj:
        return self.report(task, "failed", err)

    def finish(self, task: Obj | str) -> Obj:
        """Its process exited 0 (a job's task is done)."""
        return self.report(task, "complete")

    def work(self) -> int:
        """Every node that is up acts on its tasks once; returns how many tasks it changed."""
        acted = 0
        down = {n["ID"] for n in self.store.list("node") if n["Status"].get("State") == "down"}
        for task in self.store.list("task"):
            node_id = task.get("NodeID")
            if not node_id or node_id in down or T.is_terminal(task):
                continue
            desired, state = task.get("DesiredState"), T.state_of(task)
            if desired in ("shutdown", "remove"):
                self.report(task, "shutdown")
            elif desired in ("running", "complete") and state in (
                    "assigned", "accepted", "preparing", "starting"):
                image = task["Spec"]["ContainerSpec"]["Image"]
                if image in self.failing_images:
                    self.fail(task)
                else:
                    self.report(task, "running")
            else:
                continue
            acted += 1
        return acted

    # --- passes and time ------------------------------------------------------------------

    def run_pass(self) -> list[Obj]:
        """One control pass, as the leader runs it; returns the changes it wrote."""
        written = run_pass(self.store, self.stage_errors, clock=self.clock)
        self.passes += 1
        self.written.append(written)
        return written

    def run_to_fixed_point(self, workers: bool = True, max_passes: int = MAX_PASSES) -> int:
        """Passes (each followed by the workers, unless `workers` is False) until a pass
        changes nothing and no worker acts; returns the passes run. Raises NoFixedPoint
        past `max_passes`: a loop that never settles is a bug."""
        for count in range(1, max_passes + 1):
            changed = bool(self.run_pass())
            acted = self.work() if workers else 0
            if not changed and not acted:
                return count
        raise NoFixedPoint(f"still changing after {max_passes} passes: {self.written[-1]}")

    def advance(self, seconds: float, workers: bool = True) -> None:
        """Time passes on the fake clock; then passes run to a fixed point."""
        self.clock.advance(seconds)
        self.run_to_fixed_point(workers)

    def run_for(self, seconds: float, step: float = 1.0, workers: bool = True) -> None:
        """`seconds` of time, `step` at a time, at a fixed point after each step."""
        self.run_to_fixed_point(workers)
        elapsed = 0.0
        while elapsed < seconds:
            self.advance(step, workers)
            elapsed += step

    # --- what a user would look at --------------------------------------------------------

    def _write(self, op: str, kind: str, obj: Obj) -> Obj:
        [stored] = self.store.write([{"op": op, "kind": kind, "object": obj}])
        return stored

    def service(self, name: str) -> Obj:
        found = self.store.get("service", name)
        assert found is not None, f"no service {name}"
        return found

    def task(self, task_id: str) -> Obj:
        found = self.store.get("task", task_id)
        assert found is not None, f"no task {task_id}"
        return found

    def tasks(self, service: str, active: bool = True) -> list[Obj]:
        """The service's tasks (`service ps` without history when `active`: those meant to
        run), by slot."""
        found = [t for t in self.store.list("task") if t["ServiceID"] == service
                 and (not active or T.is_active(t))]
        return sorted(found, key=lambda t: (t["Slot"], t["NodeID"], t["CreatedAt"]))

    def running(self, service: str) -> list[Obj]:
        return [t for t in self.tasks(service) if T.state_of(t) == "running"]

    def placement(self, service: str) -> Counter[str]:
        """Running tasks per node."""
        return Counter(t["NodeID"] for t in self.running(service))

    def images(self, service: str) -> Counter[str]:
        """Running tasks per image."""
        return Counter(t["Spec"]["ContainerSpec"]["Image"] for t in self.running(service))

    def update_state(self, service: str) -> str | None:
        return (self.service(service).get("UpdateStatus") or {}).get("State")
