"""Reading fields of stored objects with errors that name the field: the store may hold what
an older version or a worker wrote, and "UpdateConfig.Parallelism: 'two' is not a whole
number" tells a user what to fix where int() would only say "invalid literal"."""

from __future__ import annotations

from typing import Any

from swarmlet.manager import tasks as T
from swarmlet.spec.service import mode_of


class FieldError(ValueError):
    """A stored field that does not read as what the manager needs; the message names it."""


def whole_number(value: Any, where: str) -> int:
    """An int (a float with no fraction is one too, as JSON may carry it); bools are not."""
    if isinstance(value, bool) or not (isinstance(value, int) or
                                       (isinstance(value, float) and value.is_integer())):
        raise FieldError(f"{where}: {value!r} is not a whole number")
    return int(value)


def number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(f"{where}: {value!r} is not a number")
    return float(value)


def service_mode(service: dict[str, Any]) -> str:
    """"replicated", "global", "replicated-job" or "global-job" (a spec without Mode is
    replicated, as Docker's default)."""
    spec = service["Spec"]
    mode = spec.get("Mode", {}) if isinstance(spec, dict) else None
    if not isinstance(mode, dict):
        raise FieldError(f"Spec.Mode: {mode!r} is not Replicated, Global, ReplicatedJob or "
                         "GlobalJob")
    return mode_of(spec)


def check_task(task: dict[str, Any]) -> None:
    """FieldError naming the first field of a task that the stages cannot read (a worker's
    report or an older version may have written it)."""
    status = task.get("Status")
    if not isinstance(status, dict):
        raise FieldError(f"Status: {status!r} is not an object")
    for where, state in (("Status.State", status.get("State", "new")),
                         ("DesiredState", task.get("DesiredState", "running"))):
        if not isinstance(state, str) or state not in T.ORDER:
            raise FieldError(f"{where}: {state!r} is not a task state")
    if not isinstance(task.get("ServiceID"), str):
        raise FieldError(f"ServiceID: {task.get('ServiceID')!r} is not a service ID")
    slot = task.get("Slot")
    if slot is not None and (isinstance(slot, bool) or not isinstance(slot, int)):
        raise FieldError(f"Slot: {slot!r} is not a slot number")
    node_id = task.get("NodeID")
    if node_id is not None and not isinstance(node_id, str):
        raise FieldError(f"NodeID: {node_id!r} is not a node ID")
    iteration = task.get("JobIteration")
    if iteration is not None:  # a job's task
        index = iteration.get("Index") if isinstance(iteration, dict) else None
        if isinstance(index, bool) or not isinstance(index, int):
            raise FieldError(f"JobIteration: {iteration!r} is not a job iteration")
