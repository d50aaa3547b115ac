"""What a new spec does to a stored service (`service update`, `service rollback`): the old
spec becomes PreviousSpec, SpecVersion moves, and a new task template starts a rolling
update (UpdateStatus) — or clears an older update's status when nothing rolls out."""

from __future__ import annotations

from typing import Any

from swarmlet.manager import tasks as T
from swarmlet.store.objects import clone

Obj = dict[str, Any]


def with_new_spec(service: Obj, new_spec: Obj, state: str, message: str, now: str) -> Obj:
    """`service` (a copy, changed) under `new_spec`; `state` and `message` name the update
    that starts ("updating" or "rollback_started") if the tasks must be replaced."""
    service = clone(service)
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
