"""Networks between Docker's shapes and swarmlet's: a swarm network as Docker's
NetworkResource (moby's convert.BasicNetworkFromGRPC), a NetworkCreateRequest with driver
overlay as a NetworkSpec, and the filters of GET /networks (moby's network/filter.go).
Pure: no store, no dockerd."""

from __future__ import annotations

import re
from typing import Any

from swarmlet.api.engine.filters import Filters
from swarmlet.net.names import LABEL_NETWORK_ID, docker_network_name
from swarmlet.transport.errors import HttpError

Obj = dict[str, Any]
OVERLAY = "overlay"
FILTERS = ("dangling", "driver", "id", "label", "name", "scope", "type")
PREDEFINED = frozenset({"bridge", "host", "none", "default"})  # runconfig.IsPreDefinedNetwork
TRUE_WORDS, FALSE_WORDS = ("true", "1"), ("false", "0")


def resource(network: Obj) -> Obj:
    """Docker's NetworkResource of a swarm network (what `network inspect` prints)."""
    spec = network.get("Spec") or {}
    ipam = network.get("IPAM") or spec.get("IPAMOptions") or {}
    driver_state = network.get("DriverState") or {}
    return {
        "Name": spec.get("Name", ""),
        "Id": network["ID"],
        "Created": network.get("CreatedAt") or "0001-01-01T00:00:00Z",
        "Scope": "swarm",
        "Driver": driver_state.get("Name")
        or (spec.get("DriverConfiguration") or {}).get("Name") or OVERLAY,
        "EnableIPv6": bool(spec.get("IPv6Enabled")),
        "IPAM": {"Driver": (ipam.get("Driver") or {}).get("Name", "default"),
                 "Options": (ipam.get("Driver") or {}).get("Options"),
                 "Config": [{k: v for k, v in (("Subnet", c.get("Subnet")),
                                               ("IPRange", c.get("Range")),
                                               ("Gateway", c.get("Gateway"))) if v}
                            for c in ipam.get("Configs") or []]},
        "Internal": bool(spec.get("Internal")),
        "Attachable": bool(spec.get("Attachable")),
        "Ingress": bool(spec.get("Ingress")),
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": False,
        "Containers": {},
        "Options": dict(driver_state.get("Options") or {}),
        "Labels": dict(spec.get("Labels") or {}),
    }


def is_swarm_copy(docker_network: Obj) -> bool:
    """A Docker network the agent made for one of its overlays (net/dockernet.py): the swarm
    network itself is listed instead."""
    return LABEL_NETWORK_ID in (docker_network.get("Labels") or {})


def local_copy(docker_networks: list[Obj], ref: str, network_id: str | None,
               machine: str | None) -> Obj | None:
    """This node's Docker network for the swarm network `ref` (its swarm ID, name or ID
    prefix; `network_id` when a manager resolved it), among dockerd's networks of this
    node's driver: what `docker network connect NETWORK` means on a swarm node."""
    name = docker_network_name(machine, ref)
    for net in docker_networks:
        swarm_id = (net.get("Labels") or {}).get(LABEL_NETWORK_ID, "")
        if not swarm_id:
            continue
        if swarm_id == network_id or net.get("Name") == name or (
                network_id is None and len(ref) >= 6 and swarm_id.startswith(ref)):
            return net
    return None


def is_overlay_request(body: Obj) -> bool:
    return body.get("Driver") == OVERLAY


def _refuse(field: str, why: str) -> HttpError:
    return HttpError(400, f"{field}: not supported on swarmlet's overlay networks: {why}")


def network_spec(body: Obj) -> Obj:
    """A NetworkCreateRequest with Driver overlay as swarmlet's NetworkSpec; a 400 naming
    each field swarmlet cannot honour (never a network other than the one asked for)."""
    if body.get("Scope") not in (None, "", "swarm"):
        raise _refuse("Scope", f"{body['Scope']!r}: an overlay network is swarm-scoped")
    if body.get("EnableIPv6"):
        raise _refuse("EnableIPv6", "they are IPv4 only")
    if body.get("EnableIPv4") is False:
        raise _refuse("EnableIPv4", "they are IPv4 only")
    if body.get("Internal"):
        raise _refuse("Internal", "they always reach out through their nodes")
    if body.get("ConfigOnly") or (body.get("ConfigFrom") or {}).get("Network"):
        raise _refuse("ConfigOnly/ConfigFrom", "there are no configuration-only networks")
    ipam = body.get("IPAM") or {}
    if ipam.get("Driver") not in (None, "", "default"):
        raise _refuse("IPAM.Driver", "the managers allocate addresses (default)")
    if ipam.get("Options"):
        raise _refuse("IPAM.Options", "the default IPAM driver takes none")
    pools = []
    for pool in ipam.get("Config") or []:
        if pool.get("IPRange"):
            raise _refuse("IPAM.Config.IPRange", "addresses come from the whole subnet")
        if pool.get("AuxiliaryAddresses"):
            raise _refuse("IPAM.Config.AuxiliaryAddresses", "no addresses are reserved")
        pools.append({k: pool[k] for k in ("Subnet", "Gateway") if pool.get(k)})
    spec: Obj = {"Name": body["Name"], "Labels": dict(body.get("Labels") or {}),
                 "DriverConfiguration": {"Name": OVERLAY}}
    if body.get("Options"):
        spec["DriverConfiguration"]["Options"] = dict(body["Options"])
    for key in ("Attachable", "Ingress"):
        if body.get(key):
            spec[key] = True
    if pools:
        spec["IPAMOptions"] = {"Configs": pools}
    return spec


def _regex_match(pattern: str, text: str) -> bool:
    """Docker's filters.Match: equal, or the value as a regular expression found in it."""
    if pattern == text:
        return True
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


def check_values(filters: Filters) -> None:
    """The values Docker refuses (network/filter.go's validation), with its texts."""
    for value in filters.get("dangling"):
        if value.lower() not in TRUE_WORDS + FALSE_WORDS:
            raise HttpError(400, f"invalid filter 'dangling={value}'")
    for value in filters.get("type"):
        if value not in ("custom", "builtin"):
            raise HttpError(400, f"invalid filter: 'type'='{value}'")


def matches(filters: Filters, network: Obj, dangling: bool) -> bool:
    """Whether one network (a NetworkResource) passes Docker's network filters. `dangling`:
    no service or container uses it."""
    name, network_id = network.get("Name", ""), network.get("Id", "")
    if "name" in filters and not any(_regex_match(v, name) for v in filters.get("name")):
        return False
    if "id" in filters and not any(_regex_match(v, network_id) for v in filters.get("id")):
        return False
    if not filters.any_equal("driver", network.get("Driver", "")):
        return False
    if not filters.any_equal("scope", network.get("Scope", "")):
        return False
    if not filters.labels_match("label", network.get("Labels")):
        return False
    if "type" in filters:
        kind = "builtin" if name in PREDEFINED else "custom"
        if kind not in filters.get("type"):
            return False
    if "dangling" in filters:
        only = any(v.lower() in TRUE_WORDS for v in filters.get("dangling"))
        if (dangling and name not in PREDEFINED) != only:
            return False
    return True
