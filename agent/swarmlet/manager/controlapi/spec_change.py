"""What a new spec does to a stored service (`service update`, `service rollback`): the old
spec becomes PreviousSpec, SpecVersion moves, and a new task template starts a rolling
update (UpdateStatus) — or clears an older update's status when nothing rolls out.

A job is never rolled out: as SwarmKit's controlapi, every new spec of a job starts its
next iteration instead (JobStatus.JobIteration, which the jobs orchestrator runs), so
`service update --force` runs a job again."""

from __future__ import annotations

from typing import Any

from swarmlet.manager import tasks as T
from swarmlet.spec.service import is_job
from swarmlet.store.objects import clone

Obj = dict[str, Any]


def job_status(spec: Obj, now: str, previous: Obj | None = None) -> Obj:
    """The JobStatus field of a job created (or given a new spec) at `now`: iteration 0,
    or the one after the service's current one; nothing for a service that is no job."""
    if not is_job(spec):
        return {}
    iteration = T.job_iteration(previous) + 1 if previous is not None else 0
    return {"JobStatus": {"JobIteration": {"Index": iteration}, "LastExecution": now}}


def with_new_spec(service: Obj, new_spec: Obj, state: str, message: str, now: str) -> Obj:
    """`service` (a copy, changed) under `new_spec`; `state` and `message` name the update
    that starts ("updating" or "rollback_started") if the tasks must be replaced."""
    service = clone(service)
    if is_job(new_spec):  # its next run, nothing rolled out
        service.update(PreviousSpec=service["Spec"], Spec=new_spec,
                       SpecVersion={"Index": T.spec_version(service) + 1},
                       **job_status(new_spec, now, service))
        service.pop("UpdateStatus", None)
        return service
    # As SwarmKit's IsTaskDirty: a new endpoint (ports, mode) needs new tasks too.
    template_changed = new_spec["TaskTemplate"] != service["Spec"]["TaskTemplate"] or \
        new_spec.get("EndpointSpec") != service["Spec"].get("EndpointSpec")
    service["PreviousSpec"] = service["Spec"]
    service["Spec"] = new_spec
    service["SpecVersion"] = {"Index": T.spec_version(service) + 1}
    if template_changed:
        service["UpdateStatus"] = {"State": state, "StartedAt": now, "Message": message}
    else:  # nothing rolls out; an older update's status goes, as SwarmKit clears it
        service.pop("UpdateStatus", None)
    return service
