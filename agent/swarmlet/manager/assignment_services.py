"""The services part of a node's assignments (the data contract with the node's load
balancer): every service with a VIP on a network the node takes part in, and every service
publishing a port in ingress mode (the routing mesh is on every node), with its backends.

An entry of "Services":
    {"ID", "Name", "VirtualIPs": [{"NetworkID", "Addr"}], "Ports": <Endpoint.Ports>,
     "Backends": [{"NetworkID", "IP"}, ...]}

Backends are the tasks that are RUNNING and meant to run, on each of the service's networks
that matter here (those of the VIPs listed, plus ingress when a port is published in ingress
mode). A task with a health check reports RUNNING only once healthy (an unhealthy one fails:
worker/containers.py), so "running" already means "running and healthy". Pure: no store.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

from swarmlet.manager import network_objects as N

Obj = dict[str, Any]


def node_services(network_ids: set[str] | list[str], services: list[Obj],
                  tasks: list[Obj], ingress_id: str | None) -> list[Obj]:
    """The "Services" of the assignments of a node taking part in `network_ids`."""
    here = set(network_ids)
    by_service: dict[str, list[Obj]] = {}
    for task in tasks:
        if _serving(task):
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
        if not vips and not ingress:
            continue
        wanted = {v["NetworkID"] for v in vips}
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
                    "Ports": ports, "Backends": backends})
    return out


def _serving(task: Obj) -> bool:
    """RUNNING (healthy, when it has a health check) and not being stopped."""
    return ((task.get("Status") or {}).get("State") == "running"
            and task.get("DesiredState", "running") == "running")


def _name(service: Obj) -> str:
    return str((service.get("Spec") or {}).get("Name", ""))
