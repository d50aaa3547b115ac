"""The load balancer of this node, rendered as nftables text (pure): service VIPs and the
ingress routing mesh, from the "Services" of the assignments (docs/networking.md).

One table `ip swarmlet` (NAT), written whole in one `nft -f -` transaction by net/nft.py:

    prerouting, output   nat, priority -100: jump services
    services             `ip daddr <VIP> goto svc-<name>` for each VIP, then for each port
                         published in ingress mode `fib daddr type local <proto> dport <P>
                         goto ingress-<name>-<proto>-<P>`
    svc-<name>           `dnat ip to numgen inc mod N map { 0 : a, 1 : b }` over the tasks on
                         the VIP's network: all ports, the port is kept (Swarm's fwmark VIP)
    ingress-...          the same over the tasks' ingress addresses, to the target port
    host-<proto>-<port>  a port published in host mode, to the task on this node
    postrouting          nat, srcnat: DNAT'd traffic leaving by one of our bridges is
                         masqueraded (to the node's address there), so replies come back
                         through this node and a task reaching its own VIP (hairpin) works;
                         and containers' traffic leaving the overlays for anywhere else
                         (egress) takes the node's address, as Docker's gwbridge does

A VIP or port without backends gets no DNAT: the VIP is a local address of the node (see
net/nft.py), so a connection to it is refused by the kernel (TCP RST), as is one to a
published port nothing serves.

And a table `bridge swarmlet` that keeps ARP for VIPs on the node: every node holds the VIPs
of its networks, so without it a container's ARP request, flooded over VXLAN, would be
answered by every node of the network. Requests for a VIP neither leave by a VXLAN device
nor are taken from one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

from swarmlet.net.names import BRIDGE_PREFIX, VXLAN_PREFIX

TABLE = "swarmlet"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class Balancer:
    chain: str  # svc-<name> or ingress-<name>-<proto>-<port>
    match: str  # the rule of `services` that sends traffic here, without its goto
    backends: tuple[str, ...]  # backend addresses, in order
    port: int | None = None  # the target port (ingress); None: keep the port (VIP)
    proto: str | None = None


def plan(services: list[dict[str, Any]], networks: dict[str, str], ingress_id: str | None,
         host_ports: Sequence[dict[str, Any]] = (),
         ) -> tuple[list[Balancer], set[str]]:
    """The balancers for the services and for the host-mode ports of the tasks here
    ("HostPorts", manager/dispatcher/assignment_ports.py), and the VIPs to hold on this node.
    Only VIPs of the networks in `networks` (ID: name; those programmed here) count. A
    service with VIPs on several networks gets a chain per network: svc-<name>-<network>."""
    balancers: list[Balancer] = []
    vips: set[str] = set()
    taken: set[str] = set()
    for service in sorted(services, key=lambda s: (s.get("Name", ""), s.get("ID", ""))):
        name = _chain_name(service, taken)
        backends_on: dict[str, list[str]] = {}
        for b in service.get("Backends") or []:
            backends_on.setdefault(b.get("NetworkID", ""), []).append(b["IP"])
        for vip in service.get("VirtualIPs") or []:
            network_id = vip.get("NetworkID", "")
            addr = str(vip.get("Addr", "")).split("/")[0]
            if network_id not in networks or not addr:
                continue
            vips.add(addr)
            suffix = ("" if len(service["VirtualIPs"]) == 1
                      else "-" + _UNSAFE.sub("_", networks[network_id] or network_id[:12]))
            balancers.append(Balancer(f"svc-{name}{suffix}", f"ip daddr {addr}",
                                      _ordered(backends_on.get(network_id, []))))
        if ingress_id is None or ingress_id not in networks:
            continue
        for port in service.get("Ports") or []:
            published = int(port.get("PublishedPort") or 0)
            if port.get("PublishMode", "ingress") != "ingress" or not published:
                continue
            proto = str(port.get("Protocol") or "tcp").lower()
            if proto not in ("tcp", "udp"):
                continue
            balancers.append(Balancer(
                f"ingress-{name}-{proto}-{published}",
                f"ip daddr != 127.0.0.0/8 fib daddr type local {proto} dport {published}",
                _ordered(backends_on.get(ingress_id, [])),
                port=int(port.get("TargetPort") or published), proto=proto))
    balancers += _host_balancers(host_ports)
    return balancers, vips


def _host_balancers(host_ports: Sequence[dict[str, Any]]) -> list[Balancer]:
    """A host-mode port answers only here, sent to the task(s) here publishing it."""
    by_port: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for entry in host_ports:
        proto = str(entry.get("Protocol") or "tcp").lower()
        if proto in ("tcp", "udp") and entry.get("PublishedPort") and entry.get("IP"):
            by_port.setdefault((proto, int(entry["PublishedPort"])), []).append(entry)
    return [Balancer(f"host-{proto}-{published}",
                     f"ip daddr != 127.0.0.0/8 fib daddr type local {proto} dport {published}",
                     _ordered(e["IP"] for e in entries),
                     port=int(entries[0].get("TargetPort") or published), proto=proto)
            for (proto, published), entries in sorted(by_port.items())]


def render(balancers: list[Balancer], vips: set[str], bridges: Iterable[str] = ()) -> str:
    """The whole `nft -f` transaction: both tables replaced at once (the add-then-delete
    idiom deletes a table whether or not it is there). `bridges`: our bridges on this node,
    kept apart from each other (isolation)."""
    out = [f"add table ip {TABLE}", f"delete table ip {TABLE}", f"table ip {TABLE} {{"]
    out += _isolation(bridges, vips)
    out += base_chain("prerouting", "prerouting", "-100", ["jump services"])
    out += base_chain("output", "output", "-100", ["jump services"])
    out += base_chain("postrouting", "postrouting", "100", [
        f'ct status dnat oifname "{BRIDGE_PREFIX}*" masquerade',
        f'iifname "{BRIDGE_PREFIX}*" oifname != "{BRIDGE_PREFIX}*" masquerade'])
    # VIPs first: a VIP is a local address too, and would match a published port's rule;
    # a VIP with no backend here (or balanced by IPVS, net/ipvs.py) returns, not to be taken
    # by a host-mode port's rule
    order = sorted(balancers, key=lambda b: b.port is not None)
    vip_rules = [f"{b.match} goto {b.chain}" if b.backends else f"{b.match} return"
                 for b in order if b.port is None]
    # The node's resolver listens on its overlay addresses, which are local addresses too: a
    # port 53 published here must not take the containers' DNS queries.
    dns_guard = f'iifname "{BRIDGE_PREFIX}*" meta l4proto {{ tcp, udp }} th dport 53 return'
    port_rules = [f"{b.match} goto {b.chain}" for b in order
                  if b.port is not None and b.backends]
    out += chain("services", [*vip_rules, dns_guard, *port_rules])
    for b in order:
        if b.backends:
            out += chain(b.chain, [_dnat(b)])
    out.append("}")
    out += [f"add table bridge {TABLE}", f"delete table bridge {TABLE}",
            f"table bridge {TABLE} {{", *_vip_set(vips)]
    out += base_chain("forward", "forward", "0", [
        f'oifname "{VXLAN_PREFIX}*" arp operation request arp daddr ip @vips drop'],
        kind="filter")
    out += base_chain("input", "input", "0", [
        f'iifname "{VXLAN_PREFIX}*" arp operation request arp daddr ip @vips drop'],
        kind="filter")
    out.append("}")
    return "\n".join(out) + "\n"


def _isolation(bridges: Iterable[str], vips: set[str]) -> list[str]:
    """Networks are kept apart on a node: what one bridge forwards to another is dropped,
    unless it is a connection to a published port (DNAT'd, and not to a VIP: a VIP of
    another network is no way in)."""
    out = _vip_set(vips)
    out += base_chain("forward", "forward", "0", [
        f'iifname "{BRIDGE_PREFIX}*" oifname "{BRIDGE_PREFIX}*" jump isolation'],
        kind="filter")
    same = [f'iifname "{b}" oifname "{b}" return' for b in sorted(set(bridges))]
    return out + chain("isolation", [*same, "ct status dnat ct original ip daddr != @vips "
                                     "return", "drop"])


def _vip_set(vips: set[str]) -> list[str]:
    elements = ["\t\telements = { " + ", ".join(_ordered(vips)) + " }"] if vips else []
    return ["\tset vips {", "\t\ttype ipv4_addr", *elements, "\t}"]


def removal() -> str:
    return "\n".join([f"add table ip {TABLE}", f"delete table ip {TABLE}",
                      f"add table bridge {TABLE}", f"delete table bridge {TABLE}"]) + "\n"


def _dnat(b: Balancer) -> str:
    mapping = ", ".join(f"{i} : {ip}" for i, ip in enumerate(b.backends))
    target = f"numgen inc mod {len(b.backends)} map {{ {mapping} }}"
    if b.port is None:
        return f"dnat ip to {target}"
    return f"meta l4proto {b.proto} dnat ip to {target} : {b.port}"


def base_chain(name: str, hook: str, priority: str, rules: list[str],
                kind: str = "nat") -> list[str]:
    return [f"\tchain {name} {{",
            f"\t\ttype {kind} hook {hook} priority {priority}; policy accept;",
            *[f"\t\t{r}" for r in rules], "\t}"]


def chain(name: str, rules: list[str]) -> list[str]:
    return [f"\tchain {name} {{", *[f"\t\t{r}" for r in rules], "\t}"]


def _chain_name(service: dict[str, Any], taken: set[str]) -> str:
    """A readable chain name from the service's name (nft identifiers: letters, digits,
    - and _), made unique with the ID when two names map to the same text."""
    name = _UNSAFE.sub("_", str(service.get("Name") or service.get("ID", "")))[:64] or "x"
    if name in taken:
        name = f"{name}-{str(service.get('ID', ''))[:12]}"
    taken.add(name)
    return name


def _ordered(addresses: Any) -> tuple[str, ...]:
    return tuple(sorted(set(addresses), key=IPv4Address))
