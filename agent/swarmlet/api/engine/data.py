"""Docker's /secrets and /configs over swarmlet's control API for data objects
(manager/controlapi/secrets.py owns the rules: names, sizes, labels-only updates, in use).

What is Docker's here: the filters of a list (daemon/cluster/filters.go: id and name
prefixes, exact names, labels), a 201 with {"ID"} for a create, 204 for a removal, and the
request shape, whose Driver (secret store plugins) swarmlet does not have: refused with a
400 naming it rather than ignored. A config's Templating goes on to the control API, which
takes the golang driver (rendered by the worker) and refuses the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from swarmlet.api.engine.answers import Answer, created, no_content
from swarmlet.api.engine.filters import Filters, parse_filters
from swarmlet.api.node_control import NodeControl
from swarmlet.api.router import Request, Router, version_param
from swarmlet.manager.controlapi.kinds import CONFIG, SECRET, Kind
from swarmlet.spec.engine.objects import DataBody, ListQuery, UpdateQuery
from swarmlet.transport.errors import HttpError

if TYPE_CHECKING:  # the manager's modules load when the node becomes one (node/swarm.py)
    from swarmlet.manager.controlapi.secrets import DataObjectAPI

Obj = dict[str, Any]
FILTERS = ("id", "label", "name", "names")


def data_spec(kind: Kind, body: Obj) -> Obj:
    """Docker's SecretSpec/ConfigSpec as swarmlet's: Driver refused, and a secret's
    Templating."""
    if (body.get("Driver") or {}).get("Name"):
        raise HttpError(400, f"{kind.name} drivers are not supported: swarmlet keeps every "
                             f"{kind.name}'s data in its own store (Driver)")
    if kind is not CONFIG and (body.get("Templating") or {}).get("Name"):
        raise HttpError(400, f"{kind.name} templating is not supported (Templating)")
    keys = ("Name", "Labels", "Data", "Templating")
    return {k: body[k] for k in keys if body.get(k) is not None}


def matches(filters: Filters, obj: Obj) -> bool:
    """SwarmKit's ListSecrets filters: every key holds; within a key, any value."""
    spec = obj.get("Spec") or {}
    name = spec.get("Name", "")
    return (filters.any_equal("names", name) and filters.any_prefix("name", name)
            and filters.any_prefix("id", obj["ID"])
            and filters.labels_match("label", spec.get("Labels")))


def add_data_routes(router: Router, access: NodeControl) -> None:
    for kind in (SECRET, CONFIG):
        _add_kind(router, access, kind)


def _add_kind(router: Router, access: NodeControl, kind: Kind) -> None:
    def api() -> DataObjectAPI:
        from swarmlet.manager.controlapi.secrets import DataObjectAPI

        return DataObjectAPI(access.manager(), kind)

    base, what = f"/{kind.name}s", kind.name

    @router.add("POST", f"{base}/create", f"Create a {what}", body=DataBody)
    def create(request: Request) -> Answer:
        return created(api().create(data_spec(kind, request.body)))

    @router.add("GET", base, f"List {what}s", query=ListQuery)
    def listing(request: Request) -> list[Obj]:
        filters = parse_filters(request.query.get("filters"), FILTERS)
        return [o for o in api().list() if matches(filters, o)]

    @router.add("GET", f"{base}/{{id}}", f"Inspect a {what}")
    def inspect(request: Request) -> Obj:
        return api().inspect(request.params["id"])

    @router.add("POST", f"{base}/{{id}}/update", f"Update a {what}'s labels", body=DataBody,
                query=UpdateQuery)
    def update(request: Request) -> None:
        api().update(request.params["id"], version_param(request), data_spec(kind, request.body))

    @router.add("DELETE", f"{base}/{{id}}", f"Remove a {what}")
    def remove(request: Request) -> Answer:
        api().remove(request.params["id"])
        return no_content()

    for func in (create, listing, inspect, update, remove):
        func.__name__ = f"engine_{what}_{func.__name__}"
