"""The IPVS load balancer's desired state (pure): fwmarks, IPVS services and real servers, the
nftables text that marks the traffic, and the difference with what the kernel holds
(docs/networking.md, "The IPVS backend"). Applied by net/ipvs.py.

As Docker does, nftables only marks the traffic and IPVS balances it: one IPVS service per
balancer of net/lb.py, keyed by a firewall mark, scheduler `rr`, masquerade forwarding (NAT),
weight 1. A VIP's real servers have port 0 (the port of the connection is kept: all ports of
the VIP, like Swarm); a published port's have the target port.

Table `ip swarmlet_ipvs`, written whole in one `nft -f -` transaction:

    prerouting   filter, mangle: jump services     (IPVS takes packets in INPUT, after these)
    output       route, mangle: jump services      (connections from the node itself)
    services     `ip daddr <VIP> meta mark set <fwmark> return` for each VIP, then
                 `... fib daddr type local <proto> dport <P> meta mark set <fwmark> return`
    postrouting  nat, srcnat: marked (IPVS'd) traffic leaving by one of our bridges is
                 masqueraded, as DNAT'd traffic is in net/lb.py (conntrack sees no DNAT status
                 on an IPVS connection, hence the mark)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace

from swarmlet.net import lb
from swarmlet.net.lb import Balancer
from swarmlet.net.names import BRIDGE_PREFIX

TABLE = "swarmlet_ipvs"
SCHEDULER = "rr"  # round robin per connection, as Swarm
MASQ = 0  # IPVS forwarding method "masquerading" (IP_VS_CONN_F_MASQ): NAT to the backend
WEIGHT = 1

# Our fwmarks: 0x01000000-0x01ffffff (top byte 0x01, 24 bits from a hash of the chain name).
# Only IPVS services with a mark in this range are ever read, changed or deleted; the top byte
# keeps clear of the small marks Docker counts from 256 and of kube-proxy's 0x4000/0x8000 bits.
FWMARK_TAG = 0x01000000
FWMARK_MASK = 0xFF000000
_SPAN = 1 << 24


@dataclass(frozen=True, order=True)
class Real:
    """An IPVS real server (destination) of a service."""
    addr: str
    port: int  # 0: the connection's own port (VIP)
    weight: int = WEIGHT
    forward: int = MASQ

    @property
    def key(self) -> tuple[str, int]:
        return self.addr, self.port


@dataclass(frozen=True)
class Virtual:
    """An IPVS fwmark service (IPv4) and its real servers, in order."""
    fwmark: int
    reals: tuple[Real, ...]
    scheduler: str = SCHEDULER


@dataclass(frozen=True)
class Op:
    """One IPVS change. verb: add-service, set-service, del-service, add-dest, set-dest,
    del-dest."""
    verb: str
    fwmark: int
    scheduler: str = SCHEDULER
    real: Real | None = None


def handles(b: Balancer) -> bool:
    """Balancers IPVS takes: service VIPs and ingress ports. Any other kind net/lb.py may plan
    is left to its nftables rendering."""
    return b.chain.startswith(("svc-", "ingress-"))


def ours(fwmark: int | None) -> bool:
    return fwmark is not None and fwmark & FWMARK_MASK == FWMARK_TAG


def fwmarks(chains: Iterable[str]) -> dict[str, int]:
    """A mark per chain name, from a stable hash, so that every agent (and every restart)
    derives the same mark and IPVS services outlive agent restarts untouched. On a collision
    the name that sorts later takes the next free value (rare: 24 bits)."""
    taken: set[int] = set()
    out: dict[str, int] = {}
    for chain in sorted(set(chains)):
        h = int.from_bytes(hashlib.sha256(chain.encode()).digest()[:4], "big") % _SPAN
        while FWMARK_TAG | h in taken:
            h = (h + 1) % _SPAN
        taken.add(FWMARK_TAG | h)
        out[chain] = FWMARK_TAG | h
    return out


def assign(balancers: list[Balancer]) -> list[tuple[Balancer, int]]:
    """The balancers IPVS serves (those with backends: without, no mark and no service, so a
    connection is refused by the node as with nftables) with their marks."""
    live = [b for b in balancers if handles(b) and b.backends]
    marks = fwmarks(b.chain for b in live)
    return [(b, marks[b.chain]) for b in live]


def desired(marked: list[tuple[Balancer, int]]) -> dict[int, Virtual]:
    return {mark: Virtual(mark, tuple(Real(ip, b.port or 0) for ip in b.backends))
            for b, mark in marked}


def diff(have: dict[int, Virtual], want: dict[int, Virtual]) -> list[Op]:
    """The changes from `have` (the kernel's services in our range) to `want`. A service that
    stays is edited in place and its unchanged real servers are left alone, so their
    connections go on."""
    ops = [Op("del-service", mark, have[mark].scheduler) for mark in sorted(set(have) - set(want))]
    for mark in sorted(want):
        w = want[mark]
        h = have.get(mark)
        if h is None:
            ops.append(Op("add-service", mark, w.scheduler))
            ops += [Op("add-dest", mark, w.scheduler, r) for r in w.reals]
            continue
        if h.scheduler != w.scheduler:
            ops.append(Op("set-service", mark, w.scheduler))
        old = {r.key: r for r in h.reals}
        new = {r.key: r for r in w.reals}
        ops += [Op("del-dest", mark, w.scheduler, old[k]) for k in sorted(set(old) - set(new))]
        for r in w.reals:
            if r.key not in old:
                ops.append(Op("add-dest", mark, w.scheduler, r))
            elif old[r.key] != r:  # weight or forwarding changed by someone else
                ops.append(Op("set-dest", mark, w.scheduler, r))
    return ops


def tables(balancers: list[Balancer], vips: set[str], bridges: Iterable[str] = ()) -> str:
    """The backend's whole `nft -f` transaction: net/lb.py's tables with the balancers IPVS
    takes emptied (no DNAT for them; the egress NAT, host-mode ports and ARP guard stay, and a
    VIP returns before a host-mode port's rule could take it), then the marking table."""
    nat = [replace(b, backends=()) if handles(b) else b for b in balancers]
    return lb.render(nat, vips, bridges) + render(assign(balancers))


def render(marked: list[tuple[Balancer, int]]) -> str:
    """The marking table, replaced whole (add-then-delete idiom, as in net/lb.py)."""
    mark_test = f"meta mark & {FWMARK_MASK:#010x} == {FWMARK_TAG:#010x}"
    out = [f"add table ip {TABLE}", f"delete table ip {TABLE}", f"table ip {TABLE} {{"]
    out += lb.base_chain("prerouting", "prerouting", "-150", ["jump services"], kind="filter")
    out += lb.base_chain("output", "output", "-150", ["jump services"], kind="route")
    out += lb.base_chain("postrouting", "postrouting", "100",
                          [f'{mark_test} oifname "{BRIDGE_PREFIX}*" masquerade'])
    # VIPs first: a VIP is a local address too, and would match a published port's rule
    order = sorted(marked, key=lambda m: m[0].port is not None)
    out += lb.chain("services", [f"{b.match} meta mark set {mark:#010x} return"
                                  for b, mark in order])
    out.append("}")
    return "\n".join(out) + "\n"


def removal() -> str:
    return f"add table ip {TABLE}\ndelete table ip {TABLE}\n"
