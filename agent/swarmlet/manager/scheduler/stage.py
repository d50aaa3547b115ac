"""The scheduler stage of the leader's pass: the pure placement (manager/scheduler) turned
into store changes. Pending tasks get a node and become assigned; those no node fits stay
pending with the reason in Status.Err. Global tasks come with their node chosen: the
scheduler only checks that it still fits.

What the scheduler is handed is read first, one object at a time: a node whose resources do
not read, or a task whose state, reservations or ports do not, keeps the error (failures.py)
and is left out (a node takes no new task; a task is not placed, or not counted as load).
The snapshot's tasks are read-only: a placed task is a copy (tasks.set_status).
"""

from __future__ import annotations

from typing import Any

from swarmlet.manager import tasks as T
from swarmlet.manager.orchestrator.failures import Failure
from swarmlet.manager.orchestrator.fields import whole_number
from swarmlet.manager.scheduler import schedule
from swarmlet.manager.scheduler.nodeinfo import NodeInfo, holds_node, host_ports, reservations
from swarmlet.manager.snapshot import Snapshot

ASSIGNED_MESSAGE = "scheduler assigned task to node"
STAGE = "scheduler"


def schedule_pending(snap: Snapshot) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    nodes = [n for n in snap.nodes.values()
             if snap.guard(STAGE, "node", n, lambda n=n: _readable_node(n), False)]
    pending = [t for t in snap.readable_tasks()
               if T.state_of(t) == "pending" and t.get("DesiredState") in T.MEANT_TO_RUN]
    if not pending:
        return changes
    # What placement reads: the pending tasks, and the tasks that are load on a node.
    pending_ids = {t["ID"] for t in pending}
    tasks = [t for t in snap.readable_tasks() if (t["ID"] in pending_ids or holds_node(t))
             and snap.guard(STAGE, "task", t, lambda t=t: _readable_task(t), False)]
    readable = {t["ID"] for t in tasks}
    pending = [t for t in pending if t["ID"] in readable]
    plan = schedule(nodes, tasks, snap.services)
    by_id = {t["ID"]: t for t in pending}
    for task_id, node_id in plan.assignments.items():
        task = by_id.get(task_id)
        if task is not None:
            changes.append(T.update(T.set_status(T.with_fields(task, NodeID=node_id), "assigned",
                                                 ASSIGNED_MESSAGE, now=snap.stamp())))
    for task_id, message in plan.unschedulable.items():
        task = by_id.get(task_id)
        if task is not None and task["Status"].get("Err") != message:
            changes.append(T.update(T.set_status(task, "pending", "pending task scheduling",
                                                 err=message, now=snap.stamp())))
    for task_id, message in plan.failed.items():
        snap.failures.add(Failure("task", task_id, STAGE, message))
    return changes


def _readable_node(node: dict[str, Any]) -> bool:
    """Whether the node's fields that placement reads make sense (raises FieldError if not)."""
    resources = ((node.get("Description") or {}).get("Resources") or {})
    for key in ("NanoCPUs", "MemoryBytes"):
        whole_number(resources.get(key) or 0, f"Description.Resources.{key}")
    NodeInfo(node)
    return True


def _readable_task(task: dict[str, Any]) -> bool:
    """Whether the task's reservations and host ports read (raises if not; the rest of it
    was checked when the snapshot was made)."""
    reservations(task)
    host_ports(task)
    return True
