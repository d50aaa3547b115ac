"""The swarm's spec and nodes' specs: checked bodies merged onto the current spec.

An accepted /swarm/update must leave managers that start again: a section given replaces
only the keys it names (`"Dispatcher": {}` or `null` keeps the heartbeat), and the result is
checked as a whole before it is written.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from swarmlet.spec.errors import SpecError
from swarmlet.spec.swarm_models import NodeSpec, SwarmSpec
from swarmlet.spec.validate import checked

DEFAULT_ADDR_POOL = ["10.0.0.0/8"]
DEFAULT_SUBNET_SIZE = 24
MAX_SUBNET_SIZE = 29  # Docker's: 8 addresses, the smallest overlay it makes
VXLAN_PORT = 4789
# The external root CA's fields: used at init, never stored (the CA lives apart)
SIGNING_FIELDS = ("SigningCACert", "SigningCAKey")

SECTIONS = ("Orchestration", "Raft", "Dispatcher", "CAConfig", "EncryptionConfig",
            "TaskDefaults")


def merged_swarm_spec(current: dict[str, Any], body: Any) -> dict[str, Any]:
    """The swarm spec after an update with `body` (a SwarmSpec, fields left out kept)."""
    given = checked(SwarmSpec, body, "swarm spec", required=False)
    spec = {**current}
    for key, value in given.items():
        if key in SECTIONS:
            spec[key] = {**(current.get(key) or {}), **value}
        else:
            spec[key] = value
    spec = checked(SwarmSpec, spec, "swarm spec")
    for field in SIGNING_FIELDS:
        spec.get("CAConfig", {}).pop(field, None)
    return spec


def signing_ca(body: Any) -> tuple[str, str] | None:
    """The external root CA (certificate, key) a SwarmSpec body gives, or None; a
    certificate without its key (Docker's external-CA mode) is refused."""
    config = ((body or {}).get("CAConfig") or {}) if isinstance(body, dict) else {}
    cert, key = config.get("SigningCACert"), config.get("SigningCAKey")
    if not cert and not key:
        return None
    if not cert or not key:
        raise SpecError("the signing CA certificate and its key must be given together "
                        "(swarmlet has no external CA that signs without the key)",
                        "CAConfig.SigningCAKey" if cert else "CAConfig.SigningCACert")
    return cert, key


def address_pools(pools: list[str] | None, size: int | None) -> tuple[list[str], int]:
    """The swarm's default address pools and subnet size for new overlay networks, checked
    as Docker's validateDefaultAddrPool checks them (none given: 10.0.0.0/8 in /24s)."""
    size = size or DEFAULT_SUBNET_SIZE
    if size > MAX_SUBNET_SIZE:
        raise SpecError(f"subnet size is out of range: {size}", "SubnetSize")
    if not pools:
        return list(DEFAULT_ADDR_POOL), size
    checked_pools = []
    for i, text in enumerate(pools):
        text = text.strip()
        try:
            pool = ipaddress.IPv4Network(text, strict=False)
        except ValueError:
            raise SpecError(f"invalid base pool {text!r}: want an IPv4 CIDR such as "
                            "10.20.0.0/16", f"DefaultAddrPool[{i}]") from None
        if size < pool.prefixlen:
            raise SpecError(f'invalid CIDR: "{text}". Subnet size is too small for pool: '
                            f"{size}", "SubnetSize")
        checked_pools.append(str(pool))
    return checked_pools, size


def data_path_port(port: int | None) -> int:
    """The UDP port of the swarm's VXLAN traffic (Docker's --data-path-port; 0 or unset:
    4789), checked as Docker's validateDataPathPort checks it."""
    if not port:
        return VXLAN_PORT
    if not 1024 <= port <= 49151:
        raise SpecError(f"Datapath port number is not in valid range (1024-49151) : {port}",
                        "DataPathPort")
    return port


def merged_node_spec(current: dict[str, Any], body: Any) -> dict[str, Any]:
    """A node's spec after an update with `body` (a NodeSpec, fields left out kept)."""
    given = checked(NodeSpec, body, "node spec", required=False)
    return {**current, **given, "Labels": given.get("Labels", current.get("Labels") or {})}
