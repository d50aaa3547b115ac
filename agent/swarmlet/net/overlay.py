"""The devices of each overlay network on this host, in the agent's network namespace:

    swlb-<vni>  a Linux bridge holding this node's own address on the network (the gateway
                of its containers there), MAC 02:42:<address>, MTU 1450
    swlx-<vni>  a VXLAN device (UDP 4789 or the swarm's data path port, local = this node's
                underlay address, learning off)
                enslaved to the bridge; static FDB entries send each remote MAC to its node,
                all-zero entries (one per remote node) carry ARP and broadcasts to every node
    neighbours  permanent IP → MAC entries on the bridge for every remote address

Everything is programmed from the desired state and compared with what the kernel holds, so
each call is idempotent and repairs drift; only links named by us are ever touched.
"""

from __future__ import annotations

import logging
from typing import Any

from swarmlet.net.names import bridge_name, mac_of, vni_of_bridge, vni_of_vxlan, vxlan_name
from swarmlet.net.netlink import Netlink
from swarmlet.net.pyroute import IPRoute, NetlinkError, ndmsg
from swarmlet.net.spec import ZERO_MAC, OverlaySpec

log = logging.getLogger("swarmlet.net.overlay")

MTU = 1450  # 1500 on the underlay, less VXLAN's 50 bytes of headers
AF_INET = 2
NUD_PERMANENT = ndmsg.states["permanent"]
NTF_MASTER = ndmsg.flags["master"]  # an entry of the bridge (not the VXLAN device's own)
ENODEV = 19
ENOENT = 2


class Overlays:
    def __init__(self, netlink: Netlink) -> None:
        self.netlink = netlink

    def present(self) -> set[int]:
        """VNIs that have a bridge or VXLAN device of ours here."""
        def work(ipr: IPRoute) -> set[int]:
            found = set()
            for link in ipr.link("dump"):
                name = link.get("ifname") or ""
                vni = vni_of_bridge(name) or vni_of_vxlan(name)
                if vni is not None:
                    found.add(vni)
            return found
        return self.netlink.call(work)

    def ensure(self, spec: OverlaySpec, local_addr: str) -> None:
        """Make the overlay's devices and entries match `spec`."""
        self.netlink.call(lambda ipr: _ensure(ipr, spec, local_addr))

    def remove(self, vni: int) -> None:
        def work(ipr: IPRoute) -> None:
            for name in (vxlan_name(vni), bridge_name(vni)):
                index = _index(ipr, name)
                if index is not None:
                    _quietly(lambda i=index: ipr.link("del", index=i))
        self.netlink.call(work)
        log.info("overlay %s: devices removed", vni)

    def endpoints(self, vni: int) -> list[str]:
        """The container links on the overlay's bridge (every port but the VXLAN device)."""
        def work(ipr: IPRoute) -> list[str]:
            bridge = _index(ipr, bridge_name(vni))
            if bridge is None:
                return []
            return [link.get("ifname") for link in ipr.link("dump")
                    if link.get("master") == bridge and link.get("ifname") != vxlan_name(vni)]
        return self.netlink.call(work)


def _index(ipr: IPRoute, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def _quietly(action: Any) -> None:
    """Deletes race with the kernel (a veth goes with its namespace): gone is fine."""
    try:
        action()
    except NetlinkError as exc:
        if exc.code not in (ENODEV, ENOENT):
            raise


def _ensure(ipr: IPRoute, spec: OverlaySpec, local_addr: str) -> None:
    vx = _ensure_vxlan(ipr, spec, local_addr)
    br = _ensure_bridge(ipr, spec)
    (vx_link,) = ipr.link("get", index=vx)
    if vx_link.get("master") != br:
        ipr.link("set", index=vx, master=br)
    ipr.link("set", index=vx, state="up")
    ipr.link("set", index=br, state="up")
    _ensure_address(ipr, br, spec)
    _ensure_fdb(ipr, vx, spec.fdb(local_addr))
    _ensure_neighbours(ipr, br, spec.neighbours(local_addr))


def _ensure_vxlan(ipr: IPRoute, spec: OverlaySpec, local_addr: str) -> int:
    index = _index(ipr, spec.vxlan)
    if index is not None:
        (link,) = ipr.link("get", index=index)
        same = (link.get(("linkinfo", "kind")) == "vxlan"
                and link.get(("linkinfo", "data", "vxlan_id")) == spec.vni
                and link.get(("linkinfo", "data", "vxlan_local")) == local_addr
                and link.get(("linkinfo", "data", "vxlan_port")) == spec.port)
        if same:
            return index
        log.info("overlay %s: VXLAN device out of date (underlay address or port changed?): "
                 "remade",
                 spec.vni)
        ipr.link("del", index=index)
    ipr.link("add", ifname=spec.vxlan, kind="vxlan", vxlan_id=spec.vni,
             vxlan_local=local_addr, vxlan_port=spec.port, vxlan_learning=0, mtu=MTU)
    log.info("overlay %s (%s): VXLAN device %s made", spec.vni, spec.name, spec.vxlan)
    return ipr.link_lookup(ifname=spec.vxlan)[0]


def _ensure_bridge(ipr: IPRoute, spec: OverlaySpec) -> int:
    mac = mac_of(spec.node_address)
    index = _index(ipr, spec.bridge)
    if index is None:
        # The bridge answers ARP for the node's address: its MAC follows Docker's rule, as
        # the other nodes' FDB entries for this address expect.
        ipr.link("add", ifname=spec.bridge, kind="bridge", address=mac, mtu=MTU)
        log.info("overlay %s (%s): bridge %s made", spec.vni, spec.name, spec.bridge)
        return ipr.link_lookup(ifname=spec.bridge)[0]
    (link,) = ipr.link("get", index=index)
    if link.get("address") != mac:
        ipr.link("set", index=index, address=mac)
    return index


def _ensure_address(ipr: IPRoute, bridge: int, spec: OverlaySpec) -> None:
    want = (spec.gateway, spec.prefixlen)
    have = {(a.get("address"), a["prefixlen"]) for a in ipr.addr("dump", index=bridge)
            if a["family"] == AF_INET and a["index"] == bridge}
    for address, prefixlen in have - {want}:
        ipr.addr("del", index=bridge, address=address, prefixlen=prefixlen)
    if want not in have:
        ipr.addr("add", index=bridge, address=want[0], prefixlen=want[1])


def _ensure_fdb(ipr: IPRoute, vxlan: int, want: set[tuple[str, str]]) -> None:
    entries = [e for e in ipr.fdb("dump", ifindex=vxlan) if e.get("ifindex") == vxlan]
    have = {(e.get("lladdr"), e.get("dst")) for e in entries if e.get("dst")}
    for mac, dst in have - want:  # stale first: a MAC that moved gets its new node after
        _quietly(lambda m=mac, d=dst: ipr.fdb("del", ifindex=vxlan, lladdr=m, dst=d))
    for mac, dst in sorted(want - have):
        # Several all-zero entries must coexist (one per remote node): `append`, not `add`.
        ipr.fdb("append" if mac == ZERO_MAC else "add", ifindex=vxlan, lladdr=mac, dst=dst)
    # The bridge learns MACs on its VXLAN port as on any port. A MAC that is no longer
    # remote (a task address handed out again, now to a container here) would otherwise
    # keep the bridge sending its frames out over VXLAN until the entry ages out (300 s).
    remote = {mac for mac, _ in want}
    for e in entries:
        mac = e.get("lladdr")
        if not e.get("dst") and e.get("master") and not e["state"] & NUD_PERMANENT \
                and mac not in remote:
            _quietly(lambda m=mac: ipr.fdb("del", ifindex=vxlan, lladdr=m, flags=NTF_MASTER))


def _ensure_neighbours(ipr: IPRoute, bridge: int, want: dict[str, str]) -> None:
    have = {n.get("dst"): n.get("lladdr") for n in ipr.neigh("dump", ifindex=bridge)
            if n["family"] == AF_INET and n.get("ifindex") == bridge
            and n["state"] & NUD_PERMANENT}
    for ip, mac in have.items():
        if want.get(ip) != mac:
            _quietly(lambda i=ip, m=mac: ipr.neigh("del", dst=i, lladdr=m, ifindex=bridge))
    for ip, mac in want.items():
        if have.get(ip) != mac:
            ipr.neigh("set", dst=ip, lladdr=mac, ifindex=bridge, state=NUD_PERMANENT)
