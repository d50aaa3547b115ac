"""What this node's DNS resolver answers (pure): from the "Services" of the assignments
(manager/dispatcher/assignment_services.py) and the node's own tasks, a query name and
the address of the container asking give the answer, by Docker's rules (moby resolver.go):

    <service>, <alias>               the service's VIP on the network (vip mode), or the
                                     addresses of its running tasks there (dnsrr)
    tasks.<service>, tasks.<alias>   the addresses of its running tasks on the network

Names are looked up only on the networks of the asking task (known by its address: a local
task's address on any of its networks), in the order of its attachments, and the first
network that has the name answers. Anything else is forwarded to the upstream resolvers, as
is a query from an address that is no task of this node: the task's own DNS servers
(ContainerSpec.DNSConfig.Nameservers) when it has some, as Docker's embedded resolver
forwards to a container's --dns servers, else the node's. The ingress network has no names
(Docker gives none there: services never list it among their networks).

A name's records: A answers, shuffled, TTL 600 (Docker's); for a name that exists, any other
type (AAAA: no IPv6 here) gets an empty NOERROR answer; a name that exists with no address
(a dnsrr service with no running task, `tasks.` of a scaled-to-zero service) is NXDOMAIN.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from swarmlet.spec.syntax import TERMINAL

TTL = 600  # seconds, Docker's

# Answer kinds
RECORDS = "records"  # NOERROR with the addresses (none: an empty answer)
NXDOMAIN = "nxdomain"
FORWARD = "forward"  # not ours: ask the upstream resolvers


@dataclass(frozen=True)
class Answer:
    kind: str
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Records:
    # name (lower case, no trailing dot) → network ID → addresses (empty: known, none now)
    names: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    # address of a local task → the IDs of all its networks, in attachment order
    askers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # address of a local task → its own DNS servers (none: the node's upstreams)
    upstreams: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def answer(self, qname: str, qtype: str, asker: str,
               shuffle: bool = True) -> Answer:
        """The answer to a query (`qtype` by name: "A", "AAAA", ...) from address `asker`.
        A FORWARD answer's addresses are the asker's own DNS servers (none: the node's)."""
        networks = self.askers.get(asker)
        by_network = self.names.get(normalise(qname))
        forward = Answer(FORWARD, self.upstreams.get(asker, ()))
        if not networks or not by_network:
            return forward
        for network_id in networks:
            if network_id not in by_network:
                continue
            addresses = by_network[network_id]
            if not addresses:
                return Answer(NXDOMAIN)
            if qtype.upper() not in ("A", "ANY"):
                return Answer(RECORDS)  # the name exists, with no record of this type
            if shuffle:
                addresses = tuple(random.sample(addresses, len(addresses)))
            return Answer(RECORDS, addresses)
        return forward  # the name lives only on networks the asker is not on


def normalise(name: str) -> str:
    return name.rstrip(".").lower()


def build(services: list[dict[str, Any]], tasks: list[dict[str, Any]]) -> Records:
    """The records of this node, from the "Services" and "Tasks" of its assignments."""
    names: dict[str, dict[str, list[str]]] = {}

    def add(name: str, network_id: str, addresses: list[str]) -> None:
        if not name:
            return
        known = names.setdefault(normalise(name), {}).setdefault(network_id, [])
        known += [a for a in addresses if a not in known]

    for service in services:
        vips: dict[str, str] = {}
        for vip in service.get("VirtualIPs") or []:
            vips.setdefault(str(vip.get("NetworkID", "")),
                            str(vip.get("Addr", "")).split("/")[0])
        backends: dict[str, list[str]] = {}
        for backend in service.get("Backends") or []:
            backends.setdefault(str(backend.get("NetworkID", "")), []).append(
                str(backend.get("IP", "")))
        dnsrr = service.get("EndpointMode") == "dnsrr"
        for network in service.get("Networks") or []:
            network_id = str(network.get("NetworkID", ""))
            tasks_here = backends.get(network_id, [])
            vip = [vips[network_id]] if vips.get(network_id) else []
            main = tasks_here if dnsrr else vip
            for name in [service.get("Name", ""), *(network.get("Aliases") or [])]:
                add(str(name), network_id, main)
                add(f"tasks.{name}", network_id, tasks_here)
    return Records(names={n: {k: tuple(v) for k, v in nets.items()}
                          for n, nets in names.items()},
                   askers=askers(tasks), upstreams=task_upstreams(tasks))


def askers(tasks: list[dict[str, Any]]) -> dict[str, tuple[str, ...]]:
    """Address → networks of every task of this node that has not ended (its container may
    ask). Addresses are unique: a task's stay taken until it has ended."""
    out: dict[str, tuple[str, ...]] = {}
    for task in tasks:
        if (task.get("Status") or {}).get("State") in TERMINAL:
            continue
        attachments = task.get("NetworksAttachments") or []
        networks = tuple(dict.fromkeys(str((a.get("Network") or {}).get("ID", ""))
                                       for a in attachments))
        for attachment in attachments:
            for address in attachment.get("Addresses") or []:
                out[str(address).split("/")[0]] = networks
    return out


def task_upstreams(tasks: list[dict[str, Any]]) -> dict[str, tuple[str, ...]]:
    """Address → the DNS servers of the task there, for the tasks that have their own."""
    out: dict[str, tuple[str, ...]] = {}
    for task in tasks:
        servers = ((((task.get("Spec") or {}).get("ContainerSpec") or {})
                    .get("DNSConfig") or {}).get("Nameservers")) or []
        if not servers or (task.get("Status") or {}).get("State") in TERMINAL:
            continue
        for attachment in task.get("NetworksAttachments") or []:
            for address in attachment.get("Addresses") or []:
                out[str(address).split("/")[0]] = tuple(str(s) for s in servers)
    return out
