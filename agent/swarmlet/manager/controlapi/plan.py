"""Plans before changes (Nomad's `job plan`): what a write would do, computed from the
store's current state and written nowhere.

A plan holds the normalised spec, its differences from the current one, whether the
service's tasks would be replaced, and the placement: the leader's own pass (loops.run_pass)
runs on an in-memory copy of the store with the change applied, so the plan places tasks
exactly as the pass would — slots per node, and the tasks that cannot be placed with the
scheduler's reasons ("no suitable node (...)"). A stage that fails there fails as in a real
pass: on its object, not the plan.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from swarmlet.manager import tasks as T
from swarmlet.manager.loops import run_pass
from swarmlet.store.memory import MemoryStore

Obj = dict[str, Any]
KINDS = ("service", "task", "node", "cluster", "network", "attachment", "secret", "config")
SIMULATED_PASSES = 3  # orchestrator -> allocator -> scheduler settles within one or two


def read_objects(store: Any) -> dict[str, list[Obj]]:
    """The objects a plan reads, kind by kind, as the store lists them."""
    return {kind: store.list(kind) for kind in KINDS}


def diff(old: Any, new: Any, path: str = "") -> list[Obj]:
    """Field-by-field differences, as [{"Path": "Mode.Replicated.Replicas", "Old": 2,
    "New": 5}]; lists compare whole."""
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[Obj] = []
        for key in sorted(set(old) | set(new)):
            sub = f"{path}.{key}" if path else key
            found += diff(old.get(key), new.get(key), sub)
        return found
    if old == new:
        return []
    return [{"Path": path, "Old": old, "New": new}]


def tasks_replaced(old: Obj | None, new: Obj) -> bool:
    """SwarmKit's IsTaskDirty: a new task template or endpoint means new tasks."""
    if old is None:
        return False
    return old.get("TaskTemplate") != new.get("TaskTemplate") or \
        old.get("EndpointSpec") != new.get("EndpointSpec")


def placement(objects: dict[str, list[Obj]], service: Obj, action: str,
              replace: bool = False) -> Obj:
    """Where the service's tasks would run once the leader's passes have acted on the
    change: the change written to an in-memory copy of the store, then the leader's pass
    (manager/loops.py) run there until nothing changes."""
    store = MemoryStore(objects)
    mine = [t for t in store.list("task") if t.get("ServiceID") == service["ID"]]
    changes: list[Obj] = []
    if action != "create" or replace:  # old tasks go (replaced, or with their service)
        changes += [{"op": "delete", "kind": "task", "id": t["ID"]} for t in mine]
    if action == "remove":
        changes.append({"op": "delete", "kind": "service", "id": service["ID"]})
    else:
        changes.append({"op": action, "kind": "service", "object": service})
    store.write(changes)
    for _ in range(SIMULATED_PASSES):  # the leader's own pass, until it has nothing to do
        index = store.state.index
        run_pass(store, simulated=True)
        if store.state.index == index:
            break
    hostnames = _hostnames(store.list("node"))
    active = [t for t in store.list("task")
              if t.get("ServiceID") == service["ID"] and T.is_active(t)]
    nodes = Counter(hostnames.get(t["NodeID"], t["NodeID"]) for t in active if t.get("NodeID"))
    reasons = Counter((t.get("Status") or {}).get("Err") or "pending"
                      for t in active if not t.get("NodeID"))
    return {"Nodes": dict(sorted(nodes.items())),
            "Unplaced": [{"Tasks": n, "Reason": r} for r, n in sorted(reasons.items())]}


def _hostnames(nodes: list[Obj]) -> dict[str, str]:
    return {n["ID"]: (n.get("Description") or {}).get("Hostname") or n["ID"] for n in nodes}


def service_plan(objects: dict[str, list[Obj]], action: str, old: Obj | None,
                 service: Obj) -> Obj:
    """The plan of a service create, update or remove. `service` is the service object as
    it would be written (the current one for a remove)."""
    old_spec = old["Spec"] if old else None
    new_spec = None if action == "remove" else service["Spec"]
    replace = action != "remove" and tasks_replaced(old_spec, service["Spec"])
    current: Counter[str] = Counter()
    hostnames = _hostnames(objects.get("node", []))
    for task in objects.get("task", []):
        if task.get("ServiceID") == service["ID"] and T.is_active(task) and task.get("NodeID"):
            current[hostnames.get(task["NodeID"], task["NodeID"])] += 1
    return {
        "DryRun": True,
        "Kind": "service",
        "Action": action,
        "ID": service["ID"] if old else "",
        "Name": service["Spec"]["Name"],
        "Spec": new_spec,
        "Diff": diff(old_spec or {}, new_spec or {}),
        "TasksReplaced": replace,
        "CurrentPlacement": dict(sorted(current.items())),
        "Placement": placement(objects, service, action, replace=replace),
    }


def spec_plan(kind: str, action: str, object_id: str, old_spec: Obj, new_spec: Obj) -> Obj:
    """The plan of a change to a node, network, secret, config or the swarm: its spec and
    the differences (nothing is placed)."""
    return {"DryRun": True, "Kind": kind, "Action": action, "ID": object_id,
            "Spec": new_spec, "Diff": diff(old_spec, new_spec)}
