"""What this node's overlays should look like, from the "Networks" key of the assignments
(the data contract, docs/networking.md): pure parsing and the entries each overlay needs.

An entry of "Networks":
    {"Network": <network object>, "NodeAddress": "10.0.1.2/24",
     "Peers": [{"IP": "10.0.1.5", "NodeAddr": "198.18.0.3"}, ...]}
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from swarmlet.errors import SwarmletError
from swarmlet.net.names import (
    DEFAULT_VXLAN_PORT,
    VNI_OPTION,
    VXLAN_PORT_OPTION,
    bridge_name,
    mac_of,
    vxlan_name,
)

log = logging.getLogger("swarmlet.net")

_WithVni = TypeVar("_WithVni", "OverlaySpec", "AttachableNetwork")
ZERO_MAC = "00:00:00:00:00:00"  # a VXLAN FDB entry for this MAC floods to its destination


@dataclass(frozen=True)
class Peer:
    ip: str  # an address on the overlay (a task's or another node's), no prefix
    node_addr: str  # the underlay address of the node where it lives: the VXLAN destination


@dataclass(frozen=True)
class OverlaySpec:
    network_id: str
    name: str
    vni: int
    node_address: str  # this node's own address on the network, CIDR form
    peers: tuple[Peer, ...] = field(default=())
    port: int = DEFAULT_VXLAN_PORT  # the swarm's data path port (UDP)

    @property
    def bridge(self) -> str:
        return bridge_name(self.vni)

    @property
    def vxlan(self) -> str:
        return vxlan_name(self.vni)

    @property
    def gateway(self) -> str:
        """The gateway of this node's containers on the network: the node's own address."""
        return self.node_address.split("/")[0]

    @property
    def prefixlen(self) -> int:
        return ipaddress.IPv4Interface(self.node_address).network.prefixlen

    def fdb(self, local_addr: str) -> set[tuple[str, str]]:
        """(MAC, VXLAN destination) pairs: one per remote address, plus one all-zero entry
        per remote node so that ARP and broadcasts reach every node of the network."""
        remote = [p for p in self.peers if p.node_addr != local_addr]
        entries = {(mac_of(p.ip), p.node_addr) for p in remote}
        entries |= {(ZERO_MAC, p.node_addr) for p in remote}
        return entries

    def neighbours(self, local_addr: str) -> dict[str, str]:
        """IP → MAC of every remote address, so the node's own traffic needs no ARP."""
        return {p.ip: mac_of(p.ip) for p in self.peers
                if p.node_addr != local_addr and p.ip != self.gateway}


@dataclass(frozen=True)
class AttachableNetwork:
    """An attachable network: every node has a Docker network for it, so that
    `docker run --network` finds it, whether or not the overlay is built here yet."""
    network_id: str
    name: str
    vni: int


def parse_attachable(networks: list[dict[str, Any]]) -> dict[int, AttachableNetwork]:
    """The "AttachableNetworks" of the assignments, by VNI."""
    return _by_vni(networks, lambda n: AttachableNetwork(
        n.get("ID", ""), (n.get("Spec") or {}).get("Name", ""), vni_of(n)),
        "attachable network skipped")


def port_of(network: dict[str, Any]) -> int:
    """The network's VXLAN port: the swarm's data path port when it was made with another
    than the default."""
    options = (network.get("DriverState") or {}).get("Options") or {}
    text = str(options.get(VXLAN_PORT_OPTION, DEFAULT_VXLAN_PORT))
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SwarmletError(f"network {network.get('ID', '?')}: bad VXLAN port {text!r}")
    return int(text)


def vni_of(network: dict[str, Any]) -> int:
    options = (network.get("DriverState") or {}).get("Options") or {}
    text = str(options.get(VNI_OPTION, "")).split(",")[0].strip()
    if not text.isdigit():
        raise SwarmletError(f"network {network.get('ID', '?')} has no VXLAN ID "
                            f"(DriverState.Options[{VNI_OPTION}])")
    vni = int(text)
    if not 0 < vni < 1 << 24:
        raise SwarmletError(f"network {network.get('ID', '?')}: VXLAN ID {vni} out of range")
    return vni


def parse_entry(entry: dict[str, Any]) -> OverlaySpec:
    network = entry.get("Network") or {}
    node_address = entry.get("NodeAddress") or ""
    try:
        ipaddress.IPv4Interface(node_address)
    except ValueError as exc:
        raise SwarmletError(f"network {network.get('ID', '?')}: bad NodeAddress "
                            f"{node_address!r}") from exc
    if "/" not in node_address:
        raise SwarmletError(f"network {network.get('ID', '?')}: NodeAddress {node_address!r} "
                            "has no prefix length")
    peers = []
    for peer in entry.get("Peers") or []:
        try:
            ip = str(ipaddress.IPv4Address(str(peer["IP"]).split("/")[0]))
            node_addr = str(ipaddress.IPv4Address(peer["NodeAddr"]))
        except (KeyError, ValueError):
            log.warning("network %s: ignoring a bad peer %r", network.get("ID"), peer)
            continue
        peers.append(Peer(ip, node_addr))
    return OverlaySpec(network_id=network.get("ID", ""),
                       name=(network.get("Spec") or {}).get("Name", ""),
                       vni=vni_of(network), node_address=node_address,
                       peers=tuple(sorted(set(peers), key=lambda p: (p.ip, p.node_addr))),
                       port=port_of(network))


def parse_networks(entries: list[dict[str, Any]]) -> dict[int, OverlaySpec]:
    """The overlays wanted here, by VNI."""
    return _by_vni(entries, parse_entry, "overlay not programmed")


def _by_vni(items: list[dict[str, Any]], parse: Callable[[dict[str, Any]], _WithVni],
            skipped: str) -> dict[int, _WithVni]:
    """A malformed item is skipped (and logged) rather than failing the others: one bad
    network must not cut the node off every network."""
    found: dict[int, _WithVni] = {}
    for item in items:
        try:
            value = parse(item)
        except SwarmletError as exc:
            log.warning("%s: %s", skipped, exc)
            continue
        found[value.vni] = value
    return found
