"""The restart supervisor: whether, and when, a task that ended gets a replacement.

Docker's rules (swarmkit.md §3): condition any | on-failure | none; max_attempts counts the
restarts of the slot (or global node) under the current spec version, within `window` if one
is set; the replacement starts `delay` after the task ended (at once if its node is drained
or down).
"""

from __future__ import annotations

from typing import Any

from swarmlet.manager.orchestrator.fields import whole_number
from swarmlet.manager.snapshot import Snapshot, nanos_to_seconds
from swarmlet.manager.tasks import spec_version

RESTART, WAIT, GIVE_UP = "restart", "wait", "give-up"
# Set on a task the supervisor will not restart (to the service version it gave up under),
# so the orchestrators tell "ended for good" from "shut down to be replaced".
GAVE_UP_MARK = "RestartGivenUp"
WHERE = "Spec.TaskTemplate.RestartPolicy"


def wants_restart(policy: dict[str, Any], ended: dict[str, Any]) -> bool:
    condition = policy.get("Condition", "any")
    if condition == "none":
        return False
    if condition == "on-failure":
        return ended["Status"]["State"] in ("failed", "rejected")
    return True


def restart_decision(snap: Snapshot, service: dict[str, Any], history: list[dict[str, Any]],
                     ended: dict[str, Any]) -> str:
    """`history`: every task of the slot; `ended`: its newest, which has ended (or whose node
    went away)."""
    policy = service["Spec"]["TaskTemplate"].get("RestartPolicy", {})
    lost_node = not snap.node_usable(ended["NodeID"]) if ended.get("NodeID") else False
    if not lost_node and not wants_restart(policy, ended):
        return GIVE_UP
    max_attempts = whole_number(policy.get("MaxAttempts") or 0, f"{WHERE}.MaxAttempts")
    if max_attempts and not lost_node:
        version = spec_version(service)
        window = nanos_to_seconds(policy.get("Window"), f"{WHERE}.Window")
        same_spec = [t for t in history if t.get("SpecVersion") == version]
        if window:
            same_spec = [t for t in same_spec
                         if snap.seconds_since(t["Status"]["Timestamp"]) <= window]
        restarts = max(len(same_spec) - 1, 0)
        if restarts >= max_attempts:
            return GIVE_UP
    if lost_node:
        return RESTART
    delay = nanos_to_seconds(policy.get("Delay"), f"{WHERE}.Delay")
    if snap.seconds_since(ended["Status"]["Timestamp"]) < delay:
        return WAIT
    return RESTART
