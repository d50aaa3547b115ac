"""The task reaper: deletes tasks nobody needs any more.

- tasks of removed services, and tasks with desired state "remove" (scale-down), once they
  have stopped, never ran, or their node is down or gone;
- history beyond the retention limit per slot (replicated) or per node (global), oldest
  first, keeping max_attempts + 1 when the restart policy limits attempts;
- network attachments (containers on attachable networks) of nodes removed from the swarm,
  or of networks removed.
A task (or a service's retention) that cannot be read keeps the error and is left alone.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from swarmlet.manager import tasks as T
from swarmlet.manager.orchestrator.fields import whole_number
from swarmlet.manager.snapshot import Snapshot

STAGE = "reaper"


def _gone(snap: Snapshot, task: dict[str, Any]) -> bool:
    return T.is_terminal(task) or not task.get("NodeID") or snap.node_down(task["NodeID"]) \
        or T.state_of(task) in ("new", "pending")


def reap(snap: Snapshot) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    history: dict[tuple[str, Any], list[dict[str, Any]]] = defaultdict(list)
    for task in snap.tasks:
        changes += snap.guard(STAGE, "task", task, lambda t=task: _reap_task(snap, t, history),
                              [])
    by_service: dict[str, list[list[dict[str, Any]]]] = defaultdict(list)
    for (service_id, _), tasks in history.items():
        by_service[service_id].append(tasks)
    for service_id, groups in by_service.items():
        service = snap.services[service_id]
        changes += snap.guard(STAGE, "service", service,
                              lambda s=service, g=groups: _trim_history(snap, s, g), [])
    # (the node waiting for an attachment of a removed network reports the failure)
    for attachment in snap.attachments:
        if snap.guard(STAGE, "attachment", attachment, lambda a=attachment: _orphan(snap, a),
                      False):
            changes.append({"op": "delete", "kind": "attachment", "id": attachment["ID"]})
    return changes


def _orphan(snap: Snapshot, attachment: dict[str, Any]) -> bool:
    """An attachment whose node or network is gone."""
    return attachment.get("NodeID") not in snap.nodes or \
        attachment.get("NetworkID") not in snap.networks


def _reap_task(snap: Snapshot, task: dict[str, Any],
               history: dict[tuple[str, Any], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Deletes or stops a task nobody needs; files the others by slot (or node) of their
    service."""
    service = snap.services.get(task["ServiceID"])
    if service is None or task.get("DesiredState") == "remove":
        if _gone(snap, task):
            return [T.delete(task)]
        if task.get("DesiredState") != "remove":
            # Made by a pass that raced the service's removal: it must stop too.
            return [T.update(T.with_fields(task, DesiredState="remove"))]
        return []
    history[(task["ServiceID"], task["Slot"] or task["NodeID"])].append(task)
    return []


def _trim_history(snap: Snapshot, service: dict[str, Any],
                  groups: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The oldest ended tasks of each slot (or node) beyond the retention limit."""
    policy = service["Spec"]["TaskTemplate"].get("RestartPolicy") or {}
    limit = snap.retention
    attempts = whole_number(policy.get("MaxAttempts") or 0,
                            "Spec.TaskTemplate.RestartPolicy.MaxAttempts")
    if attempts:
        limit = max(limit, attempts + 1)
    changes: list[dict[str, Any]] = []
    for tasks in groups:
        if limit < 0 or len(tasks) <= limit:
            continue
        oldest_first = sorted(tasks, key=lambda t: (t.get("CreatedAt", ""), t["Version"]["Index"]))
        excess = len(tasks) - limit
        for task in oldest_first:
            if excess == 0:
                break
            if T.is_terminal(task) and not T.is_active(task):
                changes.append(T.delete(task))
                excess -= 1
    return changes
