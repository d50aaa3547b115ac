"""The global orchestrator: one task of each global service on every eligible node.

Eligible: not down, not drained, and matching the service's constraints. A paused node keeps
its task but gets no new one. Tasks on nodes that stop being eligible are shut down; a task
that ended on an eligible node goes to the restart supervisor, keyed by node.
A service that cannot be reconciled (a malformed spec or task) keeps the error and waits.
Tasks of the snapshot are read-only: a changed task is a copy (tasks.with_fields).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from swarmlet.manager import tasks as T
from swarmlet.manager.orchestrator.fields import service_mode
from swarmlet.manager.orchestrator.restart import GAVE_UP_MARK, GIVE_UP, RESTART, restart_decision
from swarmlet.manager.orchestrator.update import start_first_overlap
from swarmlet.manager.snapshot import Snapshot
from swarmlet.manager.tasks import spec_version
from swarmlet.spec.constraints import Constraint, node_matches, parse_constraints

STAGE = "orchestrator"


def reconcile_global(snap: Snapshot) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    by_service = snap.tasks_by_service()
    for service in snap.services.values():
        changes += snap.guard(STAGE, "service", service,
                              lambda s=service: _reconcile_if_global(snap, s, by_service), [])
    return changes


def _reconcile_if_global(snap: Snapshot, service: dict[str, Any],
                         by_service: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    if service_mode(service) != "global":
        return []
    return _reconcile_service(snap, service, by_service.get(service["ID"], []))


def _eligible(snap: Snapshot, constraints: list[Constraint], node: dict[str, Any]) -> bool:
    return snap.node_usable(node["ID"]) and node_matches(constraints, node)


def _reconcile_service(snap: Snapshot, service: dict[str, Any],
                       tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    per_node: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for task in tasks:
        if task.get("DesiredState") != "remove":
            per_node[task["NodeID"]].append(task)
    placement = service["Spec"]["TaskTemplate"].get("Placement") or {}
    constraints = parse_constraints(placement.get("Constraints") or [])

    for node in snap.nodes.values():
        history = per_node.get(node["ID"], [])
        eligible = _eligible(snap, constraints, node)
        current = T.newest(history) if history else None
        overlap = current is not None and start_first_overlap(service) and \
            not T.is_terminal(current) and T.state_of(current) != "running"
        for task in history:
            if T.is_active(task) and ((task is not current and not overlap) or not eligible):
                changes.append(T.update(T.with_fields(task, DesiredState="shutdown")))
        if not eligible:
            continue
        gave_up = current is not None and \
            current.get(GAVE_UP_MARK) == spec_version(service)
        if current is None or (current.get("DesiredState") not in ("running", "ready")
                               and not gave_up):
            if (node.get("Spec") or {}).get("Availability") != "pause":
                changes.append(T.create(T.new_task(service, 0, node["ID"], now=snap.stamp())))
            continue
        if current.get("DesiredState") in ("running", "ready") and T.is_terminal(current):
            decision = restart_decision(snap, service, history, current)
            if decision in (GIVE_UP, RESTART):
                mark = {GAVE_UP_MARK: spec_version(service)} if decision == GIVE_UP else {}
                changes.append(T.update(T.with_fields(current, DesiredState="shutdown", **mark)))
            if decision == RESTART:
                changes.append(T.create(T.new_task(service, 0, node["ID"], now=snap.stamp())))

    for node_id, history in per_node.items():  # nodes removed from the swarm
        if node_id not in snap.nodes:
            for task in history:
                if T.is_active(task):
                    changes.append(T.update(T.with_fields(task, DesiredState="shutdown")))
    return changes

