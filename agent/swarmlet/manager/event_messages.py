"""Docker's swarm event messages (moby's daemon/events.go, logClusterEvent) from the
store's committed changes: Type, Action create/update/remove, Actor (ID and attributes),
scope "swarm", time and timeNano. An update names what changed as `X.old`/`X.new`
attributes, as Docker's do. Tasks are swarmlet's addition (Docker has no task events)."""

from __future__ import annotations

from typing import Any

from swarmlet.spec.event_times import rfc3339_nanos
from swarmlet.store.watch import Event

ACTIONS = {"create": "create", "update": "update", "delete": "remove"}
# The kinds that make events, by Docker's type names; the cluster object and attachments
# make none (Docker's neither).
EVENT_TYPES = ("config", "network", "node", "secret", "service", "task")


def cluster_event(event: Event, now_ns: int) -> dict[str, Any] | None:
    """The message for one committed change, None for kinds that make none. Its time is the
    object's CreatedAt / UpdatedAt (the same on every manager), now for a removal."""
    if event.kind not in EVENT_TYPES or event.op not in ACTIONS:
        return None
    obj, old = event.object, event.old
    attributes = _ATTRIBUTES[event.kind](obj, old if event.op == "update" else None)
    stamp = {"create": obj.get("CreatedAt"), "update": obj.get("UpdatedAt")}.get(event.op)
    when = rfc3339_nanos(stamp)
    return message(event.kind, ACTIONS[event.op], obj["ID"], attributes,
                   when if when is not None else now_ns)


def message(kind: str, action: str, oid: str, attributes: dict[str, str],
            time_ns: int) -> dict[str, Any]:
    return {"Type": kind, "Action": action,
            "Actor": {"ID": oid, "Attributes": attributes},
            "scope": "swarm", "time": time_ns // 1_000_000_000, "timeNano": time_ns}


def _named(obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, str]:
    return {"name": str((obj.get("Spec") or {}).get("Name", ""))}


def _changed(attributes: dict[str, str], key: str, new: Any, old: Any) -> None:
    if new != old:
        attributes[f"{key}.old"] = "" if old is None else str(old).lower()
        attributes[f"{key}.new"] = "" if new is None else str(new).lower()


def node_name(node: dict[str, Any]) -> str:
    return str((node.get("Spec") or {}).get("Name")
               or (node.get("Description") or {}).get("Hostname", ""))


def _node_role(node: dict[str, Any]) -> str:
    return "manager" if node.get("ManagerStatus") else "worker"


def _node(obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, str]:
    attributes = {"name": node_name(obj)}
    if old is not None:
        _changed(attributes, "availability", (obj.get("Spec") or {}).get("Availability"),
                 (old.get("Spec") or {}).get("Availability"))
        _changed(attributes, "role", _node_role(obj), _node_role(old))
        _changed(attributes, "state", (obj.get("Status") or {}).get("State"),
                 (old.get("Status") or {}).get("State"))
    return attributes


def _image(service: dict[str, Any]) -> Any:
    return ((service.get("Spec") or {}).get("TaskTemplate") or {}).get(
        "ContainerSpec", {}).get("Image")


def _replicas(service: dict[str, Any]) -> Any:
    return ((service.get("Spec") or {}).get("Mode") or {}).get("Replicated", {}).get(
        "Replicas")


def _update_state(service: dict[str, Any]) -> Any:
    return (service.get("UpdateStatus") or {}).get("State")


def _service(obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, str]:
    attributes = _named(obj, old)
    if old is not None:
        if _image(obj) != _image(old):  # as written: an image reference is case-sensitive
            attributes["image.old"], attributes["image.new"] = (str(_image(old)),
                                                                str(_image(obj)))
        if _replicas(obj) is not None and _replicas(old) is not None:
            _changed(attributes, "replicas", _replicas(obj), _replicas(old))
        new_state, old_state = _update_state(obj), _update_state(old)
        if new_state is not None and old_state is None:
            attributes["updatestate.new"] = str(new_state).lower()
        elif new_state is not None:
            _changed(attributes, "updatestate", new_state, old_state)
    return attributes


def _task(obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, str]:
    service = str((obj.get("ServiceAnnotations") or {}).get("Name", ""))
    slot = obj.get("Slot") or obj.get("NodeID", "")
    state = (obj.get("Status") or {}).get("State", "")
    attributes = {"name": f"{service}.{slot}", "service.id": str(obj.get("ServiceID", "")),
                  "service.name": service, "node.id": str(obj.get("NodeID") or ""),
                  "state": str(state), "desiredstate": str(obj.get("DesiredState", ""))}
    if old is not None:
        _changed(attributes, "state", state, (old.get("Status") or {}).get("State"))
        _changed(attributes, "desiredstate", obj.get("DesiredState"),
                 old.get("DesiredState"))
        _changed(attributes, "node.id", obj.get("NodeID") or None, old.get("NodeID") or None)
    return attributes


_ATTRIBUTES = {"config": _named, "network": _named, "node": _node, "secret": _named,
               "service": _service, "task": _task}
