"""The scheduler stage of the leader's pass: the pure placement (manager/scheduler) turned
into store changes. Pending tasks get a node and become assigned; those no node fits stay
pending with the reason in Status.Err. Global tasks come with their node chosen: the
scheduler only checks that it still fits."""

from __future__ import annotations

from typing import Any

from swarmlet.manager import tasks as T
from swarmlet.manager.orchestrator.snapshot import Snapshot
from swarmlet.manager.scheduler import schedule

ASSIGNED_MESSAGE = "scheduler assigned task to node"


def schedule_pending(snap: Snapshot) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    pending = [t for t in snap.tasks
               if T.state_of(t) == "pending" and t.get("DesiredState") in ("running", "ready")]
    if not pending:
        return changes
    plan = schedule(list(snap.nodes.values()), snap.tasks, snap.services)
    by_id = {t["ID"]: t for t in pending}
    for task_id, node_id in plan.assignments.items():
        task = by_id.get(task_id)
        if task is not None:
            task["NodeID"] = node_id
            changes.append(T.update(T.set_status(task, "assigned", ASSIGNED_MESSAGE)))
    for task_id, message in plan.unschedulable.items():
        task = by_id.get(task_id)
        if task is not None and task["Status"].get("Err") != message:
            changes.append(T.update(T.set_status(task, "pending", "pending task scheduling",
                                                 err=message)))
    return changes
