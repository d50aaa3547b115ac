"""Applying the load balancer (net/lb.py) in the agent's network namespace: the nftables
tables in one `nft -f -` transaction when their text changes, the VIPs as local addresses,
and IPv4 forwarding on (a fresh network namespace has it off).

The VIPs are /32 addresses of `lo` labelled `lo:swlvip`, not of the bridges: the overlay
passes own the bridges' addresses (net/overlay.py keeps exactly the node's address there),
and this kernel has no dummy devices. Linux answers ARP for any local address on any
interface (arp_ignore 0), so every bridge answers for every VIP.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from swarmlet.errors import SwarmletError
from swarmlet.net import lb
from swarmlet.net.conntrack import forget_udp_flows_to
from swarmlet.net.names import BRIDGE_PREFIX, HOST_VETH_PREFIX
from swarmlet.net.netlink import Netlink
from swarmlet.net.pyroute import IPRoute

log = logging.getLogger("swarmlet.net.lb")

VIP_LABEL = "lo:swlvip"
DRIFT_CHECK_PERIOD = 10.0  # seconds between checks that our tables are still there
FORWARDING = Path("/proc/sys/net/ipv4/ip_forward")
AF_INET = 2


class LoadBalancer:
    TABLES = (f"table ip {lb.TABLE}", f"table bridge {lb.TABLE}")  # as `nft list tables` says

    def __init__(self, netlink: Netlink, nft: str = "nft") -> None:
        self.netlink = netlink
        self.nft = nft
        self._applied: str | None = None  # None: whatever is there is replaced on first sync
        self.last_apply_ms: float | None = None
        self._backends: set[str] = set()  # as last applied
        self._checked_at = 0.0  # when the kernel's tables were last looked at
        self._removed = False  # `swarm leave` took the tables: none to look for

    def sync(self, services: list[dict[str, Any]], networks: dict[str, str],
             ingress_id: str | None, host_ports: Sequence[dict[str, Any]] = ()) -> bool:
        """Make the tables and VIPs match; True if the tables were rewritten."""
        if networks:
            forwarding_on()
        balancers, vips = lb.plan(services, networks, ingress_id, host_ports)
        self.netlink.call(lambda ipr: ensure_vips(ipr, vips))
        self.hairpin()
        changed = self._apply(lb.render(balancers, vips, self.netlink.call(bridge_names)))
        self._forget_left({ip for b in balancers for ip in b.backends})
        return changed

    def _forget_left(self, backends: set[str]) -> None:
        """UDP flows to backends that left (net/conntrack.py)."""
        left, self._backends = self._backends - backends, backends
        if left:
            try:
                forget_udp_flows_to(left)
            except Exception as exc:
                log.warning("UDP flows to removed backends not forgotten: %s", exc)

    def hairpin(self) -> None:
        """Hairpin mode on every container port of our bridges. With bridge netfilter on
        (the default, also in a new namespace), a frame a container sends to a VIP that is
        DNAT'd to a task on the same bridge is bridged, not routed: back out of the port it
        came in by when the task is the sender itself, which a bridge port refuses unless in
        hairpin mode (Docker sets it too)."""
        self.netlink.call(hairpin_ports)

    def remove(self) -> None:
        """`swarm leave`: no table and no VIP of ours is left."""
        self._run(lb.removal())
        self._applied = lb.removal()
        self._removed = True
        self.netlink.call(remove_vips)

    def _apply(self, text: str) -> bool:
        if text == self._applied and not self._tables_gone():
            return False
        started = time.monotonic()
        self._run(text)
        self.last_apply_ms = (time.monotonic() - started) * 1000
        self._applied, self._removed = text, False
        log.info("load balancer rules applied (%.1f ms)", self.last_apply_ms)
        return True

    def _tables_gone(self) -> bool:
        """Whether someone deleted our tables (checked at most every DRIFT_CHECK_PERIOD:
        the text is otherwise compared with the last applied, not with the kernel)."""
        now = time.monotonic()
        if self._applied is None or self._removed or now - self._checked_at < DRIFT_CHECK_PERIOD:
            return False
        self._checked_at = now
        proc = subprocess.run([self.nft, "list", "tables"], capture_output=True, text=True,
                              check=False)
        gone = not set(self.TABLES) <= set(proc.stdout.splitlines())
        if gone:
            log.warning("load balancer tables missing (deleted by hand?): writing them again")
        return gone

    def _run(self, text: str) -> None:
        run_nft(text, self.nft)


def run_nft(text: str, nft: str = "nft") -> None:
    """One `nft -f -` transaction: all of it, or nothing and the error."""
    proc = subprocess.run([nft, "-f", "-"], input=text, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SwarmletError(f"nft: {proc.stderr.strip()}")


def forwarding_on() -> None:
    try:
        if FORWARDING.read_text().strip() != "1":
            FORWARDING.write_text("1\n")
            log.info("IPv4 forwarding turned on")
    except OSError as exc:
        log.warning("IPv4 forwarding not turned on: %s", exc)


def ensure_vips(ipr: IPRoute, vips: set[str]) -> None:
    """The VIPs as /32 addresses of `lo` labelled lo:swlvip (only those are ever touched)."""
    (index,) = ipr.link_lookup(ifname="lo")
    have = {a.get("address") for a in ipr.addr("dump", index=index)
            if a["family"] == AF_INET and a["index"] == index and a["prefixlen"] == 32
            and a.get("label") == VIP_LABEL}
    for address in have - vips:
        ipr.addr("del", index=index, address=address, prefixlen=32)
    for address in sorted(vips - have):
        ipr.addr("add", index=index, address=address, prefixlen=32, label=VIP_LABEL)


def bridge_names(ipr: IPRoute) -> list[str]:
    """Our overlay bridges in this namespace."""
    return [name for link in ipr.link("dump")
            if (name := link.get("ifname") or "").startswith(BRIDGE_PREFIX)]


def hairpin_ports(ipr: IPRoute) -> None:
    links = ipr.link("dump")
    bridges = {link["index"] for link in links
               if (link.get("ifname") or "").startswith(BRIDGE_PREFIX)}
    for link in links:
        if link.get("master") in bridges and (link.get("ifname") or "").startswith(
                HOST_VETH_PREFIX):
            ipr.brport("set", index=link["index"], mode=1)


def remove_vips(ipr: IPRoute) -> None:
    ensure_vips(ipr, set())
