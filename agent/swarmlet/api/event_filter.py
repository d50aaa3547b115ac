"""Which swarm events a `filters` query selects, as dockerd's events filter
(daemon/events/filter.go): every key given must match (keys AND, a key's values OR); names
and IDs match by prefix. Keys of dockerd's own objects (container, image, ...) select none
of the swarm's events. Tasks are swarmlet's addition: `service=` and `node=` select a
service's or a node's tasks too, `task=` a task by ID or name (web.1)."""

from __future__ import annotations

from typing import Any

from swarmlet.api.engine.filters import Filters

# dockerd's keys, and `task`.
EVENT_FILTER_KEYS = ("config", "container", "daemon", "event", "image", "label", "network",
                     "node", "plugin", "scope", "secret", "service", "task", "type", "volume")
LOCAL_KEYS = ("container", "daemon", "image", "plugin", "volume")
# A key naming an object: which event types it can select, and the attributes (beside the
# Actor's ID) that name it in each.
_OBJECT_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    "config": {"config": ("name",)},
    "network": {"network": ("name",)},
    "secret": {"secret": ("name",)},
    "node": {"node": ("name",), "task": ("node.id",)},
    "service": {"service": ("name",), "task": ("service.id", "service.name")},
    "task": {"task": ("name",)},
}


def event_matches(filters: Filters, event: dict[str, Any]) -> bool:
    if any(key in filters for key in LOCAL_KEYS):
        return False
    kind, actor = event["Type"], event["Actor"]
    attributes: dict[str, str] = actor.get("Attributes") or {}
    if not (filters.any_equal("type", kind) and filters.any_equal("event", event["Action"])
            and filters.any_equal("scope", event.get("scope", "swarm"))
            and filters.labels_match("label", attributes)):
        return False
    for key, types in _OBJECT_KEYS.items():
        if key not in filters:
            continue
        if kind not in types:
            return False
        names = [actor["ID"] if kind == key else "", *(attributes.get(a, "") for a in
                                                       types[kind])]
        if not any(name and name.startswith(wanted) for name in names
                   for wanted in filters.get(key)):
            return False
    return True
