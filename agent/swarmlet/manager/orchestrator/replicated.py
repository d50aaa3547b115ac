"""The replicated orchestrator: keep `Replicas` slots, each with one task meant to run.

Per slot, the newest task holds it. A task that ended goes to the restart supervisor; a task
whose node is down, drained or gone is replaced at once (no rebalancing when the node comes
back, as in Docker). Missing slots get new tasks (lowest free numbers); surplus slots lose
their task (desired "remove"), preferring tasks not running, then nodes with the most copies.
A service that cannot be reconciled (a malformed spec or task) keeps the error and waits.
Tasks of the snapshot are read-only: a changed task is a copy (tasks.with_fields).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from swarmlet.manager import tasks as T
from swarmlet.manager.orchestrator.fields import FieldError, service_mode
from swarmlet.manager.orchestrator.restart import GAVE_UP_MARK, GIVE_UP, RESTART, restart_decision
from swarmlet.manager.orchestrator.update import start_first_overlap
from swarmlet.manager.snapshot import Snapshot
from swarmlet.manager.tasks import spec_version
from swarmlet.spec.service import replicas_of

STAGE = "orchestrator"


def reconcile_replicated(snap: Snapshot) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    by_service = snap.tasks_by_service()
    for service in snap.services.values():
        changes += snap.guard(STAGE, "service", service,
                              lambda s=service: _reconcile_if_replicated(snap, s, by_service), [])
    return changes


def _reconcile_if_replicated(snap: Snapshot, service: dict[str, Any],
                             by_service: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    if service_mode(service) != "replicated":
        return []
    return _reconcile_service(snap, service, by_service.get(service["ID"], []))


def _reconcile_service(snap: Snapshot, service: dict[str, Any],
                       tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    slots: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for task in tasks:
        if task.get("DesiredState") != "remove":
            slots[task["Slot"]].append(task)

    held: dict[int, dict[str, Any]] = {}  # slot → the task holding it
    for slot, history in sorted(slots.items()):
        current = T.newest(history)
        # Only the newest task of a slot may be meant to run (during a start-first update,
        # the old one runs on until the new one does).
        overlap = start_first_overlap(service) and not T.is_terminal(current) and \
            T.state_of(current) != "running"
        for older in history:
            if older is not current and T.is_active(older) and not overlap:
                changes.append(T.update(T.with_fields(older, DesiredState="shutdown")))
        if current.get("DesiredState") not in ("running", "ready"):
            # Ended and not to be restarted: the slot stays taken (REPLICAS shows it
            # missing), as Docker's does; anything else frees it.
            if current.get(GAVE_UP_MARK) == spec_version(service):
                held[slot] = current
            continue
        node_lost = bool(current.get("NodeID")) and not snap.node_usable(current["NodeID"])
        if not T.is_terminal(current) and not node_lost:
            held[slot] = current
            continue
        decision = restart_decision(snap, service, history, current)
        if decision == GIVE_UP:
            given_up = T.with_fields(current, DesiredState="shutdown",
                                     **{GAVE_UP_MARK: spec_version(service)})
            changes.append(T.update(given_up))
            held[slot] = given_up  # a slot whose task may not restart stays taken
        elif decision == RESTART:
            changes.append(T.update(T.with_fields(current, DesiredState="shutdown")))
            replacement = T.new_task(service, slot, now=snap.stamp())
            changes.append(T.create(replacement))
            held[slot] = replacement
        else:  # WAIT: the restart delay runs
            held[slot] = current

    try:
        want = replicas_of(service["Spec"])
    except (TypeError, ValueError, AttributeError):
        raise FieldError(f"Spec.Mode: {service['Spec'].get('Mode')!r} does not give a number "
                         "of replicas") from None
    if len(held) < want:
        free = (n for n in range(1, 10**9) if n not in slots)
        for _ in range(want - len(held)):
            changes.append(T.create(T.new_task(service, next(free), now=snap.stamp())))
    elif len(held) > want:
        copies = Counter(t.get("NodeID") for t in held.values())
        victims = sorted(held.values(), key=lambda t: (
            T.state_of(t) == "running", -copies[t.get("NodeID")], -t["Slot"]))
        for task in victims[:len(held) - want]:
            changes.append(T.update(T.with_fields(task, DesiredState="remove")))
    return changes
