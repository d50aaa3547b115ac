"""Docker's /tasks: the list with its filters (service and node by ID, name or ID prefix,
as dockerd resolves them) and one task by ID or unique ID prefix."""

from __future__ import annotations

from typing import Any

from swarmlet.api.engine.filters import Filters, parse_filters
from swarmlet.api.node_control import NodeControl
from swarmlet.api.router import Request, Router
from swarmlet.errors import NotFound
from swarmlet.manager.tasks import runs_current_spec
from swarmlet.spec.engine.services import TaskListQuery
from swarmlet.transport.errors import HttpError

TASK_FILTERS = ("name", "id", "label", "service", "node", "desired-state", "_up-to-date",
                "runtime")
# SwarmKit's TaskState names: what a desired-state filter may say.
TASK_STATES = ("new", "pending", "assigned", "accepted", "preparing", "ready", "starting",
               "running", "complete", "shutdown", "failed", "rejected", "remove", "orphaned")


def task_name(task: dict[str, Any], service_name: str) -> str:
    """SwarmKit's naming.Task: <service>.<slot, or node ID for a global task>.<task ID>."""
    slot = task.get("Slot") or task.get("NodeID") or ""
    return f"{service_name}.{slot}.{task['ID']}"


def check_desired_states(filters: Filters) -> None:
    for state in filters.get("desired-state"):
        if state and state.lower() not in TASK_STATES:
            raise HttpError(400, f"Invalid desired-state filter: '{state}'")


def up_to_date(task: dict[str, Any], service: dict[str, Any] | None) -> bool:
    """Whether a task runs the service's current spec (the CLI's progress bars ask)."""
    return service is not None and runs_current_spec(task, service)


def select_tasks(tasks: list[dict[str, Any]], filters: Filters,
                 services: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The tasks that pass every filter; service and node values are IDs by now."""
    wanted_states = {s.lower() for s in filters.get("desired-state") if s}
    found = []
    for task in tasks:
        service = services.get(task["ServiceID"])
        annotations = task.get("ServiceAnnotations") or {}
        name = (service or {}).get("Spec", {}).get("Name") or annotations.get("Name", "")
        if not (filters.any_prefix("id", task["ID"])
                and filters.any_prefix("name", task_name(task, name))
                and filters.any_equal("service", task["ServiceID"])
                and filters.any_equal("node", task.get("NodeID") or "")
                and filters.any_equal("runtime", "container")
                and filters.labels_match("label", annotations.get("Labels")
                                         or (service or {}).get("Spec", {}).get("Labels"))
                and (not wanted_states
                     or str(task.get("DesiredState", "")).lower() in wanted_states)
                and ("_up-to-date" not in filters or up_to_date(task, service))):
            continue
        found.append(task)
    return found


def add_task_routes(router: Router, access: NodeControl) -> None:
    @router.add("GET", "/tasks", "Tasks, Docker's filters (id, name, label, service, node, "
                "desired-state)", query=TaskListQuery)
    def task_list(request: Request) -> list[dict[str, Any]]:
        filters = parse_filters(request.query.get("filters"), TASK_FILTERS)
        check_desired_states(filters)
        services = access.services()
        # As dockerd: a service or node filter names one by ID, name or prefix.
        if "service" in filters:
            filters.values["service"] = [services.resolve(s)["ID"]
                                         for s in filters.get("service")]
        if "node" in filters:
            control = access.control()
            filters.values["node"] = [control.inspect_node(n)["ID"]
                                      for n in filters.get("node")]
        by_id = {s["ID"]: s for s in services.store.list("service")}
        return select_tasks(services.tasks(None, None), filters, by_id)

    @router.add("GET", "/tasks/{id}", "One task, by ID or unique ID prefix")
    def task_inspect(request: Request) -> dict[str, Any]:
        return find_task(access, request.params["id"])


def find_task(access: NodeControl, ref: str) -> dict[str, Any]:
    """A task by ID or unique ID prefix; Docker's 404 "task X not found" otherwise."""
    tasks = access.services().tasks(None, None)
    exact = [t for t in tasks if t["ID"] == ref]
    matches = exact or [t for t in tasks if t["ID"].startswith(ref)]
    if len(matches) > 1:
        raise HttpError(409, f"task {ref} is ambiguous ({len(matches)} matches found)")
    if not matches:
        raise NotFound(f"task {ref} not found")
    return matches[0]
