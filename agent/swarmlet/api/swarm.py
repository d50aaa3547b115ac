"""Routes of the swarm: init/join/leave (local), the cluster and nodes (managers), the CA
(anyone may fetch the root certificate; a join token buys a certificate) and heartbeats."""

from __future__ import annotations

from typing import Any

from swarmlet.api.networks import add_network_routes
from swarmlet.api.router import ApiError, Request, Router, version_param
from swarmlet.api.secrets import add_secret_routes
from swarmlet.api.server import PlainText, Streaming
from swarmlet.manager import network_attachments
from swarmlet.manager.controlapi import AVAILABILITIES, ControlAPI
from swarmlet.manager.controlapi_services import ServiceAPI
from swarmlet.manager.logbroker import Subscription
from swarmlet.manager.manager import Manager
from swarmlet.node.swarm import SwarmNode
from swarmlet.store.state import StoreError

NOT_A_MANAGER = ("This node is not a swarm manager. Worker nodes can't be used to view or "
                 "modify cluster state. Please run this command on a manager node or promote "
                 "the current node to a manager.")
INACTIVE = ('This node is not a swarm manager. Use "swarmlet swarm init" or "swarmlet swarm '
            'join" to connect this node to swarm and try again.')


def _flag(request: Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true", "yes")


def _body(request: Request) -> dict[str, Any]:
    if request.body is None:
        return {}
    if not isinstance(request.body, dict):
        raise ApiError(400, "request body must be a JSON object")
    return request.body


def _availability(value: Any) -> str:
    """A joining node's availability (Docker's JoinRequest.Availability); default active."""
    if value in (None, ""):
        return "active"
    if value not in AVAILABILITIES:
        raise ApiError(400, f'invalid availability "{value}": expected active, pause or drain')
    return str(value)


def add_swarm_routes(router: Router, node: SwarmNode) -> None:
    def control() -> ControlAPI:
        if node.state is None:
            raise ApiError(503, INACTIVE)
        if node.control is None:
            raise ApiError(503, NOT_A_MANAGER)
        return node.control

    def manager() -> Manager:
        control()
        assert node.manager is not None
        return node.manager

    def store_errors(func: Any) -> Any:
        def wrapped(request: Request) -> Any:
            try:
                return func(request)
            except StoreError as exc:
                status = {"no_leader": 503, "not_found": 404, "conflict": 409,
                          "unauthorized": 403}.get(exc.code, 400)
                raise ApiError(status, str(exc)) from exc
        wrapped.__name__ = func.__name__
        return wrapped

    def add(method: str, path: str, summary: str, access: str = "manager") -> Any:
        def register(func: Any) -> Any:
            return router.add(method, path, summary, access)(store_errors(func))
        return register

    @add("POST", "/swarm/init", "Make this node the first manager of a new swarm", "local")
    def swarm_init(request: Request) -> str:
        body = _body(request)
        period = ((body.get("Spec") or {}).get("Dispatcher") or {}).get("HeartbeatPeriod")
        if period is not None and (not isinstance(period, int) or period <= 0):
            raise ApiError(400, "Spec.Dispatcher.HeartbeatPeriod must be a positive number "
                                "of nanoseconds")
        return node.init(body.get("AdvertiseAddr"), body.get("ListenAddr"),
                         bool(body.get("ForceNewCluster")), heartbeat_period=period)

    @add("POST", "/swarm/join", "Join a swarm with a join token", "local")
    def swarm_join(request: Request) -> None:
        body = _body(request)
        node.join(body.get("JoinToken", ""), body.get("RemoteAddrs") or [],
                  body.get("AdvertiseAddr"), body.get("ListenAddr"),
                  _availability(body.get("Availability")))

    @add("POST", "/swarm/leave", "Leave the swarm (?force=1 for a manager)", "local")
    def swarm_leave(request: Request) -> None:
        node.leave(_flag(request, "force"))

    @add("GET", "/swarm", "The swarm: its spec, TLS trust root and join tokens")
    def swarm_inspect(_: Request) -> dict[str, Any]:
        return control().inspect_swarm()

    @add("POST", "/swarm/update", "Change the swarm spec; rotate join tokens "
         "(?version=N&rotateWorkerToken=1&rotateManagerToken=1)")
    def swarm_update(request: Request) -> None:
        control().update_swarm(version_param(request), request.body,
                               _flag(request, "rotateWorkerToken"),
                               _flag(request, "rotateManagerToken"))

    @add("GET", "/nodes", "Every node of the swarm")
    def node_list(_: Request) -> list[dict[str, Any]]:
        return control().list_nodes()

    @add("GET", "/nodes/{id}", "One node, by ID, unique ID prefix or hostname")
    def node_inspect(request: Request) -> dict[str, Any]:
        return control().inspect_node(request.params["id"])

    @add("POST", "/nodes/{id}/update", "Replace a node's spec (?version=N): role, "
         "availability, labels")
    def node_update(request: Request) -> None:
        control().update_node(request.params["id"], version_param(request), _body(request))

    @add("DELETE", "/nodes/{id}", "Remove a node from the swarm (?force=1 if it is not down)")
    def node_remove(request: Request) -> None:
        control().remove_node(request.params["id"], _flag(request, "force"))

    def services() -> ServiceAPI:
        return ServiceAPI(manager())

    add_network_routes(add, manager)
    add_secret_routes(add, manager)

    @add("POST", "/services/create", "Create a service from a ServiceSpec")
    def service_create(request: Request) -> dict[str, str]:
        return services().create(request.body)

    @add("GET", "/services", "Every service, with ServiceStatus (running/desired tasks)")
    def service_list(_: Request) -> list[dict[str, Any]]:
        return services().list()

    @add("GET", "/services/{id}", "One service, by ID, name or unique ID prefix")
    def service_inspect(request: Request) -> dict[str, Any]:
        return services().inspect(request.params["id"])

    @add("POST", "/services/{id}/update", "Replace a service's spec (?version=N); a changed "
         "task template rolls out; ?rollback=previous returns to the previous spec")
    def service_update(request: Request) -> None:
        services().update(request.params["id"], version_param(request), request.body,
                          rollback=request.query.get("rollback") == "previous")

    @add("DELETE", "/services/{id}", "Remove a service; its tasks are shut down")
    def service_remove(request: Request) -> None:
        services().remove(request.params["id"])

    @add("GET", "/services/{id}/logs", "A service's logs from every node, streamed "
         "(?tail=N&follow=1)")
    def service_logs(request: Request) -> Streaming:
        tail = request.query.get("tail", "all")
        if tail != "all" and not tail.lstrip("-").isdigit():
            raise ApiError(400, f'invalid tail "{tail}": a number of lines, or all')
        return Streaming(services().logs(request.params["id"],
                                         -1 if tail == "all" else int(tail),
                                         _flag(request, "follow")))

    @add("POST", "/logbroker/subscribe", "Register a log subscription (manager to leader)")
    def logs_subscribe(request: Request) -> None:
        manager().logbroker.subscribe(Subscription(**_body(request)))

    @add("POST", "/logbroker/unsubscribe", "End a log subscription (manager to leader)")
    def logs_unsubscribe(request: Request) -> None:
        manager().logbroker.unsubscribe(str(_body(request).get("ID")))

    @add("POST", "/logbroker/publish", "Log lines of a subscription, from a node", "node")
    def logs_publish(request: Request) -> dict[str, bool]:
        body = _body(request)
        listening = manager().log_streams.publish(
            str(body.get("ID")), request.identity.node_id if request.identity else "local",
            body.get("Lines") or [], bool(body.get("Done")))
        return {"Listening": listening}

    @add("GET", "/tasks", "Tasks (?service=ID|name, ?node=ID)")
    def task_list(request: Request) -> list[dict[str, Any]]:
        return services().tasks(request.query.get("service"), request.query.get("node"))

    @add("GET", "/ca/root", "The swarm's root CA certificate (PEM)", "public")
    def ca_root(_: Request) -> PlainText:
        return PlainText(manager().cluster()["RootCA"]["CACert"])

    @add("POST", "/ca/join", "Exchange a join token and a CSR for a node certificate", "public")
    def ca_join(request: Request) -> dict[str, Any]:
        body = _body(request)
        return manager().join(str(body.get("Token", "")), str(body.get("CSR", "")),
                              body.get("Description") or {}, str(body.get("AdvertiseAddr")),
                              int(body.get("ApiPort", 2377)), int(body.get("RaftPort", 2378)),
                              _availability(body.get("Availability")))

    @add("POST", "/ca/renew", "A new certificate for this node's current role", "node")
    def ca_renew(request: Request) -> dict[str, Any]:
        body = _body(request)
        return manager().renew(request.identity, str(body.get("CSR", "")),
                               int(body.get("RaftPort", 2378)))

    @add("POST", "/ca/client", "A client certificate (manager access) for a CSR", "local")
    def ca_client(request: Request) -> dict[str, Any]:
        return manager().client_certificate(str(_body(request).get("CSR", "")))

    @add("POST", "/dispatcher/assignments", "The calling node's tasks, once the store moves "
         "past Index (long poll of up to Wait seconds; to the leader)", "node")
    def assignments(request: Request) -> dict[str, Any]:
        body = _body(request)
        return manager().assignments(request.identity, int(body.get("Index", 0)),
                                     float(body.get("Wait", 10)),
                                     int(body.get("LogGeneration", -1)))

    @add("POST", "/dispatcher/status", "Task status reports of the calling node (to the "
         "leader)", "node")
    def task_status(request: Request) -> None:
        updates = _body(request).get("Updates") or []
        if not isinstance(updates, list):
            raise ApiError(400, "Updates must be a list")
        manager().update_task_status(request.identity, updates)

    @add("POST", "/dispatcher/attach", "Attach a container of the calling node to an "
         "attachable network (Network, EndpointID); answers once it has an address", "node")
    def network_attach(request: Request) -> dict[str, Any]:
        body = _body(request)
        return network_attachments.attach(manager().store, request.identity.node_id,
                                           str(body.get("Network", "")),
                                           str(body.get("EndpointID", "")))

    @add("POST", "/dispatcher/detach", "Detach a container of the calling node from its "
         "network (EndpointID)", "node")
    def network_detach(request: Request) -> dict[str, bool]:
        return {"Detached": network_attachments.detach(
            manager().store, request.identity.node_id, str(_body(request).get("EndpointID")))}

    @add("POST", "/dispatcher/heartbeat", "A node's heartbeat (to the leader)", "node")
    def heartbeat(request: Request) -> dict[str, Any]:
        return manager().heartbeat(request.identity, str(_body(request).get("Addr", "")))
