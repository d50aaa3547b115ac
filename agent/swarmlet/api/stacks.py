"""Routes of stacks (managers): POST /stacks/deploy (?dry_run=1: the plan only), GET
/stacks, DELETE /stacks/{name}. Registered by add_swarm_routes with its router, its `add`
and its way to the manager.

A compose file's nulls mean something (`networks: {front: null}` names a network with no
settings), so the deploy route checks its body against the model as every route does and
then hands the handler the body as it came, nulls and all."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from swarmlet.api.router import Handler, Request, Route, Router
from swarmlet.spec.query_models import DryRunQuery, is_true
from swarmlet.spec.stack_models import (
    StackDeployRequest,
    StackPlanAnswer,
    StackRemoved,
    StackSummary,
)

if TYPE_CHECKING:  # the manager's modules load when the node becomes one (node/swarm.py)
    from swarmlet.manager.controlapi.stacks import StackAPI
    from swarmlet.manager.manager import Manager


def add_stack_routes(router: Router, add: Callable[..., Any],
                     manager: Callable[[], Manager]) -> None:
    def stacks() -> StackAPI:
        from swarmlet.manager.controlapi.stacks import StackAPI

        return StackAPI(manager())

    @add("POST", "/stacks/deploy", "Deploy a stack from its compose files (as parsed by the "
         "client) and the files they name; ?dry_run=1: the plan, nothing written",
         body=StackDeployRequest, query=DryRunQuery, answer=StackPlanAnswer)
    def stack_deploy(request: Request) -> dict[str, Any]:
        return stacks().deploy(request.body, dry_run=is_true(request.query.get("dry_run")))

    _with_body_as_sent(_route(router, "POST", "/stacks/deploy"), stack_deploy)

    @add("GET", "/stacks", "Every stack (the namespaces its objects carry) and its number of "
         "services", answer=[StackSummary])
    def stack_list(_: Request) -> list[dict[str, Any]]:
        return stacks().list()

    @add("DELETE", "/stacks/{name}", "Remove a stack: its services, then its secrets, "
         "configs and networks", answer=StackRemoved)
    def stack_remove(request: Request) -> dict[str, Any]:
        return stacks().remove(request.params["name"])


def _route(router: Router, method: str, template: str) -> Route:
    return next(r for r in router.routes if r.method == method and r.template == template)


def _with_body_as_sent(route: Route, handler: Handler) -> None:
    """The route checks query and body as registered, then runs `handler` on the body as
    it was sent (the check drops nulls, which a compose file needs)."""
    def checked_then_raw(request: Request) -> Any:
        sent = request.body
        route.checked(request)
        request.body = sent
        return handler(request)

    route.handler = checked_then_raw
