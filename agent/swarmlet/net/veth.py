"""A container's link on an overlay: a veth pair whose one end is a port of the network's
bridge in the agent's namespace, and whose other end waits in dockerd's namespace for dockerd
to move it into the container (the remote driver's Join hands over its name).

On the local machines the agent lives in the machine's network namespace while dockerd lives
in the root one (DESIGN.md §7), so the pair is made across namespaces; on a real host both
are the same and the pair is made in place.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from swarmlet.errors import SwarmletError
from swarmlet.net.names import bridge_name, host_veth, mac_of, peer_veth
from swarmlet.net.netlink import Netlink
from swarmlet.net.overlay import ENODEV, MTU
from swarmlet.net.pyroute import IPRoute, NetlinkError

log = logging.getLogger("swarmlet.net.veth")

DOCKERD_PIDFILE = Path("/var/run/docker.pid")
YOUNG = 60.0  # seconds during which a new pair may be unknown to dockerd's network listing


def dockerd_pid() -> int:
    """dockerd's PID from its pidfile; PID 1 (the root namespace) when there is none."""
    try:
        pid = int(DOCKERD_PIDFILE.read_text().strip())
    except (OSError, ValueError):
        return 1
    return pid if Path(f"/proc/{pid}/ns/net").exists() else 1


def same_netns(pid: int) -> bool:
    mine, theirs = os.stat("/proc/self/ns/net"), os.stat(f"/proc/{pid}/ns/net")
    return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)


class EndpointLinks:
    def __init__(self, netlink: Netlink) -> None:
        self.netlink = netlink
        self._made: dict[str, float] = {}  # our end's name → when this process made it
        self._lock = threading.Lock()

    def young(self, name: str) -> bool:
        """Made by this process moments ago (dockerd may not list its endpoint yet)."""
        with self._lock:
            made = self._made.get(name)
            self._made = {k: v for k, v in self._made.items()
                          if time.monotonic() - v < YOUNG}
        return made is not None and time.monotonic() - made < YOUNG

    def create(self, endpoint_id: str, vni: int, address: str) -> str:
        """Make the pair for an endpoint; return the name of the end dockerd takes."""
        pid = dockerd_pid()
        local = same_netns(pid)
        host, peer = host_veth(endpoint_id), peer_veth(endpoint_id)

        def work(ipr: IPRoute) -> None:
            found = ipr.link_lookup(ifname=bridge_name(vni))
            if not found:
                raise SwarmletError(f"overlay {vni} is not set up on this node")
            stale = ipr.link_lookup(ifname=host)
            if stale:  # a Join that failed halfway and is retried
                ipr.link("del", index=stale[0])
            # The container's end carries its final MAC and MTU from the start: dockerd only
            # moves it, renames it and puts the address on it.
            peer_spec: dict[str, object] = {"ifname": peer, "address": mac_of(address),
                                            "mtu": MTU}
            if not local:
                peer_spec["net_ns_pid"] = pid
            ipr.link("add", ifname=host, kind="veth", mtu=MTU, peer=peer_spec)
            index = ipr.link_lookup(ifname=host)[0]
            ipr.link("set", index=index, master=found[0], state="up")

        self.netlink.call(work)
        with self._lock:
            self._made[host] = time.monotonic()
        return peer

    def delete(self, endpoint_id: str) -> bool:
        """Remove an endpoint's pair (deleting our end takes the other with it, wherever it
        is). False if there was none: the container's namespace took it already."""
        host = host_veth(endpoint_id)

        def work(ipr: IPRoute) -> bool:
            found = ipr.link_lookup(ifname=host)
            if not found:
                return False
            try:
                ipr.link("del", index=found[0])
            except NetlinkError as exc:
                if exc.code != ENODEV:
                    raise
                return False
            return True

        return self.netlink.call(work)
