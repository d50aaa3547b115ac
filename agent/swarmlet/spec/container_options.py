"""The rules of a ContainerSpec's process and sandbox settings (DNS, extra hosts,
capabilities, ulimits), with the words of Docker's CLI and daemon: checked when the spec is
stored, so that a task never fails at its container's create for a value the API took.
Capabilities are stored as Docker's daemon reads them (CAP_ prefix, upper case)."""

from __future__ import annotations

import ipaddress
from typing import Any

from swarmlet.spec.errors import SpecError

WHERE = "TaskTemplate.ContainerSpec"
# go-units' ulimit names (the ones Docker accepts)
ULIMITS = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
           "nproc", "rss", "rtprio", "rttime", "sigpending", "stack")


def check_container_options(container: dict[str, Any]) -> None:
    """Check (and normalise, in place) the settings of a ContainerSpec."""
    dns = container.get("DNSConfig") or {}
    for i, server in enumerate(dns.get("Nameservers") or []):
        if not _is_ip(server):
            raise SpecError(f"{server} is not an ip address",
                            f"{WHERE}.DNSConfig.Nameservers[{i}]")
    for i, entry in enumerate(container.get("Hosts") or []):
        fields = entry.split()
        if len(fields) < 2 or not _is_ip(fields[0]):
            raise SpecError(f"invalid host entry {entry!r}: want \"IP hostname [alias...]\"",
                            f"{WHERE}.Hosts[{i}]")
    for key in ("CapabilityAdd", "CapabilityDrop"):
        if container.get(key):
            container[key] = [normalise_capability(c) for c in container[key]]
    for i, ulimit in enumerate(container.get("Ulimits") or []):
        where = f"{WHERE}.Ulimits[{i}]"
        if ulimit["Name"] not in ULIMITS:
            raise SpecError(f"invalid ulimit type: {ulimit['Name']}", f"{where}.Name")
        if ulimit["Soft"] > ulimit["Hard"]:
            raise SpecError(f"ulimit soft limit must be less than or equal to hard limit: "
                            f"{ulimit['Soft']} > {ulimit['Hard']}", f"{where}.Soft")
    names = [u["Name"] for u in container.get("Ulimits") or []]
    if len(set(names)) != len(names):
        raise SpecError("duplicate ulimit name", f"{WHERE}.Ulimits")


def normalise_capability(name: str) -> str:
    """Docker's NormalizeCapability: "net_admin" -> "CAP_NET_ADMIN"; ALL stays ALL."""
    upper = name.strip().upper()
    if upper == "ALL" or upper.startswith("CAP_"):
        return upper
    return "CAP_" + upper


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
