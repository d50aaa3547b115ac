"""The jobs orchestrator (SwarmKit's orchestrator/jobs): services whose tasks run to
completion. A replicated job wants `TotalCompletions` completed tasks, running at most
`MaxConcurrent` at a time; a global job wants one completed task on every eligible node.

A job runs in iterations: JobStatus.JobIteration on the service moves with every new spec
(controlapi/spec_change.py: `service update --force` runs the job again), and each task
carries the iteration it was made for. Only the current iteration's tasks count; older ones
that have not ended are removed (desired "remove"), ended ones stay as history.

A job's task is meant to reach COMPLETE (desired "complete", as SwarmKit's) and is never
restarted once it has: the restart policy's `any` means `on-failure` for a job. A task that
failed, or whose node went down or was drained, goes to the restart supervisor keyed by its
slot (or node), as a service's does; one it gives up on keeps its slot, so the job stays
short of its completions (as `service ls` shows) until it is run again.

Replicated jobs number their slots 1..TotalCompletions (SwarmKit's from 0; swarmlet's slot 0
means "keyed by node"); each slot ends with one completed task. Global jobs: a node that
joins or becomes eligible later gets its task too, as SwarmKit's reconciler makes one for
every eligible node without a task of the iteration; a paused node gets none.
A job that cannot be reconciled (a malformed spec or task) keeps the error and waits.
Tasks of the snapshot are read-only: a changed task is a copy (tasks.with_fields).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from swarmlet.manager import tasks as T
from swarmlet.manager.orchestrator.fields import FieldError, service_mode
from swarmlet.manager.orchestrator.restart import GAVE_UP_MARK, GIVE_UP, RESTART, restart_decision
from swarmlet.manager.snapshot import Snapshot
from swarmlet.manager.tasks import spec_version
from swarmlet.spec.constraints import node_matches, parse_constraints
from swarmlet.spec.service import job_counts

STAGE = "orchestrator"
Obj = dict[str, Any]


def reconcile_jobs(snap: Snapshot) -> list[Obj]:
    changes: list[Obj] = []
    by_service = snap.tasks_by_service()
    for service in snap.services.values():
        changes += snap.guard(STAGE, "service", service,
                              lambda s=service: _reconcile_if_job(snap, s, by_service), [])
    return changes


def _reconcile_if_job(snap: Snapshot, service: Obj, by_service: dict[str, list[Obj]]
                      ) -> list[Obj]:
    mode = service_mode(service)
    if mode not in ("replicated-job", "global-job"):
        return []
    tasks = by_service.get(service["ID"], [])
    iteration = T.job_iteration(service)
    changes = _retire_older_iterations(tasks, iteration)
    current = [t for t in tasks if T.task_iteration(t) == iteration
               and t.get("DesiredState") != "remove"]
    if mode == "replicated-job":
        return changes + _replicated(snap, service, current)
    return changes + _global(snap, service, current)


def _retire_older_iterations(tasks: list[Obj], iteration: int) -> list[Obj]:
    """Tasks of an earlier run that have not ended stop and go (the ended ones are history)."""
    return [T.update(T.with_fields(t, DesiredState="remove")) for t in tasks
            if T.task_iteration(t) != iteration and not T.is_terminal(t)
            and t.get("DesiredState") != "remove"]


def _replicated(snap: Snapshot, service: Obj, tasks: list[Obj]) -> list[Obj]:
    try:
        max_concurrent, total = job_counts(service["Spec"])
    except (TypeError, ValueError, AttributeError):
        raise FieldError(f"Spec.Mode: {service['Spec'].get('Mode')!r} does not give the "
                         "job's MaxConcurrent and TotalCompletions") from None
    changes: list[Obj] = []
    slots: dict[int, list[Obj]] = defaultdict(list)
    for task in tasks:
        slots[task["Slot"]].append(task)
    taken: set[int] = set()  # completed, in progress, or given up
    in_progress = 0
    for slot, history in slots.items():
        outcome = _settle(snap, service, history, changes, lambda s=slot: T.new_job_task(
            service, s, now=snap.stamp()))
        if outcome != "free":
            taken.add(slot)
        in_progress += outcome == "in progress"
    room = min(max_concurrent - in_progress, total - len(taken))
    free = [n for n in range(1, total + 1) if n not in taken]
    for slot in free[:max(room, 0)]:
        changes.append(T.create(T.new_job_task(service, slot, now=snap.stamp())))
    return changes


def _global(snap: Snapshot, service: Obj, tasks: list[Obj]) -> list[Obj]:
    changes: list[Obj] = []
    per_node: dict[str, list[Obj]] = defaultdict(list)
    for task in tasks:
        per_node[task.get("NodeID") or ""].append(task)
    placement = service["Spec"]["TaskTemplate"].get("Placement") or {}
    constraints = parse_constraints(placement.get("Constraints") or [])
    for node in snap.nodes.values():
        history = per_node.get(node["ID"], [])
        eligible = snap.node_usable(node["ID"]) and node_matches(constraints, node)
        if history and not eligible:  # as the global orchestrator: its task stops
            changes += [T.update(T.with_fields(t, DesiredState="shutdown"))
                        for t in history if T.is_active(t)]
            continue
        outcome = _settle(snap, service, history, changes, lambda n=node["ID"]: T.new_job_task(
            service, 0, n, now=snap.stamp())) if history else "free"
        paused = (node.get("Spec") or {}).get("Availability") == "pause"
        if outcome == "free" and eligible and not paused:
            changes.append(T.create(T.new_job_task(service, 0, node["ID"], now=snap.stamp())))
    for node_id, history in per_node.items():  # nodes removed from the swarm
        if node_id not in snap.nodes:
            changes += [T.update(T.with_fields(t, DesiredState="shutdown"))
                        for t in history if T.is_active(t)]
    return changes


def _settle(snap: Snapshot, service: Obj, history: list[Obj], changes: list[Obj],
            replacement: Callable[[], Obj]) -> str:
    """What the slot (or node) with these tasks of the iteration holds: "complete", "in
    progress" (running, starting, or waiting for its restart delay), "given up", or "free"
    (nothing meant to run: a new task may take it). Appends the changes that settle it:
    older tasks told to stop, a failed task restarted (`replacement()` makes the new one)
    or given up."""
    current = T.newest(history)
    for older in history:
        if older is not current and T.is_active(older):
            changes.append(T.update(T.with_fields(older, DesiredState="shutdown")))
    if T.state_of(current) == "complete":
        return "complete"
    if current.get("DesiredState") not in T.MEANT_TO_RUN:
        return "given up" if GAVE_UP_MARK in current else "free"
    node_lost = bool(current.get("NodeID")) and not snap.node_usable(current["NodeID"])
    if not T.is_terminal(current) and not node_lost:
        return "in progress"
    decision = restart_decision(snap, service, history, current)
    if decision == GIVE_UP:
        changes.append(T.update(T.with_fields(current, DesiredState="shutdown",
                                              **{GAVE_UP_MARK: spec_version(service)})))
        return "given up"
    if decision == RESTART:
        changes.append(T.update(T.with_fields(current, DesiredState="shutdown")))
        changes.append(T.create(replacement()))
    return "in progress"  # restarted, or waiting for the restart delay
