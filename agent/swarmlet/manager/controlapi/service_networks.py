"""The checks of a service spec that need the store: its networks exist (names become IDs,
as Docker's daemon resolves them), it is not attached to `ingress` by hand, the ingress
network is there when it publishes a port in ingress mode, and no other service holds its
published ports (SwarmKit's controlapi checkPortConflicts, with its messages)."""

from __future__ import annotations

from typing import Any

from swarmlet.errors import Conflict, InvalidArgument, NotFound
from swarmlet.manager.allocator import network_objects as N

Obj = dict[str, Any]


def resolve_network(ref: str, networks: list[Obj]) -> Obj:
    """A network by ID, name or unique ID prefix."""
    for match in ([n for n in networks if n["ID"] == ref],
                  [n for n in networks if n["Spec"].get("Name") == ref],
                  [n for n in networks if n["ID"].startswith(ref)]):
        if len(match) == 1:
            return match[0]
        if len(match) > 1:
            raise Conflict(f"network {ref} is ambiguous ({len(match)} matches found)")
    raise NotFound(f"network {ref} not found")


def check_service_networks(spec: Obj, networks: list[Obj], services: list[Obj],
                           service: Obj | None = None) -> Obj:
    """`spec` (normalised) with its network targets as IDs; raises a domain error as Docker
    refuses. `service`: the service being updated (its own ports are no conflict)."""
    template = spec["TaskTemplate"]
    refs: dict[str, Obj] = {}
    for ref in template.get("Networks") or []:
        network = resolve_network(ref["Target"], networks)
        if N.is_ingress(network):
            raise InvalidArgument("Service cannot be explicitly attached to the ingress "
                                f'network "{network["Spec"]["Name"]}"')
        refs.setdefault(network["ID"], {**ref, "Target": network["ID"]})
    if refs:
        template["Networks"] = list(refs.values())
    endpoint = spec.get("EndpointSpec")
    if N.needs_ingress(endpoint) and N.find_ingress({n["ID"]: n for n in networks}) is None:
        raise InvalidArgument("service needs ingress network, but no ingress network is present")
    if service is None or endpoint != service["Spec"].get("EndpointSpec"):
        check_port_conflicts(spec, services, service["ID"] if service else "")
    return spec


def check_port_conflicts(spec: Obj, services: list[Obj], service_id: str) -> None:
    """An ingress port may be published by one service only; a host-mode port may be
    shared by services (the scheduler keeps them apart), but not with an ingress one."""
    ingress, host = set(), set()
    for port in (spec.get("EndpointSpec") or {}).get("Ports") or []:
        if port.get("PublishedPort"):
            target = ingress if port.get("PublishMode", "ingress") == "ingress" else host
            target.add((port.get("Protocol", "tcp"), port["PublishedPort"]))
    if not ingress and not host:
        return
    for other in services:
        if other["ID"] == service_id:
            continue
        theirs = [*((other["Spec"].get("EndpointSpec") or {}).get("Ports") or []),
                  *((other.get("Endpoint") or {}).get("Ports") or [])]
        for port in theirs:
            number = port.get("PublishedPort")
            if not number:
                continue
            key = (port.get("Protocol", "tcp"), number)
            name, oid = other["Spec"]["Name"], other["ID"]
            if port.get("PublishMode", "ingress") == "host":
                if key in ingress:
                    raise InvalidArgument(f"port '{number}' is already in use by service "
                                        f"'{name}' ({oid}) as a host-published port")
            elif key in ingress or key in host:
                raise InvalidArgument(f"port '{number}' is already in use by service '{name}' "
                                    f"({oid}) as an ingress port")
