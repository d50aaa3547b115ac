"""Docker's ServiceStatus of a service (`service ls` REPLICAS, `?status=true`), counted from
its tasks as SwarmKit's controlapi ListServices does.

- replicated: running tasks meant to run / Replicas;
- global: running tasks meant to run / tasks meant to run;
- replicated job: running tasks of the current iteration / MaxConcurrent, and its completed
  tasks (CompletedTasks): `service ls` shows "1/2 (3/5 completed)";
- global job: running / tasks of the iteration still to complete, and the completed ones.
"""

from __future__ import annotations

from typing import Any

from swarmlet.manager import tasks as T
from swarmlet.spec.service import is_job, job_counts, mode_of, replicas_of

Obj = dict[str, Any]


def service_status(service: Obj, tasks: list[Obj]) -> Obj:
    """`tasks`: the service's tasks."""
    spec = service["Spec"]
    if is_job(spec):
        return _job_status(service, tasks)
    running = sum(1 for t in tasks if T.state_of(t) == "running"
                  and t.get("DesiredState") == "running")
    if mode_of(spec) == "global":
        desired = sum(1 for t in tasks if t.get("DesiredState") == "running")
    else:
        desired = replicas_of(spec)
    return {"RunningTasks": running, "DesiredTasks": desired}


def _job_status(service: Obj, tasks: list[Obj]) -> Obj:
    iteration = T.job_iteration(service)
    mine = [t for t in tasks if T.task_iteration(t) == iteration]
    running = sum(1 for t in mine if T.state_of(t) == "running")
    completed = sum(1 for t in mine if T.state_of(t) == "complete")
    if mode_of(service["Spec"]) == "replicated-job":
        desired = job_counts(service["Spec"])[0]
    else:  # the tasks still meant to complete
        desired = sum(1 for t in mine if t.get("DesiredState") == "complete"
                      and T.state_of(t) != "complete")
    return {"RunningTasks": running, "DesiredTasks": desired, "CompletedTasks": completed}
