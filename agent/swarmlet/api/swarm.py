"""Routes of the swarm: init/join/leave (local), the cluster and nodes (managers), the CA
(anyone may fetch the root certificate; a join token buys a certificate) and heartbeats."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from swarmlet.api.events import add_event_routes
from swarmlet.api.networks import add_network_routes
from swarmlet.api.node_control import NodeControl
from swarmlet.api.results import Parked, PlainText, Streaming
from swarmlet.api.router import Request, Router, version_param
from swarmlet.api.secrets import add_secret_routes
from swarmlet.api.stacks import add_stack_routes
from swarmlet.node.swarm import SwarmNode
from swarmlet.protocol.messages import (
    AssignmentsRequest,
    AttachRequest,
    CAClientRequest,
    CAJoinRequest,
    CARenewRequest,
    DetachRequest,
    HeartbeatRequest,
    LogPublish,
    LogSubscription,
    TaskStatusRequest,
    Unsubscribe,
)
from swarmlet.spec.answer_models import Created, Node, Plan, Service, Swarm, Task
from swarmlet.spec.query_models import (
    DryRunQuery,
    ForceQuery,
    LogsQuery,
    RemoveQuery,
    ServiceUpdateQuery,
    SwarmUpdateQuery,
    TaskQuery,
    VersionedQuery,
    is_true,
)
from swarmlet.spec.service_models import ServiceSpec
from swarmlet.spec.swarm_models import (
    InitRequest,
    JoinRequest,
    NodeSpec,
    RaftKeysRequest,
    SwarmSpec,
    UnlockRequest,
)
from swarmlet.transport.errors import HttpError

if TYPE_CHECKING:  # the manager's modules load when the node becomes one (node/swarm.py)
    from swarmlet.manager.manager import Manager



def _flag(request: Request, name: str) -> bool:
    return is_true(request.query.get(name))


def _caller(request: Request) -> Any:
    """The calling node (dispatcher and CA renewal routes): its certificate's identity. Over
    the unix socket there is no calling node."""
    if request.identity is None:
        raise HttpError(400, "this endpoint is for nodes: call it over the cluster port with "
                            "a node certificate")
    return request.identity


def raft_key_ring(manager: Manager, identity: Any, epoch: int) -> dict[str, str]:
    """The key ring, to a node that is a Raft member now: not to an operator's client
    certificate (its manager access covers the API, not the keys that open the store)."""
    node = None
    if identity is not None and not identity.is_client:
        node = manager.store.peek("node", identity.node_id)
    raft_addr = ((node or {}).get("ManagerStatus") or {}).get("RaftAddr")
    if raft_addr not in manager.store.members():
        raise HttpError(403, "the raft keys are for the swarm's raft members only")
    keys = manager.raft_keys.export_for(epoch)
    if keys is None:
        raise HttpError(404, f"this manager does not hold raft key epoch {epoch}")
    return keys


def _node_id(request: Request) -> str:
    return str(_caller(request).node_id)


# Success answers, for the OpenAPI document (api/openapi.py _answer).
OBJECT: dict[str, Any] = {"type": "object"}
TEXT: dict[str, Any] = {"type": "string"}
CREATED = (Created, Plan)  # the new object's ID, or with ?dry_run=1 the plan
PLAN = (None, Plan)  # nothing, or with ?dry_run=1 the plan


def add_swarm_routes(router: Router, node: SwarmNode) -> None:
    access = NodeControl(node)
    control, manager = access.control, access.manager

    def add(method: str, path: str, summary: str, access: str = "manager",
            **checks: Any) -> Any:
        """Register a route; `checks` are Router.add's body/query models and answer."""
        return router.add(method, path, summary, access, **checks)

    @add("POST", "/swarm/init", "Make this node the first manager of a new swarm", "local",
         body=InitRequest, body_required=False, answer=TEXT)
    def swarm_init(request: Request) -> str:
        body = request.body
        spec = body.get("Spec")
        if body.get("AutoLockManagers"):  # Docker's InitRequest has it beside the spec too
            spec = {**(spec or {}), "EncryptionConfig": {
                **((spec or {}).get("EncryptionConfig") or {}), "AutoLockManagers": True}}
        return node.init(body.get("AdvertiseAddr"), body.get("ListenAddr"),
                         bool(body.get("ForceNewCluster")), spec=spec,
                         pools=(body.get("DefaultAddrPool"), body.get("SubnetSize")),
                         data_path_port=body.get("DataPathPort"))

    @add("POST", "/swarm/unlock", "Unlock this manager (autolock) with the swarm's unlock key",
         "local", body=UnlockRequest)
    def swarm_unlock(request: Request) -> None:
        node.unlock(request.body["UnlockKey"])

    @add("GET", "/swarm/unlockkey", "The swarm's unlock key (\"\" without autolock)",
         answer=OBJECT)
    def swarm_unlock_key(_: Request) -> dict[str, str]:
        return control().unlock_key()

    @add("POST", "/raft/keys", "The swarm's Raft key ring, for a Raft member that lacks an "
         "epoch (manager to manager)", "manager", body=RaftKeysRequest, answer=OBJECT)
    def raft_keys(request: Request) -> dict[str, Any]:
        return {"Keys": raft_key_ring(manager(), request.identity, request.body["Epoch"])}

    @add("POST", "/swarm/join", "Join a swarm with a join token", "local", body=JoinRequest)
    def swarm_join(request: Request) -> None:
        body = request.body
        node.join(body["JoinToken"], body["RemoteAddrs"], body.get("AdvertiseAddr"),
                  body.get("ListenAddr"), body.get("Availability") or "active")

    @add("POST", "/swarm/leave", "Leave the swarm (?force=1 for a manager)", "local",
         query=ForceQuery)
    def swarm_leave(request: Request) -> None:
        node.leave(_flag(request, "force"))

    @add("GET", "/swarm", "The swarm: its spec, TLS trust root and join tokens", answer=Swarm)
    def swarm_inspect(_: Request) -> dict[str, Any]:
        return control().inspect_swarm()

    @add("POST", "/swarm/update", "Change the swarm spec; rotate join tokens "
         "(?version=N&rotateWorkerToken=1&rotateManagerToken=1)", body=SwarmSpec,
         body_required=False, query=SwarmUpdateQuery, answer=PLAN)
    def swarm_update(request: Request) -> Any:
        return control().update_swarm(version_param(request), request.body,
                                      _flag(request, "rotateWorkerToken"),
                                      _flag(request, "rotateManagerToken"),
                                      dry_run=_flag(request, "dry_run"),
                                      rotate_unlock_key=_flag(request,
                                                              "rotateManagerUnlockKey"))

    @add("GET", "/nodes", "Every node of the swarm", answer=[Node])
    def node_list(_: Request) -> list[dict[str, Any]]:
        return control().list_nodes()

    @add("GET", "/nodes/{id}", "One node, by ID, unique ID prefix or hostname", answer=Node)
    def node_inspect(request: Request) -> dict[str, Any]:
        return control().inspect_node(request.params["id"])

    @add("POST", "/nodes/{id}/update", "Replace a node's spec (?version=N): role, "
         "availability, labels", body=NodeSpec, body_required=False, query=VersionedQuery,
         answer=PLAN)
    def node_update(request: Request) -> Any:
        return control().update_node(request.params["id"], version_param(request),
                                     request.body, dry_run=_flag(request, "dry_run"))

    @add("DELETE", "/nodes/{id}", "Remove a node from the swarm (?force=1 if it is not down)",
         query=ForceQuery)
    def node_remove(request: Request) -> None:
        control().remove_node(request.params["id"], _flag(request, "force"))

    services = access.services

    add_network_routes(add, manager)
    add_secret_routes(add, manager)
    add_stack_routes(router, add, manager)
    add_event_routes(add, lambda: manager().events)

    @add("POST", "/services/create", "Create a service from a ServiceSpec (?dry_run=1: its "
         "plan, nothing written)", body=ServiceSpec, query=DryRunQuery, answer=CREATED)
    def service_create(request: Request) -> dict[str, Any]:
        return services().create(request.body, dry_run=_flag(request, "dry_run"))

    @add("GET", "/services", "Every service, with ServiceStatus (running/desired tasks)",
         answer=[Service])
    def service_list(_: Request) -> list[dict[str, Any]]:
        return services().list()

    @add("GET", "/services/{id}", "One service, by ID, name or unique ID prefix",
         answer=Service)
    def service_inspect(request: Request) -> dict[str, Any]:
        return services().inspect(request.params["id"])

    @add("POST", "/services/{id}/update", "Replace a service's spec (?version=N); a changed "
         "task template rolls out; ?rollback=previous returns to the previous spec; "
         "?dry_run=1 answers the plan", body=ServiceSpec, body_required=False,
         query=ServiceUpdateQuery, answer=PLAN)
    def service_update(request: Request) -> Any:
        return services().update(request.params["id"], version_param(request), request.body,
                                 rollback=request.query.get("rollback") == "previous",
                                 dry_run=_flag(request, "dry_run"))

    @add("DELETE", "/services/{id}", "Remove a service; its tasks are shut down (?dry_run=1: "
         "the plan)", query=RemoveQuery, answer=PLAN)
    def service_remove(request: Request) -> Any:
        return services().remove(request.params["id"], dry_run=_flag(request, "dry_run"))

    @add("GET", "/services/{id}/logs", "A service's logs from every node, streamed "
         "(?tail=N&follow=1)", query=LogsQuery, answer=TEXT)
    def service_logs(request: Request) -> Streaming:
        tail = request.query.get("tail", "all")
        return Streaming(services().logs(request.params["id"],
                                         -1 if tail == "all" else int(tail),
                                         _flag(request, "follow")))

    @add("POST", "/logbroker/subscribe", "Register a log subscription (manager to leader)",
         body=LogSubscription)
    def logs_subscribe(request: Request) -> None:
        from swarmlet.manager.logbroker import Subscription

        manager().logbroker.subscribe(Subscription(**request.body))

    @add("POST", "/logbroker/unsubscribe", "End a log subscription (manager to leader)",
         body=Unsubscribe)
    def logs_unsubscribe(request: Request) -> None:
        manager().logbroker.unsubscribe(request.body["ID"])

    @add("POST", "/logbroker/publish", "Log lines of a subscription, from a node", "node",
         body=LogPublish, answer=OBJECT)
    def logs_publish(request: Request) -> dict[str, bool]:
        body = request.body
        listening = manager().log_streams.publish(
            body["ID"], request.identity.node_id if request.identity else "local",
            body.get("Lines") or [], bool(body.get("Done")))
        return {"Listening": listening}

    @add("GET", "/tasks", "Tasks (?service=ID|name, ?node=ID)", query=TaskQuery, answer=[Task])
    def task_list(request: Request) -> list[dict[str, Any]]:
        return services().tasks(request.query.get("service"), request.query.get("node"))

    @add("GET", "/ca/root", "The swarm's root CA certificate (PEM)", "public", answer=TEXT)
    def ca_root(_: Request) -> PlainText:
        return PlainText(manager().cluster()["RootCA"]["CACert"])

    @add("POST", "/ca/join", "Exchange a join token and a CSR for a node certificate", "public",
         body=CAJoinRequest, answer=OBJECT)
    def ca_join(request: Request) -> dict[str, Any]:
        body = request.body
        return manager().ca.join(body["Token"], body["CSR"], body.get("Description") or {},
                                 body["AdvertiseAddr"], body.get("ApiPort", 2377),
                                 body.get("RaftPort", 2378),
                                 body.get("Availability") or "active")

    @add("POST", "/ca/renew", "A new certificate for this node's current role", "node",
         body=CARenewRequest, answer=OBJECT)
    def ca_renew(request: Request) -> dict[str, Any]:
        body = request.body
        return manager().ca.renew(_caller(request), body["CSR"], body.get("RaftPort", 2378))

    @add("POST", "/ca/client", "A client certificate (manager access) for a CSR", "local",
         body=CAClientRequest, answer=OBJECT)
    def ca_client(request: Request) -> dict[str, Any]:
        return manager().ca.client_certificate(request.body["CSR"])

    @add("POST", "/dispatcher/assignments", "The calling node's assignments: complete, or "
         "the changes since the set named by AppliesTo once there are some (long poll of up "
         "to Wait seconds; to the leader)", "node",
         body=AssignmentsRequest, body_required=False, answer=OBJECT, inline=True)
    def assignments(request: Request) -> Parked:
        body = request.body
        return manager().dispatcher.assignments(_caller(request), body.get("AppliesTo", ""),
                                                float(body.get("Wait", 10)))

    @add("POST", "/dispatcher/status", "Task status reports of the calling node (to the "
         "leader)", "node", body=TaskStatusRequest)
    def task_status(request: Request) -> None:
        manager().dispatcher.update_task_status(_caller(request), request.body["Updates"])

    @add("POST", "/dispatcher/attach", "Attach a container of the calling node to an "
         "attachable network (Network, EndpointID); answers once it has an address", "node",
         body=AttachRequest, answer=OBJECT)
    def network_attach(request: Request) -> dict[str, Any]:
        from swarmlet.manager.dispatcher import attachments

        body = request.body
        return attachments.attach(manager().store, _node_id(request), body["Network"],
                                  body["EndpointID"])

    @add("POST", "/dispatcher/detach", "Detach a container of the calling node from its "
         "network (EndpointID)", "node", body=DetachRequest, answer=OBJECT)
    def network_detach(request: Request) -> dict[str, bool]:
        from swarmlet.manager.dispatcher import attachments

        return {"Detached": attachments.detach(
            manager().store, _node_id(request), request.body["EndpointID"])}

    @add("POST", "/dispatcher/heartbeat", "A node's heartbeat (to the leader)", "node",
         body=HeartbeatRequest, body_required=False, answer=OBJECT, inline=True)
    def heartbeat(request: Request) -> dict[str, Any]:
        body = request.body
        return manager().dispatcher.heartbeat(_caller(request), body.get("Addr", ""),
                                              bool(body.get("Restarting")))
