"""Recording a pass's failures on their objects (failures.py), as writes.

An object a stage could not process gets `ControlError: {Stage, Message, Since}`; a task
also gets the message in Status.Err, which `service ps` shows in its ERROR column. Once a
whole pass goes by without a failure on the object, the field goes (and the task's Err with
it, if it is still ours). Only a change is written: a failure that stays the same costs
nothing on later passes (every write goes through Raft), and it is logged once, when it is
first recorded or changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from swarmlet.manager.orchestrator.failures import Failure, Failures
from swarmlet.manager.snapshot import Snapshot

FIELD = "ControlError"
Obj = dict[str, Any]


@dataclass(frozen=True)
class Recorded:
    """One write, and the sentence to log for it (a failure is a warning; its end is not)."""

    change: Obj
    sentence: str
    failed: bool


def record(snap: Snapshot, failures: Failures) -> list[Recorded]:
    """The writes that make the objects of `snap` (the pass's view after its stages) show
    `failures`. The snapshot's objects are not changed: each write holds a copy."""
    since = snap.stamp()
    out: list[Recorded] = []
    for kind, obj in _objects(snap):
        object_id = obj.get("ID")
        failure = failures.get(kind, object_id) if isinstance(object_id, str) else None
        recorded = obj.get(FIELD)
        if failure is not None:
            if _shows(obj, kind, failure):
                continue
            same = isinstance(recorded, dict) and recorded.get("Stage") == failure.stage \
                and recorded.get("Message") == failure.message
            obj = {**obj, FIELD: {"Stage": failure.stage, "Message": failure.message,
                                  "Since": recorded.get("Since", since) if same else since}}
            if kind == "task" and isinstance(obj.get("Status"), dict):
                obj["Status"] = {**obj["Status"], "Err": failure.message}
            out.append(Recorded(_update(kind, obj), f"{_name(kind, obj)}: the {failure.stage} "
                                f"cannot process it: {failure.message}", True))
        elif recorded is not None:
            obj = {k: v for k, v in obj.items() if k != FIELD}
            status = obj.get("Status")
            if kind == "task" and isinstance(status, dict) and isinstance(recorded, dict) \
                    and status.get("Err") == recorded.get("Message"):
                obj["Status"] = {k: v for k, v in status.items() if k != "Err"}
            out.append(Recorded(_update(kind, obj),
                                f"{_name(kind, obj)}: processed cleanly again", False))
    return out


def _shows(obj: Obj, kind: str, failure: Failure) -> bool:
    """Whether the object already shows the failure (nothing to write)."""
    recorded = obj.get(FIELD)
    if not isinstance(recorded, dict) or recorded.get("Stage") != failure.stage \
            or recorded.get("Message") != failure.message:
        return False
    status = obj.get("Status")
    return kind != "task" or not isinstance(status, dict) or status.get("Err") == failure.message


def _objects(snap: Snapshot) -> Iterator[tuple[str, Obj]]:
    yield from (("service", s) for s in snap.services.values())
    yield from (("node", n) for n in snap.nodes.values())
    yield from (("task", t) for t in snap.tasks)
    yield from (("network", n) for n in snap.networks.values())
    yield from (("attachment", a) for a in snap.attachments)
    if snap.cluster is not None:
        yield "cluster", snap.cluster


def _update(kind: str, obj: Obj) -> Obj:
    return {"op": "update", "kind": kind, "object": obj}


def _name(kind: str, obj: Obj) -> str:
    spec = obj.get("Spec")
    name = spec.get("Name") if isinstance(spec, dict) else None
    return f"{kind} {obj.get('ID')}" + (f" ({name})" if isinstance(name, str) and name else "")

