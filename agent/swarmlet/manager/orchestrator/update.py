"""The updater: rolling updates and rollbacks (SwarmKit's orchestrator/update).

A service whose UpdateStatus is "updating" (or "rollback_started") has slots whose task runs
an older task template: `Parallelism` of them (0 = all) are replaced at a time, each next
one once a replaced slot's new task runs and `Delay` has passed since. New tasks that fail
count as failures; past `MaxFailureRatio` the `FailureAction` applies: pause, continue, or roll
back to the previous spec; a new task that is not running within `Monitor` counts as failed
too. Once every slot runs the new template and the last new task has run
for `Monitor`, the update is completed.

Everything is read from the store on each pass (which tasks are done is visible in their
specs), so a new leader resumes an update where the old one left it, without redoing slots.
A service whose update cannot go on (a policy field that does not read) keeps the error and
its update waits where it is. What the snapshot holds is read-only: a changed service or task
is a copy; times are the snapshot's (`now`).
"""

from __future__ import annotations

from typing import Any

from swarmlet.manager import tasks as T
from swarmlet.manager.orchestrator.fields import (
    FieldError,
    number,
    service_mode,
    whole_number,
)
from swarmlet.manager.snapshot import Snapshot, nanos_to_seconds
from swarmlet.store.objects import clone

STAGE = "updater"
ACTIVE = ("updating", "rollback_started")
PAUSED = {"updating": "paused", "rollback_started": "rollback_paused"}
COMPLETED = {"updating": ("completed", "update completed"),
             "rollback_started": ("rollback_completed", "rollback completed")}


def policy_key(service: dict[str, Any]) -> str:
    status = service.get("UpdateStatus") or {}
    return "RollbackConfig" if status.get("State") == "rollback_started" else "UpdateConfig"


def policy(service: dict[str, Any]) -> dict[str, Any]:
    return service["Spec"].get(policy_key(service)) or {}


def start_first_overlap(service: dict[str, Any]) -> bool:
    """Whether an old task may keep running beside its slot's new one until that one runs."""
    status = service.get("UpdateStatus") or {}
    return status.get("State") in ACTIVE and policy(service).get("Order") == "start-first"


def update_services(snap: Snapshot) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    by_service = snap.tasks_by_service()
    for service in snap.services.values():
        if (service.get("UpdateStatus") or {}).get("State") in ACTIVE:
            changes += snap.guard(STAGE, "service", service, lambda s=service: _update(
                snap, s, by_service.get(s["ID"], [])), [])
    return changes


def next_check(snap: Snapshot) -> float | None:
    """Seconds until an update can move on by time alone (a replaced slot's Delay or the
    last new task's Monitor runs out), so that the loops pass then, not up to a pass
    interval later; None when no update waits on time."""
    waits: list[float] = []
    by_service = snap.tasks_by_service()
    for service in snap.services.values():
        if (service.get("UpdateStatus") or {}).get("State") in ACTIVE:
            try:
                waits += _time_left(snap, service, by_service.get(service["ID"], []))
            except FieldError:
                continue  # the updater keeps this error on the service
    return min(waits, default=None)


def _time_left(snap: Snapshot, service: dict[str, Any],
               tasks: list[dict[str, Any]]) -> list[float]:
    config = policy(service)
    where = f"Spec.{policy_key(service)}"
    delay = nanos_to_seconds(config.get("Delay"), f"{where}.Delay")
    monitor = nanos_to_seconds(config.get("Monitor"), f"{where}.Monitor")
    current = _current_tasks(service, tasks)
    started = service["UpdateStatus"].get("StartedAt", "")
    ran = [snap.seconds_since(t["Status"]["Timestamp"]) for t in tasks
           if _new_spec(t, service) and t.get("CreatedAt", "") >= started
           and T.state_of(t) == "running"]
    waits = [delay - since for since in ran if since < delay]
    if ran and all(_new_spec(t, service) and T.state_of(t) == "running" for t in current):
        waits.append(monitor - min(ran))
    return [w for w in waits if w > 0]


def _current_tasks(service: dict[str, Any], tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The task holding each slot (replicated) or node (global) and meant to run."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for task in tasks:
        if T.is_active(task):
            key = task["Slot"] if service_mode(service) == "replicated" else task["NodeID"]
            groups.setdefault(key, []).append(task)
    return [T.newest(group) for group in groups.values()]


def _update(snap: Snapshot, service: dict[str, Any],
            tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    config = policy(service)
    where = f"Spec.{policy_key(service)}"
    status = service["UpdateStatus"]
    started = status.get("StartedAt", "")
    current = _current_tasks(service, tasks)
    fresh = [t for t in tasks if _new_spec(t, service) and t.get("CreatedAt", "") >= started]
    failed = [t for t in fresh if T.state_of(t) in ("failed", "rejected")]
    # A new task that its node took up but that has not reached RUNNING (healthy, with a
    # health check: the executor reports "starting" until then) within the monitor period
    # fails the update as well. One its node never took up (a node that just died, not yet
    # marked down) is the orchestrator's to replace, not a failure of the new spec.
    monitor = nanos_to_seconds(config.get("Monitor"), f"{where}.Monitor")
    if monitor:
        failed += [t for t in fresh if T.is_active(t) and T.state_of(t) != "running"
                   and T.at_least(T.state_of(t), "accepted")
                   and snap.seconds_since(t.get("CreatedAt", "")) > monitor]

    ratio = number(config.get("MaxFailureRatio") or 0, f"{where}.MaxFailureRatio")
    if failed and len(failed) / max(len(current), 1) > ratio:
        action = config.get("FailureAction", "pause")
        culprit = failed[0]["ID"]
        if action == "rollback" and status["State"] == "updating" and \
                service.get("PreviousSpec"):
            return [_rollback(snap, service, culprit)]
        if action != "continue":
            return [_set_status(snap, service, PAUSED[status["State"]],
                                f"update paused due to failure or early termination of task "
                                f"{culprit}")]

    dirty = sorted((t for t in current if not _new_spec(t, service)), key=lambda t: t["Slot"])
    in_flight = [t for t in current if _new_spec(t, service) and T.state_of(t) != "running"]
    running_fresh = [t for t in fresh if T.state_of(t) == "running"]
    last_running = max((t["Status"]["Timestamp"] for t in running_fresh), default=None)

    if not dirty and not in_flight:
        if last_running is None or snap.seconds_since(last_running) >= monitor:
            state, message = COMPLETED[status["State"]]
            return [_set_status(snap, service, state, message, completed=True)]
        return []

    # Like SwarmKit's update workers: each of `parallelism` workers replaces a slot, waits
    # until its new task runs, then `delay`, before it takes the next slot.
    delay = nanos_to_seconds(config.get("Delay"), f"{where}.Delay")
    resting = [t for t in running_fresh if snap.seconds_since(t["Status"]["Timestamp"]) < delay]
    parallelism = whole_number(config.get("Parallelism", 1), f"{where}.Parallelism") or len(dirty)
    room = parallelism - len(in_flight) - len(resting)
    if room <= 0 or not dirty:
        return []

    changes: list[dict[str, Any]] = []
    start_first = config.get("Order") == "start-first"
    for old in dirty[:room]:
        changes.append(T.create(T.new_task(service, old["Slot"], old["NodeID"] if
                                           not old["Slot"] else "", now=snap.stamp())))
        if not start_first:  # stop-first: the old task goes now; start-first: once the new runs
            changes.append(T.update(T.with_fields(old, DesiredState="shutdown")))
    return changes


_new_spec = T.runs_current_spec  # (its rule lives with the tasks: /tasks filters by it)


def _set_status(snap: Snapshot, service: dict[str, Any], state: str, message: str,
                completed: bool = False) -> dict[str, Any]:
    """The service (a copy: the snapshot's is read-only) with its update's new state."""
    status = {**service["UpdateStatus"], "State": state, "Message": message}
    if completed:
        status["CompletedAt"] = snap.stamp()
    return {"op": "update", "kind": "service", "object": {**service, "UpdateStatus": status}}


def _rollback(snap: Snapshot, service: dict[str, Any], culprit: str) -> dict[str, Any]:
    """Failure action rollback: the previous spec comes back, under the rollback policy."""
    rolled = {**service, "Spec": clone(service["PreviousSpec"]),
              "PreviousSpec": clone(service["Spec"]),
              "SpecVersion": {"Index": T.spec_version(service) + 1},
              "UpdateStatus": {
                  "State": "rollback_started", "StartedAt": snap.stamp(),
                  "Message": "update rolled back due to failure or early termination of task "
                             f"{culprit}"}}
    return {"op": "update", "kind": "service", "object": rolled}
