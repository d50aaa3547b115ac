"""The allocator: new tasks become pending once what they need is allocated. Nothing is
allocated yet (networks, VIPs and ports come with the networking work), so this is a
straight step, kept as its own stage so that the pipeline has SwarmKit's shape."""

from __future__ import annotations

from typing import Any

from swarmlet.manager import tasks as T


def allocate(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    changes = []
    for task in tasks:
        if T.state_of(task) == "new" and task.get("DesiredState") in ("running", "ready"):
            changes.append(T.update(T.set_status(task, "pending", "pending task scheduling")))
    return changes
