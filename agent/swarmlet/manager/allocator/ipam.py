"""Address management for overlay networks, as pure functions over what is in use.

Nothing here remembers anything between calls: the allocator computes what is in use from
the store on every pass (the store is the truth; a new leader must never hand out an address
the old one already gave), and these functions pick from what is left.

- Subnets: /24s of the default pool 10.0.0.0/8 (or the swarm's DefaultAddrPool in its
  SubnetSize, given at init), lowest first, skipping any that overlap a
  subnet in use, a route of the host or one of its resolvers (Docker's default pool; the
  first one, 10.0.0.0/24, goes to `ingress`).
- VNIs: from 4096 up (below are 802.1Q IDs, which Docker leaves alone for Windows).
- Addresses in a subnet: never the network address, the gateway or the broadcast address;
  lowest free first. Reuse right after a release is harmless here because every MAC is
  derived from its address (02:42:<address>), so no neighbour cache anywhere goes stale.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from swarmlet.errors import SwarmletError

DEFAULT_POOL = "10.0.0.0/8"
SUBNET_SIZE = 24
FIRST_VNI = 4096
LAST_VNI = 2**24 - 1
INGRESS_SUBNET = "10.0.0.0/24"

# libnetwork's words when the default pools are exhausted.
NO_POOL = ("could not find an available, non-overlapping IPv4 address pool among the "
           "defaults to assign to the network")
POOL_OVERLAP = "Pool overlaps with other one on this address space"


class IpamError(SwarmletError):
    """An allocation or a configuration that cannot be satisfied."""


def parse_subnet(text: str) -> IPv4Network:
    """A subnet as `--subnet` gives it; host bits set are refused, as SwarmKit's
    net.ParseCIDR check plus libnetwork's pool request refuse them."""
    try:
        return IPv4Network(text, strict=True)
    except (ValueError, TypeError):
        raise IpamError(f"ipam configuration: invalid subnet {text}") from None


def parse_gateway(text: str, subnet: IPv4Network) -> IPv4Address:
    try:
        gateway = IPv4Address(text)
    except (ValueError, TypeError):
        raise IpamError(f"ipam configuration: invalid gateway {text}") from None
    if gateway not in subnet:
        raise IpamError(f"ipam configuration: subnet {subnet} does not contain gateway "
                        f"{text}")
    return gateway


def default_gateway(subnet: IPv4Network) -> IPv4Address:
    """The first host address, as Docker's default IPAM picks the gateway."""
    return subnet.network_address + 1


def overlapping(subnet: IPv4Network, others: Iterable[IPv4Network]) -> IPv4Network | None:
    for other in others:
        if subnet.overlaps(other):
            return other
    return None


def pick_subnet(in_use: Iterable[IPv4Network], host: Iterable[IPv4Network],
                pool: str | list[str] = DEFAULT_POOL, size: int = SUBNET_SIZE) -> IPv4Network:
    """The lowest /size of the first of the pools (the swarm's DefaultAddrPool) that
    overlaps neither a subnet in use nor the host's routes and resolvers."""
    taken = sorted({*in_use, *host}, key=lambda n: (int(n.network_address), n.prefixlen))
    for base in [pool] if isinstance(pool, str) else pool:
        for candidate in IPv4Network(base).subnets(new_prefix=size):
            if overlapping(candidate, taken) is None:
                return candidate
    raise IpamError(NO_POOL)


def pick_vni(in_use: Iterable[int]) -> int:
    taken = set(in_use)
    for vni in range(FIRST_VNI, LAST_VNI + 1):
        if vni not in taken:
            return vni
    raise IpamError("no free VXLAN ID left")


def reserved(subnet: IPv4Network, gateway: IPv4Address | None) -> set[IPv4Address]:
    """Addresses never handed out: the network and broadcast addresses and the gateway."""
    out = {subnet.network_address, subnet.broadcast_address}
    if gateway is not None:
        out.add(gateway)
    return out


def address_of(cidr: str) -> IPv4Address | None:
    """The address of "10.0.1.5/24" (or of a bare "10.0.1.5"); None for garbage."""
    try:
        return IPv4Interface(cidr).ip
    except (ValueError, TypeError):
        return None


class SubnetAddresses:
    """The free addresses of one network's subnet during one allocator pass: built from
    what the store says is in use, then handed out lowest first."""

    def __init__(self, subnet: IPv4Network, gateway: IPv4Address | None,
                 in_use: Iterable[IPv4Address] = ()) -> None:
        self.subnet = subnet
        self.gateway = gateway
        self.taken = reserved(subnet, gateway) | {a for a in in_use if a in subnet}
        self._cursor = int(subnet.network_address) + 1  # everything below is taken

    def take(self, address: IPv4Address) -> None:
        self.taken.add(address)

    def release(self, address: IPv4Address) -> None:
        if address not in reserved(self.subnet, self.gateway):
            self.taken.discard(address)
            self._cursor = min(self._cursor, int(address))

    def allocate(self) -> str:
        """The lowest free address, in CIDR form ("10.0.1.5/24")."""
        last = int(self.subnet.broadcast_address)
        while self._cursor < last:
            address = IPv4Address(self._cursor)
            self._cursor += 1
            if address not in self.taken:
                self.taken.add(address)
                return f"{address}/{self.subnet.prefixlen}"
        raise IpamError(f"could not allocate an address on {self.subnet}: no addresses "
                        "available")

    def free_count(self) -> int:
        return self.subnet.num_addresses - len(self.taken)


def network_config(network: dict) -> tuple[IPv4Network, IPv4Address | None] | None:
    """The subnet and gateway a stored network was allocated (IPAM.Configs[0])."""
    configs = (network.get("IPAM") or {}).get("Configs") or []
    if not configs or not configs[0].get("Subnet"):
        return None
    try:
        subnet = ipaddress.IPv4Network(configs[0]["Subnet"], strict=False)
    except ValueError:
        return None
    gateway = configs[0].get("Gateway")
    return subnet, IPv4Address(gateway) if gateway else None
