"""Assignment latency (swarmlet_dispatcher_assignment_latency_seconds): from the store write
that assigned a task to a node to the dispatcher's answer that first carries it to that node.

The write's time is the task's UpdatedAt, stamped by the manager that proposed the write
(the leader's scheduling pass, on this same host's clock); the end is when the answer to the
node's poll is built, just before it goes on the wire. A task counts once: when it first
appears in a node's sections while still ASSIGNED (a task the node already holds, or one
it has moved on, is not an assignment any more).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from swarmlet.metrics import ASSIGNMENT_LATENCY
from swarmlet.protocol.assignments import Sections

_STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"  # store/objects.py stamp()


def assigned_at(task: dict[str, Any]) -> float | None:
    """When the task was assigned (epoch seconds), if it is still ASSIGNED."""
    if (task.get("Status") or {}).get("State") != "assigned":
        return None
    try:
        moment = datetime.strptime(str(task.get("UpdatedAt", "")), _STAMP)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC).timestamp()


def newly_assigned(old: Sections | None, new: Sections) -> list[float]:
    """The assignment times of the ASSIGNED tasks in `new` that `old` did not hold."""
    held = (old or {}).get("Tasks") or {}
    return [at for key, task in (new.get("Tasks") or {}).items()
            if key not in held and (at := assigned_at(task)) is not None]


def observe_assigned(old: Sections | None, new: Sections, now: float | None = None) -> None:
    now = time.time() if now is None else now
    for at in newly_assigned(old, new):
        ASSIGNMENT_LATENCY.observe(max(0.0, now - at))
