"""Tasks: states (a clock that only moves forward), creation, and small queries.

States and their order are SwarmKit's (api/types.proto TaskState), rendered lower-case as
Docker's Engine API does; they live in swarmlet.spec.syntax, shared with the CLI and the
Ansible modules.
"""

from __future__ import annotations

from typing import Any

from swarmlet.spec.syntax import ORDER as ORDER  # re-exported: the spec core's states
from swarmlet.spec.syntax import STATES as STATES
from swarmlet.spec.syntax import TERMINAL as TERMINAL
from swarmlet.store.objects import clone, new_id, now_rfc3339


def state_of(task: dict[str, Any]) -> str:
    return task.get("Status", {}).get("State", "new")


def at_least(state: str, other: str) -> bool:
    return ORDER[state] >= ORDER[other]


def is_terminal(task: dict[str, Any]) -> bool:
    return state_of(task) in TERMINAL


def is_active(task: dict[str, Any]) -> bool:
    """Meant to run and not ended: it holds its slot and counts as load on its node."""
    return task.get("DesiredState") in ("running", "ready") and not is_terminal(task)


def is_serving(task: dict[str, Any]) -> bool:
    """RUNNING (healthy, with a health check: the executor reports "starting" until then)
    and not being stopped: it gets traffic."""
    return state_of(task) == "running" and task.get("DesiredState", "running") == "running"


def newest(tasks: list[dict[str, Any]]) -> dict[str, Any]:
    return max(tasks, key=lambda t: (t.get("CreatedAt", ""), t["Version"]["Index"]))


def spec_version(service: dict[str, Any]) -> int:
    """How many times the service's spec was written (its object version moves with every
    write, UpdateStatus included; this one only with the spec)."""
    return int(service.get("SpecVersion", {}).get("Index", 0))


def new_task(service: dict[str, Any], slot: int, node_id: str = "",
             desired: str = "running") -> dict[str, Any]:
    return {
        "ID": new_id(),
        "ServiceID": service["ID"],
        "ServiceAnnotations": {"Name": service["Spec"]["Name"]},
        "Slot": slot,
        "NodeID": node_id,
        "Spec": clone(service["Spec"]["TaskTemplate"]),
        "SpecVersion": spec_version(service),
        "Endpoint": clone(service["Spec"].get("EndpointSpec") or {}),
        "Status": {"Timestamp": now_rfc3339(), "State": "new", "Message": "created"},
        "DesiredState": desired,
    }


def set_status(task: dict[str, Any], state: str, message: str, err: str = "") -> dict[str, Any]:
    task["Status"] = {**task.get("Status", {}), "Timestamp": now_rfc3339(), "State": state,
                      "Message": message}
    if err:
        task["Status"]["Err"] = err
    else:
        task["Status"].pop("Err", None)
    return task


def task_name(task: dict[str, Any]) -> str:
    """`<service>.<slot>` (replicated) or `<service>.<node id>` (global), as Docker names them."""
    service = task.get("ServiceAnnotations", {}).get("Name", task["ServiceID"])
    return f"{service}.{task['Slot'] or task['NodeID']}"


def container_name(task: dict[str, Any]) -> str:
    return f"{task_name(task)}.{task['ID']}"


def update(task: dict[str, Any]) -> dict[str, Any]:
    return {"op": "update", "kind": "task", "object": task}


def create(task: dict[str, Any]) -> dict[str, Any]:
    return {"op": "create", "kind": "task", "object": task}


def delete(task: dict[str, Any]) -> dict[str, Any]:
    return {"op": "delete", "kind": "task", "id": task["ID"]}
