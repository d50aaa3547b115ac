"""Network attachments: a container that is no task of a service on an attachable overlay
network (`docker run --network` on a node, as `docker network create --attachable` allows).

SwarmKit keeps these as tasks with a NetworkAttachment runtime; here they are objects of a
kind of their own, so that no orchestrator, scheduler, updater or executor has to learn to
skip them. Everything that reads addresses does read them: IPAM holds their addresses, their
node takes part in their network, the peers on other nodes are told, DNS answers them.

An attachment:
    {"ID", "NodeID", "EndpointID" (dockerd's endpoint of the container), "NetworkID",
     "CreatedAt", "NetworksAttachments": [{"Network": <copy>, "Addresses": ["10.0.1.7/24"]}]}
(NetworksAttachments, the shape tasks have, once the allocator has given it an address.)

Its node asks for one when dockerd creates the container's endpoint (`attach`) and waits for
the allocator's address; it goes when the endpoint is deleted (`detach`), when its node finds
the endpoint gone (the node was down when the container ended), or (the reaper) with its
node or its network.
"""

from __future__ import annotations

import time
from typing import Any

from swarmlet.errors import Conflict, InvalidArgument, PermissionDenied, Unavailable
from swarmlet.manager.allocator import network_objects as N
from swarmlet.manager.controlapi.references import resolve
from swarmlet.store.objects import new_id
from swarmlet.store.state import StoreError

Obj = dict[str, Any]
KIND = "attachment"
ALLOCATION_WAIT = 10.0  # seconds for the allocator to give the new attachment an address


def new_attachment(node_id: str, network_id: str, endpoint_id: str) -> Obj:
    return {"ID": new_id(), "NodeID": node_id, "EndpointID": endpoint_id,
            "NetworkID": network_id}  # the store stamps CreatedAt


def is_allocated(attachment: Obj) -> bool:
    return bool(attachment.get("NetworksAttachments"))


def address_of(attachment: Obj) -> str | None:
    """The attachment's address (CIDR form), once allocated."""
    for entry in attachment.get("NetworksAttachments") or []:
        for address in entry.get("Addresses") or []:
            return str(address)
    return None


def on_network(network_id: str, attachments: list[Obj]) -> list[Obj]:
    return [a for a in attachments if a.get("NetworkID") == network_id]


def attach(store: Any, node_id: str, network_ref: str, endpoint_id: str,
           wait: float = ALLOCATION_WAIT) -> Obj:
    """The node's attachment of `endpoint_id` to the network, made if new; returned once it
    has its address. The same endpoint asking again gets the same attachment."""
    if not endpoint_id:
        raise InvalidArgument("EndpointID must be given")
    network = resolve(store, "network", network_ref)
    name = network["Spec"]["Name"]
    if not network["Spec"].get("Attachable") or N.is_ingress(network):
        raise PermissionDenied(f"Could not attach to network {name}: network {name} not "
                            "manually attachable")
    attachment = _find(store, node_id, endpoint_id)
    if attachment is None:
        attachment = new_attachment(node_id, network["ID"], endpoint_id)
        store.write([{"op": "create", "kind": KIND, "object": attachment}])
    deadline = time.monotonic() + wait
    while True:
        current = store.get(KIND, attachment["ID"])
        if current is None:
            raise Conflict(f"Could not attach to network {name}: the attachment was "
                                "removed while it was made")
        if is_allocated(current):
            return current
        if time.monotonic() >= deadline:
            raise Unavailable(f"Could not attach to network {name}: no address was "
                                f"allocated within {wait:.0f}s (is the subnet full?)")
        time.sleep(0.05)


def detach(store: Any, node_id: str, endpoint_id: str) -> bool:
    """Remove the node's attachment of `endpoint_id`; False if it had none."""
    attachment = _find(store, node_id, endpoint_id)
    if attachment is None:
        return False
    try:
        store.write([{"op": "delete", "kind": KIND, "id": attachment["ID"]}])
    except StoreError as exc:  # removed meanwhile: the same outcome
        if exc.code != "not_found":
            raise
    return True


def _find(store: Any, node_id: str, endpoint_id: str) -> Obj | None:
    return next((a for a in store.list(KIND) if a.get("NodeID") == node_id
                 and a.get("EndpointID") == endpoint_id), None)
