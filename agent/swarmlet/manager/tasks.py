"""Tasks as the manager makes them: creation, status changes, store changes, and small
queries. The vocabulary the worker shares (states, names) is swarmlet.protocol.tasks,
re-exported here for the manager's modules.

The stages of the leader's pass read tasks they must not change (the pass's snapshot shares
them with the store): `with_fields` and `set_status` return a changed copy, never touching the
task they are given. `now` is the pass's time, as a timestamp (Snapshot.stamp)."""

from __future__ import annotations

from typing import Any

from swarmlet.protocol.tasks import MEANT_TO_RUN as MEANT_TO_RUN
from swarmlet.protocol.tasks import ORDER as ORDER
from swarmlet.protocol.tasks import STATES as STATES
from swarmlet.protocol.tasks import TERMINAL as TERMINAL
from swarmlet.protocol.tasks import at_least as at_least
from swarmlet.protocol.tasks import container_name as container_name
from swarmlet.protocol.tasks import is_active as is_active
from swarmlet.protocol.tasks import is_serving as is_serving
from swarmlet.protocol.tasks import is_terminal as is_terminal
from swarmlet.protocol.tasks import state_of as state_of
from swarmlet.protocol.tasks import task_name as task_name
from swarmlet.store.objects import clone, new_id, now_rfc3339


def newest(tasks: list[dict[str, Any]]) -> dict[str, Any]:
    return max(tasks, key=lambda t: (t.get("CreatedAt", ""), t["Version"]["Index"]))


def spec_version(service: dict[str, Any]) -> int:
    """How many times the service's spec was written (its object version moves with every
    write, UpdateStatus included; this one only with the spec)."""
    return int(service.get("SpecVersion", {}).get("Index", 0))


def runs_current_spec(task: dict[str, Any], service: dict[str, Any]) -> bool:
    """Whether the task runs the service's spec: its template and (as SwarmKit's
    IsTaskDirty, when the task has one) its endpoint, which decides its networks. A rolling
    update replaces the tasks that do not; Docker's `_up-to-date` task filter lists those
    that do."""
    endpoint = service["Spec"].get("EndpointSpec") or {}
    return task["Spec"] == service["Spec"]["TaskTemplate"] and \
        ("Endpoint" not in task or task["Endpoint"] == endpoint)


def job_iteration(service: dict[str, Any]) -> int:
    """The iteration a job service runs (JobStatus.JobIteration.Index; 0 before any)."""
    status = service.get("JobStatus") or {}
    return int((status.get("JobIteration") or {}).get("Index", 0))


def task_iteration(task: dict[str, Any]) -> int | None:
    """The job iteration a task was made for (None: a service's task, of no iteration)."""
    version = task.get("JobIteration")
    return int(version.get("Index", 0)) if isinstance(version, dict) else None


def new_task(service: dict[str, Any], slot: int, node_id: str = "",
             desired: str = "running", now: str | None = None) -> dict[str, Any]:
    return {
        "ID": new_id(),
        "ServiceID": service["ID"],
        # the labels too: a templated config's {{.Service.Labels}}
        "ServiceAnnotations": {"Name": service["Spec"]["Name"],
                               "Labels": dict(service["Spec"].get("Labels") or {})},
        "Slot": slot,
        "NodeID": node_id,
        "Spec": clone(service["Spec"]["TaskTemplate"]),
        "SpecVersion": spec_version(service),
        "Endpoint": clone(service["Spec"].get("EndpointSpec") or {}),
        "Status": {"Timestamp": now or now_rfc3339(), "State": "new", "Message": "created"},
        "DesiredState": desired,
    }


def new_job_task(service: dict[str, Any], slot: int, node_id: str = "",
                 now: str | None = None) -> dict[str, Any]:
    """A task of a job's current iteration: meant to run to completion (desired COMPLETE,
    as SwarmKit's), never restarted once it has."""
    return {**new_task(service, slot, node_id, desired="complete", now=now),
            "JobIteration": {"Index": job_iteration(service)}}


def with_fields(task: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A copy of the task with these top-level fields replaced (the task is not changed; the
    copy shares the fields it does not replace, which nobody may change either)."""
    return {**task, **fields}


def set_status(task: dict[str, Any], state: str, message: str, err: str = "",
               now: str | None = None) -> dict[str, Any]:
    """A copy of the task with a new Status (the task itself is not changed)."""
    status = {**task.get("Status", {}), "Timestamp": now or now_rfc3339(), "State": state,
              "Message": message}
    if err:
        status["Err"] = err
    else:
        status.pop("Err", None)
    return {**task, "Status": status}


def update(task: dict[str, Any]) -> dict[str, Any]:
    return {"op": "update", "kind": "task", "object": task}


def create(task: dict[str, Any]) -> dict[str, Any]:
    return {"op": "create", "kind": "task", "object": task}


def delete(task: dict[str, Any]) -> dict[str, Any]:
    return {"op": "delete", "kind": "task", "id": task["ID"]}
