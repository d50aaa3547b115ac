"""Docker's /swarm routes: inspect, update and the unlock key (a manager's, on either
listener); init, join, leave and unlock act on this node, so only its unix socket takes
them, as the agent's own API does."""

from __future__ import annotations

from typing import Any

from swarmlet.api.access import LOCAL_ONLY
from swarmlet.api.engine import swarm_shapes
from swarmlet.api.node_control import NodeControl
from swarmlet.api.router import Request, Router, version_param
from swarmlet.ca.tokens import InvalidJoinToken
from swarmlet.errors import DomainError, SwarmletError
from swarmlet.node.swarm import SwarmNode
from swarmlet.spec.engine.swarm import (
    EngineForceQuery,
    EngineInitRequest,
    EngineJoinRequest,
    EngineSpecBody,
    EngineSwarmUpdateQuery,
    EngineUnlockRequest,
)
from swarmlet.spec.query_models import is_true
from swarmlet.transport.errors import HttpError


def _local(request: Request) -> None:
    if not request.local:
        raise HttpError(403, LOCAL_ONLY)


def _unavailable(exc: SwarmletError, cli: str = "docker") -> HttpError:
    """This node's own refusals (already in a swarm, not in one, a manager leaving) are
    Docker's 503s, naming Docker's commands."""
    return HttpError(503, str(exc).replace("swarmlet swarm", f"{cli} swarm"))


def add_swarm_routes(router: Router, node: SwarmNode, access: NodeControl) -> None:
    control = access.control

    @router.add("GET", "/swarm", "The swarm: spec, TLS trust root and join tokens")
    def swarm_inspect(_: Request) -> dict[str, Any]:
        return swarm_shapes.swarm_view(control().inspect_swarm())

    @router.add("POST", "/swarm/init", "Make this node the first manager of a new swarm",
                "local", body=EngineInitRequest, body_required=False)
    def swarm_init(request: Request) -> str:
        _local(request)
        body = request.body or {}
        settings = swarm_shapes.init_settings(body)
        try:
            node_id = node.init(**settings)
        except DomainError:
            raise
        except SwarmletError as exc:
            raise _unavailable(exc) from exc
        availability = body.get("Availability") or "active"
        if availability != "active":  # Docker's InitRequest has it; swarmlet's init not
            ctl = control()
            ctl.update_node(node_id, ctl.resolve_node(node_id)["Version"]["Index"],
                            {"Availability": availability})
        return node_id

    @router.add("POST", "/swarm/join", "Join a swarm with a join token", "local",
                body=EngineJoinRequest)
    def swarm_join(request: Request) -> None:
        _local(request)
        try:
            node.join(**swarm_shapes.join_settings(request.body))
        except InvalidJoinToken as exc:
            raise HttpError(400, str(exc)) from exc
        except DomainError:
            raise
        except SwarmletError as exc:
            raise _unavailable(exc) from exc

    @router.add("POST", "/swarm/leave", "Leave the swarm (?force=1 for a manager)", "local",
                query=EngineForceQuery)
    def swarm_leave(request: Request) -> None:
        _local(request)
        try:
            node.leave(is_true(request.query.get("force")))
        except DomainError:
            raise
        except SwarmletError as exc:
            raise _unavailable(exc) from exc

    @router.add("POST", "/swarm/update", "Change the swarm spec (the whole spec, as Docker's "
                "clients send it); rotate join tokens or the unlock key",
                body=EngineSpecBody, body_required=False, query=EngineSwarmUpdateQuery)
    def swarm_update(request: Request) -> None:
        query = request.query
        control().update_swarm(version_param(request),
                               swarm_shapes.swarm_spec(request.body or {}),
                               is_true(query.get("rotateWorkerToken")),
                               is_true(query.get("rotateManagerToken")),
                               rotate_unlock_key=is_true(query.get("rotateManagerUnlockKey")))

    @router.add("POST", "/swarm/unlock", "Unlock this manager (autolock)", "local",
                body=EngineUnlockRequest)
    def swarm_unlock(request: Request) -> None:
        _local(request)
        try:
            node.unlock(request.body["UnlockKey"])
        except DomainError:
            raise
        except SwarmletError as exc:
            raise _unavailable(exc) from exc

    @router.add("GET", "/swarm/unlockkey", "The swarm's unlock key (\"\" without autolock)")
    def swarm_unlock_key(_: Request) -> dict[str, str]:
        return control().unlock_key()
