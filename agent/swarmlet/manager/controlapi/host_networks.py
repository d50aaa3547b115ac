"""What an automatically chosen overlay subnet must not overlap on this host: its routes (in
the namespace the manager runs in) and its DNS resolvers. An overlay subnet that covers the
resolver (here 10.255.255.53) would send containers' DNS into the overlay.

Only the manager that picks a subnet looks, at the moment it picks one (`network create`,
`swarm init`): the other hosts' routes are not known to it, as in Docker.
"""

from __future__ import annotations

import json
import logging
import subprocess
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from swarmlet.net.dns_forward import nameservers

log = logging.getLogger("swarmlet.ipam")

RESOLV_CONF = Path("/etc/resolv.conf")


def parse_routes(ip_json: str) -> list[IPv4Network]:
    """The destinations of `ip -j -4 route show table main`, the default route left out (it
    overlaps everything)."""
    try:
        routes = json.loads(ip_json or "[]")
    except ValueError:
        return []
    found = []
    for route in routes:
        dst = route.get("dst", "")
        if dst in ("", "default"):
            continue
        try:
            found.append(IPv4Network(dst, strict=False))
        except ValueError:
            continue
    return found


def parse_resolvers(text: str) -> list[IPv4Network]:
    """IPv4 `nameserver` lines of a resolv.conf, as /32s."""
    # IPv6 resolvers cannot overlap an IPv4 pool
    return [IPv4Network(ip) for ip in nameservers(text) if isinstance(ip, IPv4Address)]


def host_networks() -> list[IPv4Network]:
    """This host's routes and resolvers; what cannot be read is reported and left out."""
    found: list[IPv4Network] = []
    try:
        out = subprocess.run(["ip", "-j", "-4", "route", "show", "table", "main"],
                             capture_output=True, text=True, timeout=5, check=False).stdout
        found += parse_routes(out)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("cannot read the host's routes: %s", exc)
    try:
        found += parse_resolvers(RESOLV_CONF.read_text())
    except OSError as exc:
        log.warning("cannot read %s: %s", RESOLV_CONF, exc)
    return found
