"""The task reaper: deletes tasks nobody needs any more.

- tasks of removed services, and tasks with desired state "remove" (scale-down), once they
  have stopped, never ran, or their node is down or gone;
- history beyond the retention limit per slot (replicated) or per node (global), oldest
  first, keeping max_attempts + 1 when the restart policy limits attempts;
- network attachments (containers on attachable networks) of nodes removed from the swarm,
  or of networks removed.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from swarmlet.manager import tasks as T
from swarmlet.manager.orchestrator.snapshot import Snapshot


def _gone(snap: Snapshot, task: dict[str, Any]) -> bool:
    return T.is_terminal(task) or not task.get("NodeID") or snap.node_down(task["NodeID"]) \
        or T.state_of(task) in ("new", "pending")


def reap(snap: Snapshot) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    history: dict[tuple[str, Any], list[dict[str, Any]]] = defaultdict(list)
    for task in snap.tasks:
        service = snap.services.get(task["ServiceID"])
        if service is None or task.get("DesiredState") == "remove":
            if _gone(snap, task):
                changes.append(T.delete(task))
            elif task.get("DesiredState") != "remove":
                # Made by a pass that raced the service's removal: it must stop too.
                task["DesiredState"] = "remove"
                changes.append(T.update(task))
            continue
        history[(task["ServiceID"], task["Slot"] or task["NodeID"])].append(task)

    for (service_id, _), tasks in history.items():
        policy = snap.services[service_id]["Spec"]["TaskTemplate"].get("RestartPolicy", {})
        limit = snap.retention
        if policy.get("MaxAttempts"):
            limit = max(limit, policy["MaxAttempts"] + 1)
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
    # (the node waiting for an attachment of a removed network reports the failure)
    changes += [{"op": "delete", "kind": "attachment", "id": a["ID"]}
                for a in snap.attachments if a.get("NodeID") not in snap.nodes
                or a.get("NetworkID") not in snap.networks]
    return changes
