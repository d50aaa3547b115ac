"""The allocator (SwarmKit's manager/allocator), as two stages of the leader's pass.

`allocate` runs before the scheduler: every service gets its Endpoint (published ports,
VIPs), then every new task an address on each of its networks (its spec's, plus `ingress`
when it publishes a port in ingress mode) and becomes pending. A task whose needs cannot be
met stays new, with the reason in Status.Err, and is tried again on the next pass.

Containers attached to attachable networks (dispatcher/attachments.py) get their address in
the same stage, after the tasks.

`attach_nodes` runs after the scheduler: every node gets an address on `ingress` and on each
network that a task or an attached container on it uses (the node's own endpoint there: its
containers' gateway and the source of its load balancer); an address goes once nothing of
that network is left on the node.

Freeing needs no step of its own: what is in use is computed from the store on every pass
(allocation.py), so a task's addresses are free once it has ended or is deleted, a
service's VIPs and ports once it is removed, a node's once its attachment is dropped.

An object that cannot be read (failures.py) keeps the error and is skipped; a service whose
endpoint cannot be worked out keeps its tasks new, with the reason in their Status.Err.
What the snapshot holds is read-only: a changed object is a copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from swarmlet.manager import tasks as T
from swarmlet.manager.allocator import network_objects as N
from swarmlet.manager.allocator.allocation import (
    Addresses,
    AllocationError,
    Guard,
    PublishedPorts,
    by_age,
)
from swarmlet.manager.allocator.endpoints import endpoint_for
from swarmlet.manager.dispatcher import attachments as NA
from swarmlet.manager.snapshot import Snapshot

Obj = dict[str, Any]
PENDING_MESSAGE = "pending task scheduling"
STAGE, ATTACH_STAGE = "allocator", "attachments"


def allocate(snap: Snapshot) -> list[Obj]:
    ingress_id = _ingress_id(snap, STAGE)
    addresses = _addresses(snap, STAGE)
    ports = PublishedPorts(snap.services.values(), _guard(snap, STAGE))
    changes: list[Obj] = []

    failed: dict[str, str] = {}  # service ID → why its endpoint could not be allocated
    for service in by_age(snap.services.values()):
        changes += snap.guard(STAGE, "service", service, lambda s=service: _allocate_endpoint(
            s, ingress_id, addresses, ports, failed), [])
        failure = snap.failures.get("service", service["ID"])
        if failure is not None:
            failed.setdefault(service["ID"], failure.message)

    new = [t for t in snap.readable_tasks() if T.state_of(t) == "new"
           and t.get("DesiredState") in T.MEANT_TO_RUN]
    for task in by_age(new):
        changes += snap.guard(STAGE, "task", task, lambda t=task: _allocate_task(
            snap, t, ingress_id, addresses, failed), [])
    return changes + _allocate_attachments(snap, addresses)


def _ingress_id(snap: Snapshot, stage: str) -> str | None:
    for network in snap.networks.values():
        if snap.guard(stage, "network", network, lambda n=network: N.is_ingress(n), False):
            return network["ID"]
    return None


def _guard(snap: Snapshot, stage: str) -> Guard:
    """Snapshot.guard for allocation.py's readers of the whole store."""
    return lambda kind, obj, step, fallback: snap.guard(stage, kind, obj, step, fallback)


def _addresses(snap: Snapshot, stage: str) -> Addresses:
    """The free addresses: those nothing in the snapshot holds, nor held when the pass read
    the store (an address an earlier stage of this pass released is not handed out again
    before that release is written)."""
    def held(kind: str, now: Iterable[Obj]) -> list[Obj]:
        return [*now, *snap.changed_as_read(kind)]

    return Addresses(snap.networks, held("service", snap.services.values()),
                     held("node", snap.nodes.values()), held("task", snap.tasks),
                     held("attachment", snap.attachments), _guard(snap, stage))


def _allocate_endpoint(service: Obj, ingress_id: str | None, addresses: Addresses,
                       ports: PublishedPorts, failed: dict[str, str]) -> list[Obj]:
    try:
        endpoint = endpoint_for(service, ingress_id, addresses, ports)
    except AllocationError as exc:
        failed[service["ID"]] = str(exc)
        return []
    if endpoint == service.get("Endpoint"):
        return []
    return [{"op": "update", "kind": "service", "object": {**service, "Endpoint": endpoint}}]


def _allocate_task(snap: Snapshot, task: Obj, ingress_id: str | None, addresses: Addresses,
                   failed: dict[str, str]) -> list[Obj]:
    if task["ServiceID"] not in snap.services:
        return []  # its service is gone: the reaper removes it
    try:
        if task["ServiceID"] in failed:
            raise AllocationError(failed[task["ServiceID"]])
        attachments = _task_attachments(task, ingress_id, addresses)
    except AllocationError as exc:
        if task["Status"].get("Err") != str(exc):
            return [T.update(T.set_status(task, "new", "allocation failed", err=str(exc),
                                          now=snap.stamp()))]
        return []
    if attachments:
        task = T.with_fields(task, NetworksAttachments=attachments)
    return [T.update(T.set_status(task, "pending", PENDING_MESSAGE, now=snap.stamp()))]


def _allocate_attachments(snap: Snapshot, addresses: Addresses) -> list[Obj]:
    """An address for each new attachment (one whose network is gone waits for the
    reaper)."""
    changes: list[Obj] = []
    for attachment in by_age(snap.attachments):
        changes += snap.guard(STAGE, "attachment", attachment, lambda a=attachment:
                              _allocate_attachment(snap, a, addresses), [])
    return changes


def _allocate_attachment(snap: Snapshot, attachment: Obj, addresses: Addresses) -> list[Obj]:
    network = snap.networks.get(attachment.get("NetworkID", ""))
    if NA.is_allocated(attachment) or network is None:
        return []
    try:
        address = addresses.allocate(network["ID"])
    except AllocationError:
        return []  # a full subnet: the node's wait runs out and says so
    allocated = {**attachment, "NetworksAttachments": [{"Network": N.attachment_copy(network),
                                                        "Addresses": [address]}]}
    return [{"op": "update", "kind": NA.KIND, "object": allocated}]


def _task_attachments(task: Obj, ingress_id: str | None, addresses: Addresses) -> list[Obj]:
    """An address on each network of the task; what it already has, it keeps."""
    if ingress_id is None and N.needs_ingress(task.get("Endpoint")):
        raise AllocationError("service needs ingress network, but no ingress network is "
                              "present")
    had = N.attachment_addresses(task.get("NetworksAttachments"))
    attachments = []
    for network_id in N.task_network_ids(task, ingress_id):
        network = addresses.networks.get(network_id)
        if network is None:
            raise AllocationError(f"network {network_id} not found")
        kept = had.get(network_id)
        attachments.append({"Network": N.attachment_copy(network),
                            "Addresses": kept or [addresses.allocate(network_id)]})
    return attachments


def node_networks(snap: Snapshot, ingress_id: str | None) -> dict[str, set[str]]:
    """The networks each node takes part in: ingress everywhere, the networks of the
    tasks on it that have not ended, and those of the containers attached there."""
    wanted: dict[str, set[str]] = {nid: ({ingress_id} if ingress_id else set())
                                   for nid in snap.nodes}

    def task_networks(task: Obj) -> None:
        node_id = task.get("NodeID")
        if node_id in wanted and N.holds_addresses(task):
            wanted[node_id].update(N.attachment_addresses(task.get("NetworksAttachments")))

    for task in snap.tasks:
        snap.guard(ATTACH_STAGE, "task", task, lambda t=task: task_networks(t), None)
    def attachment_network(attachment: Obj) -> None:
        if attachment.get("NodeID") in wanted:
            wanted[attachment["NodeID"]].add(attachment.get("NetworkID", ""))

    for attachment in snap.attachments:
        snap.guard(ATTACH_STAGE, "attachment", attachment,
                   lambda a=attachment: attachment_network(a), None)
    return wanted


def attach_nodes(snap: Snapshot) -> list[Obj]:
    wanted = node_networks(snap, _ingress_id(snap, ATTACH_STAGE))
    addresses = _addresses(snap, ATTACH_STAGE)
    changes: list[Obj] = []
    for node in by_age(snap.nodes.values()):
        changes += snap.guard(ATTACH_STAGE, "node", node, lambda n=node: _attach_node(
            snap, n, wanted[n["ID"]], addresses), [])
    return changes


def _attach_node(snap: Snapshot, node: Obj, wanted: set[str],
                 addresses: Addresses) -> list[Obj]:
    need = {n for n in wanted if n in snap.networks}
    current = node.get("Attachments") or []
    kept = [a for a in current if (a.get("Network") or {}).get("ID") in need]
    have = {a["Network"]["ID"] for a in kept}
    added = []
    for network_id in sorted(need - have):
        try:
            added.append({"Network": {"ID": network_id},
                          "Addresses": [addresses.allocate(network_id)]})
        except AllocationError:
            continue  # a full subnet: tried again on the next pass
    if kept + added == current:
        return []
    return [{"op": "update", "kind": "node", "object": {**node, "Attachments": kept + added}}]
