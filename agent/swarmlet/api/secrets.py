"""Routes of secrets and configs (managers): Docker's /secrets and /configs endpoints.
Registered by add_swarm_routes with its `add` (store errors become API errors) and its way
to the manager (errors when this node is not one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from swarmlet.api.router import Request, version_param
from swarmlet.manager.controlapi.kinds import CONFIG, SECRET, Kind
from swarmlet.spec.answer_models import Config, Created, Plan, Secret
from swarmlet.spec.data_models import ConfigSpec, SecretSpec
from swarmlet.spec.query_models import VersionedQuery, is_true

if TYPE_CHECKING:  # the manager's modules load when the node becomes one (node/swarm.py)
    from swarmlet.manager.controlapi.secrets import DataObjectAPI
    from swarmlet.manager.manager import Manager


def add_secret_routes(add: Callable[..., Any], manager: Callable[[], Manager]) -> None:
    for kind in (SECRET, CONFIG):
        _add_kind(add, manager, kind)


def _add_kind(add: Callable[..., Any], manager: Callable[[], Manager], kind: Kind) -> None:
    def api() -> DataObjectAPI:
        from swarmlet.manager.controlapi.secrets import DataObjectAPI

        return DataObjectAPI(manager(), kind)

    what, base = kind.name, f"/{kind.name}s"
    shown = "" if kind.shows_data else " (never its data)"

    model, shown_as = (SecretSpec, Secret) if kind is SECRET else (ConfigSpec, Config)

    @add("POST", f"{base}/create", f"Create a {what} from a {what.capitalize()}Spec (Data: "
         "base64)", body=model, answer=Created)
    def create(request: Request) -> dict[str, str]:
        return api().create(request.body)

    @add("GET", base, f"Every {what} of the swarm{shown}", answer=[shown_as])
    def listing(_: Request) -> list[dict[str, Any]]:
        return api().list()

    @add("GET", f"{base}/{{id}}", f"One {what}, by ID, name or unique ID prefix{shown}",
         answer=shown_as)
    def inspect(request: Request) -> dict[str, Any]:
        return api().inspect(request.params["id"])

    @add("POST", f"{base}/{{id}}/update", f"Change a {what}'s labels (nothing else may "
         "change; ?dry_run=1: the plan)", body=model, query=VersionedQuery,
         answer=(None, Plan))
    def update(request: Request) -> Any:
        return api().update(request.params["id"], version_param(request), request.body,
                            dry_run=is_true(request.query.get("dry_run")))

    @add("DELETE", f"{base}/{{id}}", f"Remove a {what} no service uses")
    def remove(request: Request) -> None:
        api().remove(request.params["id"])

    for func in (create, listing, inspect, update, remove):  # distinct names in the OpenAPI
        func.__name__ = f"{what}_{func.__name__}"
