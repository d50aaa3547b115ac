"""Which load balancer a node runs (DESIGN.md §4): IPVS where the kernel has it, nftables
otherwise, both behind one interface (sync, hairpin, remove, last_apply_ms).

/proc/net/ip_vs exists once the ip_vs module is loaded, and /proc/net is the reader's network
namespace, so this looks at the agent's own. SWARMLET_LB_BACKEND=nftables|ipvs|auto overrides
the choice; asking for ipvs on a kernel without it is an error, not a silent fallback.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from swarmlet.errors import SwarmletError
from swarmlet.net.ipvs import IPVSLoadBalancer
from swarmlet.net.netlink import Netlink
from swarmlet.net.nft import LoadBalancer

log = logging.getLogger("swarmlet.net.lb")

ENV = "SWARMLET_LB_BACKEND"
PROC_IP_VS = Path("/proc/net/ip_vs")
BACKENDS = ("auto", "nftables", "ipvs")


def choose(requested: str | None = None, proc: Path = PROC_IP_VS) -> str:
    """"ipvs" or "nftables". `requested` None: the environment's, else auto."""
    if requested is None:
        requested = os.environ.get(ENV, "")
    requested = requested.strip().lower() or "auto"
    if requested not in BACKENDS:
        raise SwarmletError(f"{ENV}={requested}: the load balancer backend is one of "
                            + ", ".join(BACKENDS))
    have = proc.exists()
    if requested == "ipvs" and not have:
        raise SwarmletError(f"{ENV}=ipvs, but this kernel has no IPVS ({proc} missing: "
                            "is the ip_vs module loaded?)")
    if requested == "auto":
        return "ipvs" if have else "nftables"
    return requested


def load_balancer(netlink: Netlink, requested: str | None = None,
                  proc: Path = PROC_IP_VS) -> LoadBalancer:
    backend = choose(requested, proc)
    log.info("load balancer backend: %s", backend)
    return IPVSLoadBalancer(netlink) if backend == "ipvs" else LoadBalancer(netlink)
