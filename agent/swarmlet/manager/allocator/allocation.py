"""What is taken, computed from the store on every allocator pass: the addresses of every
network (tasks that have not ended, containers attached to attachable networks, nodes'
attachments, services' VIPs) and the published
ports of the routing mesh. Nothing is remembered between passes, so a new leader starts from
exactly what the old one committed and can never hand out an address twice.

An address or port released by a pass is not handed out again in the same pass: the write
that releases it may fail while the one that reuses it succeeds.

An object that cannot be read (a garbled attachment, a network without a usable subnet) goes
through the caller's `guard` (Snapshot.guard): its failure stays with it, the rest is counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from ipaddress import IPv4Address
from typing import Any

from swarmlet.manager.allocator import ipam
from swarmlet.manager.allocator import network_objects as N

Obj = dict[str, Any]
DYNAMIC_PORTS = range(30000, 32768)  # Docker's range for ingress ports given no number
# (kind, object, step, fallback) -> step() or, when it raised, fallback (Snapshot.guard)
Guard = Callable[[str, Obj, Callable[[], Any], Any], Any]


def unguarded(kind: str, obj: Obj, step: Callable[[], Any], fallback: Any) -> Any:
    return step()


class AllocationError(Exception):
    """Something a service or task needs cannot be allocated now (the message says what)."""


def by_age(objects: Iterable[Obj]) -> list[Obj]:
    """Oldest first: when two objects want one thing, the older one gets it."""
    return sorted(objects, key=lambda o: (o.get("CreatedAt", ""), o["ID"]))


class Addresses:
    """The free addresses of every network, from everything the store holds."""

    def __init__(self, networks: dict[str, Obj], services: Iterable[Obj],
                 nodes: Iterable[Obj], tasks: Iterable[Obj],
                 attachments: Iterable[Obj] = (), guard: Guard = unguarded) -> None:
        held: dict[str, set[IPv4Address]] = defaultdict(set)

        def hold(attachments: dict[str, list[str]]) -> None:
            for network_id, addresses in attachments.items():
                held[network_id].update(a for a in map(ipam.address_of, addresses) if a)

        def vips(service: Obj) -> dict[str, list[str]]:
            out: dict[str, list[str]] = defaultdict(list)
            for vip in (service.get("Endpoint") or {}).get("VirtualIPs") or []:
                out[vip.get("NetworkID", "")].append(vip.get("Addr", ""))
            return out

        def task_holds(task: Obj) -> dict[str, list[str]]:
            if not N.holds_addresses(task):
                return {}
            return N.attachment_addresses(task.get("NetworksAttachments"))

        # Each object's addresses are read whole before any is held: one that does not
        # read holds nothing rather than half of what it says.
        for task in tasks:
            hold(guard("task", task, lambda t=task: task_holds(t), {}))
        for attachment in attachments:  # containers on attachable networks
            hold(guard("attachment", attachment, lambda a=attachment: N.attachment_addresses(
                a.get("NetworksAttachments")), {}))
        for node in nodes:
            hold(guard("node", node, lambda n=node: N.attachment_addresses(
                n.get("Attachments")), {}))
        for service in services:
            hold(guard("service", service, lambda s=service: vips(s), {}))
        self.networks = networks
        self.pools: dict[str, ipam.SubnetAddresses] = {}
        for network_id, network in networks.items():
            pool = guard("network", network, lambda i=network_id, n=network: _pool(
                n, held[i]), None)
            if pool is not None:
                self.pools[network_id] = pool

    def allocate(self, network_id: str) -> str:
        pool = self.pools.get(network_id)
        if pool is None:
            raise AllocationError(f"network {network_id} not found")
        try:
            return pool.allocate()
        except ipam.IpamError as exc:
            raise AllocationError(str(exc)) from None


def _pool(network: Obj, held: set[IPv4Address]) -> ipam.SubnetAddresses | None:
    config = ipam.network_config(network)
    return None if config is None else ipam.SubnetAddresses(*config, held)


class PublishedPorts:
    """Ingress-mode published ports: who holds each (protocol, port), from the services'
    allocated endpoints; and the ports any spec asks for by number, never given to another
    service as a dynamic port."""

    def __init__(self, services: Iterable[Obj], guard: Guard = unguarded) -> None:
        self.owner: dict[tuple[str, int], Obj] = {}
        self.requested: set[tuple[str, int]] = set()

        def read(service: Obj) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
            held = [_key(p) for p in N.ingress_ports(service.get("Endpoint"))
                    if p.get("PublishedPort")]
            asked = [_key(p) for p in N.ingress_ports(service["Spec"].get("EndpointSpec"))
                     if p.get("PublishedPort")]
            return held, asked

        for service in by_age(services):
            held, asked = guard("service", service, lambda s=service: read(s), ([], []))
            for key in held:
                self.owner.setdefault(key, service)
            self.requested.update(asked)

    def claim(self, service: Obj, port: Obj) -> None:
        holder = self.owner.setdefault(_key(port), service)
        if holder["ID"] != service["ID"]:
            raise AllocationError(
                f"port '{port['PublishedPort']}' is already in use by service "
                f"'{holder['Spec']['Name']}' ({holder['ID']}) as an ingress port")

    def held_by(self, service: Obj, port: Obj) -> bool:
        holder = self.owner.get(_key(port))
        return holder is not None and holder["ID"] == service["ID"]

    def dynamic(self, service: Obj, protocol: str) -> int:
        for number in DYNAMIC_PORTS:
            key = (protocol, number)
            if key not in self.owner and key not in self.requested:
                self.owner[key] = service
                return number
        raise AllocationError("could not find an available port in 30000-32767")


def _key(port: Obj) -> tuple[str, int]:
    return (port.get("Protocol") or "tcp", int(port.get("PublishedPort") or 0))
