"""The services part of a node's assignments (the data contract with the node's load
balancer and DNS resolver): every service with a VIP on a network the node takes part in,
every service attached to such a network (also in dnsrr mode, which has no VIP: for DNS),
and every service publishing a port in ingress mode (the routing mesh is on every node),
with its backends.

An entry of "Services":
    {"ID", "Name", "VirtualIPs": [{"NetworkID", "Addr"}], "Ports": <Endpoint.Ports>,
     "Backends": [{"NetworkID", "IP"}, ...],
     "EndpointMode": "vip" | "dnsrr",
     "Networks": [{"NetworkID", "Aliases": [...]}]}

VirtualIPs are those on the node's networks. "Networks" are the service's own networks
(TaskTemplate.Networks, never ingress) that the node takes part in, each with the network
aliases the service has there (`--network name=N,alias=A`): the names its DNS answers for.
Backends are the tasks that are RUNNING and meant to run, on each of the service's networks
that matter here (those of the VIPs listed, those of "Networks", plus ingress when a port is
published in ingress mode). A task with a health check reports RUNNING only once healthy (an
unhealthy one fails: worker/containers.py), so "running" already means "running and
healthy". Pure: no store.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

from swarmlet.manager import tasks as T
from swarmlet.manager.allocator import network_objects as N

Obj = dict[str, Any]


def node_services(network_ids: set[str] | list[str], services: list[Obj],
                  tasks: list[Obj], ingress_id: str | None) -> list[Obj]:
    """The "Services" of the assignments of a node taking part in `network_ids`."""
    here = set(network_ids)
    by_service: dict[str, list[Obj]] = {}
    for task in tasks:
        if T.is_serving(task):
            by_service.setdefault(task.get("ServiceID", ""), []).append(task)
    out = []
    for service in sorted(services, key=lambda s: (_name(s), s["ID"])):
        endpoint = service.get("Endpoint") or {}
        vips = [{"NetworkID": v.get("NetworkID", ""), "Addr": v.get("Addr", "")}
                for v in endpoint.get("VirtualIPs") or []
                if v.get("NetworkID") in here and v.get("Addr")]
        ports = [dict(p) for p in endpoint.get("Ports") or []]
        ingress = [p for p in ports if p.get("PublishMode", "ingress") == "ingress"
                   and p.get("PublishedPort")]
        networks = [n for n in _networks(service) if n["NetworkID"] in here
                    and n["NetworkID"] != ingress_id]
        if not vips and not ingress and not networks:
            continue
        wanted = {v["NetworkID"] for v in vips} | {n["NetworkID"] for n in networks}
        if ingress and ingress_id:
            wanted.add(ingress_id)
        backends = []
        for task in by_service.get(service["ID"], []):
            for network_id, addrs in N.attachment_addresses(
                    task.get("NetworksAttachments")).items():
                if network_id in wanted:
                    backends += [{"NetworkID": network_id, "IP": a.split("/")[0]}
                                 for a in addrs]
        backends.sort(key=lambda b: (b["NetworkID"], IPv4Address(b["IP"])))
        out.append({"ID": service["ID"], "Name": _name(service), "VirtualIPs": vips,
                    "Ports": ports, "Backends": backends,
                    "EndpointMode": endpoint_mode(service), "Networks": networks})
    return out


def endpoint_mode(service: Obj) -> str:
    """vip (Docker's default) or dnsrr, from the spec (the allocated Endpoint's copy when
    the spec says nothing)."""
    spec = (service.get("Spec") or {}).get("EndpointSpec") or \
        (service.get("Endpoint") or {}).get("Spec") or {}
    return "dnsrr" if str(spec.get("Mode", "vip")).lower() == "dnsrr" else "vip"


def _networks(service: Obj) -> list[Obj]:
    """[{"NetworkID", "Aliases"}] of the service's spec, in order, one per network."""
    out: dict[str, list[str]] = {}
    template = (service.get("Spec") or {}).get("TaskTemplate") or {}
    for ref in template.get("Networks") or []:
        target = str(ref.get("Target") or "")
        if target:
            aliases = out.setdefault(target, [])
            aliases += [a for a in ref.get("Aliases") or [] if a and a not in aliases]
    return [{"NetworkID": k, "Aliases": v} for k, v in out.items()]


def _name(service: Obj) -> str:
    return str((service.get("Spec") or {}).get("Name", ""))
