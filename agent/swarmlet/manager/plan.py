"""Plans before changes (Nomad's `job plan`): what a write would do, computed from the
store's current state and written nowhere.

A plan holds the normalised spec, its differences from the current one, whether the
service's tasks would be replaced, and the placement: the leader's own stages (orchestrator,
allocator, scheduler) run on an in-memory copy of the store with the change applied, so the
plan places tasks exactly as the pass would — slots per node, and the tasks that cannot be
placed with the scheduler's reasons ("no suitable node (...)").
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

from swarmlet.manager import tasks as T
from swarmlet.manager.allocator import allocate
from swarmlet.manager.orchestrator.global_ import reconcile_global
from swarmlet.manager.orchestrator.replicated import reconcile_replicated
from swarmlet.manager.orchestrator.snapshot import Snapshot
from swarmlet.manager.scheduling import schedule_pending

Obj = dict[str, Any]
KINDS = ("service", "task", "node", "cluster", "network", "attachment", "secret", "config")
SIMULATED_PASSES = 3  # orchestrator -> allocator -> scheduler settles within one or two


class MemoryStore:
    """Just enough of the store for Snapshot.read and the stages: a copy, changed in memory."""

    def __init__(self, objects: dict[str, list[Obj]]) -> None:
        self.kinds = {k: {o["ID"]: o for o in copy.deepcopy(objects.get(k, []))}
                      for k in KINDS}
        self.index = 1 << 40  # above any real index: simulated writes never look stale

    def list(self, kind: str) -> list[Obj]:
        return list(self.kinds[kind].values())

    def get(self, kind: str, object_id: str) -> Obj | None:
        return self.kinds[kind].get(object_id)

    def apply(self, changes: list[Obj]) -> None:
        for change in changes:
            kind = change["kind"]
            if change["op"] == "delete":
                self.kinds[kind].pop(change["id"], None)
                continue
            obj = copy.deepcopy(change["object"])
            self.index += 1
            obj["Version"] = {"Index": self.index}
            self.kinds[kind][obj["ID"]] = obj


def read_objects(store: Any) -> dict[str, list[Obj]]:
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


def placement(objects: dict[str, list[Obj]], service: Obj | None, removed: bool = False,
              replace: bool = False) -> Obj:
    """Where the service's tasks would run once the pass has acted on the change."""
    store = MemoryStore(objects)
    if service is None:
        return {"Nodes": {}, "Unplaced": []}
    if removed:
        store.kinds["service"].pop(service["ID"], None)
    else:
        store.kinds["service"][service["ID"]] = {"Version": {"Index": store.index},
                                                 **copy.deepcopy(service)}
    for task in store.list("task"):
        if task.get("ServiceID") == service["ID"] and (removed or replace):
            store.kinds["task"].pop(task["ID"])  # replaced (or gone): new ones take the slots
    for _ in range(SIMULATED_PASSES):
        changed = False
        for stage in (lambda s: reconcile_replicated(s) + reconcile_global(s), allocate,
                      schedule_pending):
            changes = stage(Snapshot.read(store))
            if changes:
                store.apply(changes)
                changed = True
        if not changed:
            break
    hostnames = {n["ID"]: (n.get("Description") or {}).get("Hostname") or n["ID"]
                 for n in store.list("node")}
    mine = [t for t in store.list("task")
            if t.get("ServiceID") == service["ID"] and T.is_active(t)]
    nodes = Counter(hostnames.get(t["NodeID"], t["NodeID"]) for t in mine if t.get("NodeID"))
    reasons = Counter((t.get("Status") or {}).get("Err") or "pending"
                      for t in mine if not t.get("NodeID"))
    return {"Nodes": dict(sorted(nodes.items())),
            "Unplaced": [{"Tasks": n, "Reason": r} for r, n in sorted(reasons.items())]}


def service_plan(objects: dict[str, list[Obj]], action: str, old: Obj | None,
                 service: Obj) -> Obj:
    """The plan of a service create, update or remove. `service` is the service object as
    it would be written (the current one for a remove)."""
    old_spec = old["Spec"] if old else None
    new_spec = None if action == "remove" else service["Spec"]
    replace = action != "remove" and tasks_replaced(old_spec, service["Spec"])
    current = Counter()
    hostnames = {n["ID"]: (n.get("Description") or {}).get("Hostname") or n["ID"]
                 for n in objects.get("node", [])}
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
        "Placement": placement(objects, service, removed=action == "remove",
                               replace=replace),
    }


def spec_plan(kind: str, action: str, object_id: str, old_spec: Obj, new_spec: Obj) -> Obj:
    """The plan of a change to a node, network, secret, config or the swarm: its spec and
    the differences (nothing is placed)."""
    return {"DryRun": True, "Kind": kind, "Action": action, "ID": object_id,
            "Spec": new_spec, "Diff": diff(old_spec, new_spec)}
