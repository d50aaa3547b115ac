"""A service's Endpoint, as Docker shows it: the EndpointSpec, the ports with their published
numbers (30000-32767 for ingress ports given none), and a virtual IP on each of its networks
in vip mode (none with dnsrr). What the service had keeps its numbers and addresses."""

from __future__ import annotations

from typing import Any

from swarmlet.manager.allocator import network_objects as N
from swarmlet.manager.allocator.allocation import (
    DYNAMIC_PORTS,
    Addresses,
    AllocationError,
    PublishedPorts,
)
from swarmlet.store.objects import clone

Obj = dict[str, Any]


def vip_networks(service: Obj, ingress_id: str | None) -> list[str]:
    """The networks a service has a VIP on: its task template's, plus ingress when it
    publishes a port in ingress mode; none in dnsrr mode."""
    spec = service["Spec"].get("EndpointSpec") or {}
    if spec.get("Mode", "vip") != "vip":
        return []
    ids = N.spec_network_ids(service["Spec"].get("TaskTemplate"))
    if N.needs_ingress(spec):
        if ingress_id is None:
            raise AllocationError("service needs ingress network, but no ingress network is "
                                  "present")
        if ingress_id not in ids:
            ids.append(ingress_id)
    return ids


def endpoint_for(service: Obj, ingress_id: str | None, addresses: Addresses,
                 ports: PublishedPorts) -> Obj:
    """The Endpoint the service should have now. Raises AllocationError when something
    cannot be had (a port another service holds, a full subnet, a missing network)."""
    spec = clone(service["Spec"].get("EndpointSpec") or {"Mode": "vip"})
    old = service.get("Endpoint") or {}
    explicit = {p.get("PublishedPort") for p in spec.get("Ports") or []}
    old_dynamic = [p for p in N.ingress_ports(old) if ports.held_by(service, p)
                   and p.get("PublishedPort") in DYNAMIC_PORTS
                   and p.get("PublishedPort") not in explicit]
    out_ports = []
    for wanted in spec.get("Ports") or []:
        port = {**wanted, "Protocol": wanted.get("Protocol") or "tcp",
                "PublishMode": wanted.get("PublishMode") or "ingress"}
        port["PublishedPort"] = int(wanted.get("PublishedPort") or 0)
        if port["PublishMode"] == "ingress":
            if port["PublishedPort"]:
                ports.claim(service, port)
            else:
                port["PublishedPort"] = _reuse_or_pick(service, port, old_dynamic, ports)
        out_ports.append(port)

    old_vips = {v.get("NetworkID"): v for v in old.get("VirtualIPs") or []}
    vips = []
    for network_id in vip_networks(service, ingress_id):
        if network_id not in addresses.networks:
            raise AllocationError(f"network {network_id} not found")
        kept = old_vips.get(network_id)
        addr = kept["Addr"] if kept else addresses.allocate(network_id)
        vips.append({"NetworkID": network_id, "Addr": addr})

    endpoint: Obj = {"Spec": spec}
    if out_ports:
        endpoint["Ports"] = out_ports
    if vips:
        endpoint["VirtualIPs"] = vips
    return endpoint


def _reuse_or_pick(service: Obj, port: Obj, old_dynamic: list[Obj],
                   ports: PublishedPorts) -> int:
    """The number this port had (same protocol and target), else a free one."""
    for old in old_dynamic:
        if old.get("Protocol", "tcp") == port["Protocol"] and \
                old.get("TargetPort") == port.get("TargetPort"):
            old_dynamic.remove(old)
            return int(old["PublishedPort"])
    return ports.dynamic(service, port["Protocol"])
