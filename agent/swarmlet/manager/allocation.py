"""What is taken, computed from the store on every allocator pass: the addresses of every
network (tasks that have not ended, containers attached to attachable networks, nodes'
attachments, services' VIPs) and the published
ports of the routing mesh. Nothing is remembered between passes, so a new leader starts from
exactly what the old one committed and can never hand out an address twice.

An address or port released by a pass is not handed out again in the same pass: the write
that releases it may fail while the one that reuses it succeeds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from ipaddress import IPv4Address
from typing import Any

from swarmlet.manager import ipam
from swarmlet.manager import network_objects as N

Obj = dict[str, Any]
DYNAMIC_PORTS = range(30000, 32768)  # Docker's range for ingress ports given no number


class AllocationError(Exception):
    """Something a service or task needs cannot be allocated now (the message says what)."""


def by_age(objects: Iterable[Obj]) -> list[Obj]:
    """Oldest first: when two objects want one thing, the older one gets it."""
    return sorted(objects, key=lambda o: (o.get("CreatedAt", ""), o["ID"]))


class Addresses:
    """The free addresses of every network, from everything the store holds."""

    def __init__(self, networks: dict[str, Obj], services: Iterable[Obj],
                 nodes: Iterable[Obj], tasks: Iterable[Obj],
                 attachments: Iterable[Obj] = ()) -> None:
        held: dict[str, set[IPv4Address]] = defaultdict(set)

        def hold(attachments: dict[str, list[str]]) -> None:
            for network_id, addresses in attachments.items():
                held[network_id].update(a for a in map(ipam.address_of, addresses) if a)

        for task in tasks:
            if N.holds_addresses(task):
                hold(N.attachment_addresses(task.get("NetworksAttachments")))
        for attachment in attachments:  # containers on attachable networks
            hold(N.attachment_addresses(attachment.get("NetworksAttachments")))
        for node in nodes:
            hold(N.attachment_addresses(node.get("Attachments")))
        for service in services:
            for vip in (service.get("Endpoint") or {}).get("VirtualIPs") or []:
                hold({vip.get("NetworkID", ""): [vip.get("Addr", "")]})
        self.networks = networks
        self.pools: dict[str, ipam.SubnetAddresses] = {}
        for network_id, network in networks.items():
            config = ipam.network_config(network)
            if config is not None:
                self.pools[network_id] = ipam.SubnetAddresses(*config, held[network_id])

    def allocate(self, network_id: str) -> str:
        pool = self.pools.get(network_id)
        if pool is None:
            raise AllocationError(f"network {network_id} not found")
        try:
            return pool.allocate()
        except ipam.IpamError as exc:
            raise AllocationError(str(exc)) from None


class PublishedPorts:
    """Ingress-mode published ports: who holds each (protocol, port), from the services'
    allocated endpoints; and the ports any spec asks for by number, never given to another
    service as a dynamic port."""

    def __init__(self, services: Iterable[Obj]) -> None:
        self.owner: dict[tuple[str, int], Obj] = {}
        self.requested: set[tuple[str, int]] = set()
        for service in by_age(services):
            for port in N.ingress_ports(service.get("Endpoint")):
                if port.get("PublishedPort"):
                    self.owner.setdefault(_key(port), service)
            for port in N.ingress_ports(service["Spec"].get("EndpointSpec")):
                if port.get("PublishedPort"):
                    self.requested.add(_key(port))

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
