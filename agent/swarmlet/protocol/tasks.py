"""Task vocabulary shared by the manager (which writes tasks) and the worker (which runs
them): states, their order (a clock that only moves forward), and names.

States and their order are SwarmKit's (api/types.proto TaskState), rendered lower-case as
Docker's Engine API does; they live in swarmlet.spec.syntax, shared with the CLI and the
Ansible modules.
"""

from __future__ import annotations

from typing import Any

from swarmlet.spec.syntax import ORDER as ORDER  # re-exported: the spec core's states
from swarmlet.spec.syntax import STATES as STATES
from swarmlet.spec.syntax import TERMINAL as TERMINAL

# Desired states of a task that is meant to run: RUNNING; READY (placed and prepared, its
# start delayed); COMPLETE (a job's task: it runs until it exits, as SwarmKit's).
MEANT_TO_RUN = ("running", "ready", "complete")


def state_of(task: dict[str, Any]) -> str:
    return task.get("Status", {}).get("State", "new")


def at_least(state: str, other: str) -> bool:
    return ORDER[state] >= ORDER[other]


def is_terminal(task: dict[str, Any]) -> bool:
    return state_of(task) in TERMINAL


def is_active(task: dict[str, Any]) -> bool:
    """Meant to run and not ended: it holds its slot and counts as load on its node."""
    return task.get("DesiredState") in MEANT_TO_RUN and not is_terminal(task)


def is_serving(task: dict[str, Any]) -> bool:
    """RUNNING (healthy, with a health check: the executor reports "starting" until then)
    and not being stopped: it gets traffic."""
    return state_of(task) == "running" and task.get("DesiredState", "running") == "running"


def task_name(task: dict[str, Any]) -> str:
    """`<service>.<slot>` (replicated) or `<service>.<node id>` (global), as Docker names them."""
    service = task.get("ServiceAnnotations", {}).get("Name", task["ServiceID"])
    return f"{service}.{task['Slot'] or task['NodeID']}"


def container_name(task: dict[str, Any]) -> str:
    return f"{task_name(task)}.{task['ID']}"
