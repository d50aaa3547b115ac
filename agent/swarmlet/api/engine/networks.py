"""Docker's /networks: the node's dockerd for local networks, swarmlet's control API for
swarm-scoped (overlay) ones, as a Docker daemon in a swarm answers both.

- GET /networks: dockerd's networks (its own filters) beside the swarm's (Docker's filters,
  network_shape.py), without the Docker networks the agent makes for its overlays on each
  node (net/dockernet.py): each swarm network shows once, as itself.
- GET and DELETE /networks/{id}: the swarm's network if there is one by that ID, name or
  ID prefix, else dockerd's (frontend.PROXY).
- POST /networks/create: driver overlay makes a swarm network; any other goes to dockerd.
- POST /networks/prune: dockerd's, never taking the agent's Docker networks.
- connect, disconnect: dockerd's, onto this node's Docker network when NETWORK names a
  swarm network (its ID, name or ID prefix), as `docker network connect appnet c` does in a
  swarm; dockerd's network otherwise.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import TYPE_CHECKING, Any

from swarmlet.api.engine import network_shape as shape
from swarmlet.api.engine.answers import Answer, created, no_content
from swarmlet.api.engine.filters import parse_filters
from swarmlet.api.engine.frontend import PROXY, EngineState
from swarmlet.api.node_control import NOT_A_MANAGER, NodeControl
from swarmlet.api.router import Request, Router
from swarmlet.errors import NotFound
from swarmlet.net import names
from swarmlet.spec.engine.objects import (
    ConnectBody,
    ListQuery,
    NetworkCreateBody,
    NetworkInspectQuery,
)
from swarmlet.spec.validate import without_nulls
from swarmlet.transport.errors import HttpError

if TYPE_CHECKING:
    from swarmlet.manager.controlapi.networks import NetworkAPI

Obj = dict[str, Any]
WORKER_CREATE = ("Cannot create a multi-host network from a worker node. Please create the "
                 "network from a manager node.")


def _manager_networks(access: NodeControl) -> NetworkAPI | None:
    """The control API for networks, or None where this node has no swarm to show."""
    try:
        return access.networks()
    except HttpError as exc:
        if exc.status == 503:
            return None
        raise


def _used_network_ids(access: NodeControl) -> set[str]:
    """Networks a service refers to (the ingress one: when a service publishes a port in
    ingress mode): the others are Docker's "dangling"."""
    from swarmlet.manager.allocator import network_objects as N

    store = access.manager().store
    used: set[str] = set()
    ingress = N.find_ingress({n["ID"]: n for n in store.list("network")})
    for service in store.list("service"):
        spec = service.get("Spec") or {}
        used.update(N.spec_network_ids(spec.get("TaskTemplate")))
        if ingress is not None and N.needs_ingress(spec.get("EndpointSpec")):
            used.add(ingress["ID"])
    return used


def add_network_routes(router: Router, access: NodeControl, state: EngineState) -> None:
    def dockerd(method: str, request: Request, path: str, body: Any = None) -> Answer:
        status, value = state.dockerd.call(method, f"/v{request.api_version}{path}", body)
        return Answer(status, value)

    def swarm_network(ref: str) -> Obj | None:
        networks = _manager_networks(access)
        if networks is None:
            return None
        try:
            return networks.resolve(ref)
        except NotFound:
            return None

    @router.add("GET", "/networks", "List networks: dockerd's and the swarm's",
                query=ListQuery)
    def network_list(request: Request) -> list[Obj]:
        raw = request.query.get("filters")
        filters = parse_filters(raw, shape.FILTERS)
        shape.check_values(filters)
        query = f"?filters={urllib.parse.quote(raw)}" if raw else ""
        answer = dockerd("GET", request, f"/networks{query}")
        if answer.status >= 400:
            raise HttpError(answer.status, (answer.body or {}).get("message", "dockerd"))
        local = [n for n in answer.body or [] if not shape.is_swarm_copy(n)]
        networks = _manager_networks(access)
        if networks is None:
            return local
        used = _used_network_ids(access) if "dangling" in filters else set()
        swarm = [shape.resource(n) for n in networks.list()]
        return [n for n in swarm if shape.matches(filters, n, n["Id"] not in used)] + local

    @router.add("GET", "/networks/{id}", "Inspect a network: the swarm's, else dockerd's",
                query=NetworkInspectQuery)
    def network_inspect(request: Request) -> Any:
        ref, scope = request.params["id"], request.query.get("scope")
        found = None if scope == "local" else swarm_network(ref)
        if found is not None:
            return shape.resource(found)
        if scope in ("swarm", "global"):
            raise HttpError(404, f"network {ref} not found")
        return PROXY

    @router.add("POST", "/networks/create", "Create a network: overlay in the swarm, any "
                "other driver in dockerd", body=NetworkCreateBody, keeps_nulls=True)
    def network_create(request: Request) -> Answer:
        body = request.body
        if not shape.is_overlay_request(body):
            return dockerd("POST", request, "/networks/create", body)
        body = without_nulls(body)
        if body["Name"] in shape.PREDEFINED:
            raise HttpError(403, f"operation is not permitted on predefined {body['Name']} "
                                 "network")
        spec = shape.network_spec(body)
        try:
            networks = access.networks()
        except HttpError as exc:
            if exc.message == NOT_A_MANAGER:
                raise HttpError(403, WORKER_CREATE) from None
            raise
        return created({"Id": networks.create(spec)["ID"], "Warning": ""})

    @router.add("DELETE", "/networks/{id}", "Remove a network: the swarm's, else dockerd's")
    def network_remove(request: Request) -> Any:
        ref = request.params["id"]
        found = swarm_network(ref)
        if found is None:
            return PROXY
        access.networks().remove(found["ID"])
        return no_content()

    @router.add("POST", "/networks/prune", "dockerd's prune, sparing the agent's networks",
                query=ListQuery)
    def network_prune(request: Request) -> Answer:
        raw = request.query.get("filters")
        filters = parse_filters(raw, ("until", "label", "label!")).values
        filters["label!"] = [*filters.get("label!", []), names.LABEL_NETWORK_ID]
        query = urllib.parse.quote(json.dumps(filters))
        return dockerd("POST", request, f"/networks/prune?filters={query}")

    for action in ("connect", "disconnect"):
        @router.add("POST", f"/networks/{{id}}/{action}", f"dockerd's {action}, onto this "
                    "node's Docker network of a swarm network", body=ConnectBody,
                    keeps_nulls=True)
        def network_attach(request: Request, action: str = action) -> Answer:
            ref = request.params["id"]
            found = swarm_network(ref)
            machine = names.machine()
            driver = urllib.parse.quote(json.dumps({"driver": [names.driver_name(machine)]}))
            ours = state.dockerd.call("GET", f"/networks?filters={driver}")[1]
            copy = shape.local_copy(ours if isinstance(ours, list) else [], ref,
                                    found["ID"] if found else None, machine)
            if copy is not None:
                ref = copy["Id"]
            elif found is not None:
                name = found["Spec"]["Name"]
                if not found["Spec"].get("Attachable"):
                    raise HttpError(403, f"Could not attach to network {name}: network {name} "
                                         "not manually attachable")
                raise HttpError(404, f"network {name} is not on this node yet")
            return dockerd("POST", request, f"/networks/{urllib.parse.quote(ref)}/{action}",
                           request.body)
