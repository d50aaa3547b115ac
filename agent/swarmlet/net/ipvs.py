"""Applying the IPVS load balancer (net/ipvs_plan.py) in the agent's network namespace, with
the interface of net/nft.py's LoadBalancer (chosen by net/lb_backend.py).

Each sync: the VIPs held as net/nft.py holds them; one `nft -f -` transaction, run when its
text changes (ipvs_plan.tables(): net/lb.py's tables without DNAT for IPVS's balancers, and
the marking table); and the IPVS services read through pyroute2 and brought to the desired
state by their differences only: adding a backend leaves the others' connections be.

This kernel has no IPVS (/proc/net/ip_vs): only the pure parts and the netlink messages are
tested here (tests/unit/test_net_ipvs.py); tests/integration/test_ipvs.py runs where it can.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from socket import AF_INET
from typing import Any

from swarmlet.net import ipvs_plan, lb, nft
from swarmlet.net.ipvs_plan import Op, Real, Virtual
from swarmlet.net.netlink import Netlink
from swarmlet.net.pyroute import IPVS, IPVSDest, IPVSService

log = logging.getLogger("swarmlet.net.lb")

SYSCTLS = Path("/proc/sys/net/ipv4/vs")
# As Docker sets them in its load-balancer sandboxes:
IPVS_SYSCTLS = {
    "conntrack": "1",  # keep conntrack for IPVS connections: the masquerade needs it
    "conn_reuse_mode": "0",  # with conntrack, 1 drops a reused port's first SYN (1 s stall)
    "expire_nodest_conn": "1",  # a removed backend's connections end at their next packet
    "expire_quiescent_template": "1",
}
RECHECK_PERIOD = 60.0  # seconds: the kernel's services are re-read (drift) at least this often


class IPVSLoadBalancer(nft.LoadBalancer):
    TABLES = (*nft.LoadBalancer.TABLES, f"table ip {ipvs_plan.TABLE}")

    def __init__(self, netlink: Netlink, nft_cmd: str = "nft",
                 ipvs: Callable[[], Any] = IPVS, sysctls: Path = SYSCTLS) -> None:
        super().__init__(netlink, nft_cmd)
        self._ipvs = ipvs  # opens an IPVS generic netlink socket (a fake in the tests)
        self._sysctls = sysctls
        self._services: dict[int, Virtual] | None = None  # last state made; None: read first
        self._checked = 0.0
        self.last_ops: list[Op] = []

    def sync(self, services: list[dict[str, Any]], networks: dict[str, str],
             ingress_id: str | None, host_ports: Sequence[dict[str, Any]] = ()) -> bool:
        """Make the tables, IPVS services and VIPs match; True if anything was changed."""
        if networks:
            nft.forwarding_on()
            _set_sysctls(self._sysctls)
        balancers, vips = lb.plan(services, networks, ingress_id, host_ports)
        marked = ipvs_plan.assign(balancers)
        self.netlink.call(lambda ipr: nft.ensure_vips(ipr, vips))
        self.hairpin()
        started = time.monotonic()
        # IPVS first: a mark with no service yet would reach the local stack (refused)
        self.last_ops = self._sync_ipvs(ipvs_plan.desired(marked))
        rewritten = self._apply(ipvs_plan.tables(balancers, vips,
                                                 self.netlink.call(nft.bridge_names)))
        if self.last_ops or rewritten:
            self.last_apply_ms = (time.monotonic() - started) * 1000
        if self.last_ops:
            log.info("IPVS: %d changes (%.1f ms)", len(self.last_ops), self.last_apply_ms)
        self._forget_left({ip for b in balancers for ip in b.backends})
        return rewritten or bool(self.last_ops)

    def remove(self) -> None:
        """`swarm leave`: no table, IPVS service (of our fwmark range) or VIP of ours is left."""
        self._run(lb.removal() + ipvs_plan.removal())
        self._applied = lb.removal() + ipvs_plan.removal()
        self._removed = True
        self.last_ops = self.netlink.call(lambda _ipr: reconcile(self._ipvs, {}))
        self._services = {}
        self.netlink.call(nft.remove_vips)

    def _sync_ipvs(self, want: dict[int, Virtual]) -> list[Op]:
        """Read and diff only when the desired state changed, or now and then for drift."""
        now = time.monotonic()
        if want == self._services and now - self._checked < RECHECK_PERIOD:
            return []
        self._services = None  # a failure half-way: read again next time
        # On the netlink thread: pyroute2 sockets belong to the thread that made them.
        ops = self.netlink.call(lambda _ipr: reconcile(self._ipvs, want))
        self._services, self._checked = want, now
        return ops


def reconcile(open_ipvs: Callable[[], Any], want: dict[int, Virtual]) -> list[Op]:
    """One socket for one pass (opened and closed on the calling thread)."""
    sock = open_ipvs()
    try:
        ops = ipvs_plan.diff(read(sock), want)
        apply(sock, ops)
        return ops
    finally:
        sock.close()


def read(sock: Any) -> dict[int, Virtual]:
    """The kernel's IPv4 fwmark services in our range, with their real servers."""
    out: dict[int, Virtual] = {}
    for msg in sock.service("dump"):
        attrs = msg.get("IPVS_CMD_ATTR_SERVICE")
        mark = attrs.get("IPVS_SVC_ATTR_FWMARK")
        if attrs.get("IPVS_SVC_ATTR_AF") != AF_INET or not ipvs_plan.ours(mark):
            continue
        reals = []
        for d in sock.dest("dump", service=service_key(mark)):
            dest = d.get("IPVS_CMD_ATTR_DEST")
            reals.append(Real(dest.get("IPVS_DEST_ATTR_ADDR"), dest.get("IPVS_DEST_ATTR_PORT"),
                              dest.get("IPVS_DEST_ATTR_WEIGHT"),
                              dest.get("IPVS_DEST_ATTR_FWD_METHOD") & 0x7))
        out[mark] = Virtual(mark, tuple(sorted(reals)),
                            attrs.get("IPVS_SVC_ATTR_SCHED_NAME"))
    return out


def apply(sock: Any, ops: list[Op]) -> None:
    for op in ops:
        verb, kind = op.verb.split("-")
        if kind == "service":
            sock.service(verb, service=service(op.fwmark, op.scheduler))
        else:
            assert op.real is not None
            sock.dest(verb, service=service_key(op.fwmark), dest=dest(op.real))


def service(fwmark: int, scheduler: str) -> IPVSService:
    """A full fwmark service: the kernel wants scheduler, flags, timeout and netmask with the
    key (af, fwmark) to add or set one (pyroute2 fills netmask only for an address service)."""
    return IPVSService(af=AF_INET, fwmark=fwmark, sched_name=scheduler,
                       netmask="255.255.255.255")


def service_key(fwmark: int) -> IPVSService:
    return IPVSService(af=AF_INET, fwmark=fwmark)


def dest(real: Real) -> IPVSDest:
    # fwd_method explicitly: pyroute2's default is 3 (direct routing), not masquerading
    return IPVSDest(addr=real.addr, port=real.port, weight=real.weight, fwd_method=real.forward)


def _set_sysctls(base: Path) -> None:
    for name, value in IPVS_SYSCTLS.items():
        path = base / name
        try:
            if path.read_text().strip() != value:
                path.write_text(value + "\n")
        except OSError as exc:
            log.warning("IPVS setting %s not set: %s", name, exc)
