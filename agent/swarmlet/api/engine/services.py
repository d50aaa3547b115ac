"""Docker's /services: create, list (filters id, label, mode, name), inspect, update (and
rollback), remove — over the control API the agent's own routes use (api/swarm.py)."""

from __future__ import annotations

from typing import Any

from swarmlet.api.engine.answers import Answer, created
from swarmlet.api.engine.filters import Filters, parse_filters
from swarmlet.api.engine.logs import add_log_routes
from swarmlet.api.engine.service_specs import to_swarmlet
from swarmlet.api.engine.tasks import add_task_routes
from swarmlet.api.node_control import NodeControl
from swarmlet.api.router import Request, Router, version_param
from swarmlet.errors import Conflict
from swarmlet.spec.engine.services import (
    DockerServiceSpec,
    ServiceInspectQuery,
    ServiceListQuery,
    ServiceUpdateQuery,
    is_set,
)
from swarmlet.spec.service import mode_of

SERVICE_FILTERS = ("id", "label", "mode", "name", "runtime")


def select_services(services: list[dict[str, Any]], filters: Filters) -> list[dict[str, Any]]:
    """SwarmKit's ListServices filters (ID and name prefixes, labels) and dockerd's mode."""
    return [s for s in services
            if filters.any_prefix("id", s["ID"])
            and filters.any_prefix("name", s["Spec"]["Name"])
            and filters.labels_match("label", s["Spec"].get("Labels"))
            and filters.any_equal("mode", mode_of(s["Spec"]))
            and filters.any_equal("runtime", "container")]


def without_status(service: dict[str, Any]) -> dict[str, Any]:
    """Docker's service without ServiceStatus: only a list asked with ?status=true has it."""
    return {k: v for k, v in service.items() if k != "ServiceStatus"}


def add_service_routes(router: Router, access: NodeControl) -> None:
    """/services, and with them /tasks and the logs of both."""
    add_task_routes(router, access)
    add_log_routes(router, access)
    services = access.services

    @router.add("POST", "/services/create", "Create a service from Docker's ServiceSpec",
                body=DockerServiceSpec)
    def service_create(request: Request) -> Answer:
        spec = to_swarmlet(request.body)
        api = services()
        name = spec.get("Name")
        if name and any(s["Spec"]["Name"] == name for s in api.store.list("service")):
            raise Conflict(f"name conflicts with an existing object: service {name} "
                           "already exists")
        return created({"ID": api.create(spec)["ID"], "Warnings": None})

    @router.add("GET", "/services", "Services, Docker's filters (id, label, mode, name); "
                "?status=true adds ServiceStatus", query=ServiceListQuery)
    def service_list(request: Request) -> list[dict[str, Any]]:
        filters = parse_filters(request.query.get("filters"), SERVICE_FILTERS)
        found = select_services(services().list(), filters)
        if is_set(request.query.get("status")):
            return found
        return [without_status(s) for s in found]

    @router.add("GET", "/services/{id}", "One service, by ID, name or unique ID prefix "
                "(stored with its defaults: insertDefaults changes nothing)",
                query=ServiceInspectQuery)
    def service_inspect(request: Request) -> dict[str, Any]:
        return without_status(services().resolve(request.params["id"]))

    @router.add("POST", "/services/{id}/update", "Replace a service's spec (?version=N); "
                "?rollback=previous returns to the previous one", body=DockerServiceSpec,
                body_required=False, query=ServiceUpdateQuery)
    def service_update(request: Request) -> dict[str, Any]:
        rollback = request.query.get("rollback") == "previous"
        spec = to_swarmlet(request.body or {})
        services().update(request.params["id"], version_param(request), spec,
                          rollback=rollback)
        return {"Warnings": None}

    @router.add("DELETE", "/services/{id}", "Remove a service; its tasks are shut down")
    def service_remove(request: Request) -> None:
        services().remove(request.params["id"])
