"""The swarm's spec and nodes' specs: checked bodies merged onto the current spec.

An accepted /swarm/update must leave managers that start again: a section given replaces
only the keys it names (`"Dispatcher": {}` or `null` keeps the heartbeat), and the result is
checked as a whole before it is written.
"""

from __future__ import annotations

from typing import Any

from swarmlet.spec.swarm_models import NodeSpec, SwarmSpec
from swarmlet.spec.validate import checked

SECTIONS = ("Orchestration", "Raft", "Dispatcher", "CAConfig", "EncryptionConfig",
            "TaskDefaults")


def merged_swarm_spec(current: dict[str, Any], body: Any) -> dict[str, Any]:
    """The swarm spec after an update with `body` (a SwarmSpec, fields left out kept)."""
    given = checked(SwarmSpec, body, "swarm spec", required=False)
    spec = {**current}
    for key, value in given.items():
        if key in SECTIONS:
            spec[key] = {**(current.get(key) or {}), **value}
        else:
            spec[key] = value
    return checked(SwarmSpec, spec, "swarm spec")


def merged_node_spec(current: dict[str, Any], body: Any) -> dict[str, Any]:
    """A node's spec after an update with `body` (a NodeSpec, fields left out kept)."""
    given = checked(NodeSpec, body, "node spec", required=False)
    return {**current, **given, "Labels": given.get("Labels", current.get("Labels") or {})}
