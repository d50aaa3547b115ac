"""Service specs: Docker's validation rules and messages, and the defaults Docker fills in."""

from __future__ import annotations

import re
import secrets
from typing import Any

from swarmlet.api.router import ApiError
from swarmlet.store.objects import clone

SECOND = 10**9
_NAME = re.compile(r"^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$")

DEFAULT_RESTART = {"Condition": "any", "Delay": 5 * SECOND, "MaxAttempts": 0, "Window": 0}
DEFAULT_UPDATE = {"Parallelism": 1, "Delay": 0, "FailureAction": "pause",
                  "Monitor": 5 * SECOND, "MaxFailureRatio": 0, "Order": "stop-first"}
RESTART_CONDITIONS = ("any", "on-failure", "none")
PROTOCOLS = ("tcp", "udp", "sctp")
PUBLISH_MODES = ("ingress", "host")

# For names Docker would pick (docker's namesgenerator), when the user gives none.
_LEFT = ("admiring", "brave", "clever", "eager", "focused", "gallant", "happy", "jolly",
         "keen", "lucid", "modest", "nifty", "quirky", "serene", "trusting", "vibrant")
_RIGHT = ("babbage", "curie", "darwin", "euclid", "fermi", "galileo", "hopper", "kepler",
          "lovelace", "meitner", "newton", "pascal", "ritchie", "shannon", "turing", "wozniak")


def random_name() -> str:
    return f"{secrets.choice(_LEFT)}_{secrets.choice(_RIGHT)}"


def mode_of(spec: dict[str, Any]) -> str:
    return "global" if "Global" in spec.get("Mode", {}) else "replicated"


def replicas_of(spec: dict[str, Any]) -> int:
    return int(spec.get("Mode", {}).get("Replicated", {}).get("Replicas", 1))


def normalise_spec(spec: Any, old: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check a ServiceSpec as SwarmKit's controlapi does and fill in Docker's defaults.
    `old` is the current spec on update (for the rename and mode-change rules)."""
    if not isinstance(spec, dict):
        raise ApiError(400, "service spec must be a JSON object")
    spec = clone(spec)
    name = spec.get("Name") or (old["Name"] if old else random_name())
    spec["Name"] = name
    if len(name) > 63:
        raise ApiError(400, "name must be 63 characters or fewer")
    if not _NAME.match(name):
        raise ApiError(400, "name must be valid as a DNS name component")
    if old is not None and name != old["Name"]:
        raise ApiError(400, "renaming services is not supported")

    template = spec.setdefault("TaskTemplate", {})
    container = template.setdefault("ContainerSpec", {})
    if not container.get("Image"):
        raise ApiError(400, "ContainerSpec: image reference must be provided")
    template["RestartPolicy"] = {**DEFAULT_RESTART, **(template.get("RestartPolicy") or {})}
    restart = template["RestartPolicy"]
    if restart["Condition"] not in RESTART_CONDITIONS:
        raise ApiError(400, f'invalid restart condition "{restart["Condition"]}": expected '
                            "any, on-failure or none")
    if restart["Delay"] < 0:
        raise ApiError(400, "TaskSpec: restart-delay cannot be negative")
    if restart["Window"] < 0:
        raise ApiError(400, "TaskSpec: restart-window cannot be negative")
    if restart["MaxAttempts"] < 0:
        raise ApiError(400, "TaskSpec: restart-max-attempts cannot be negative")
    template.setdefault("Resources", {})
    placement = template.setdefault("Placement", {})
    _check_constraints(placement.get("Constraints") or [])
    template.setdefault("ForceUpdate", 0)

    mode = spec.get("Mode") or {"Replicated": {"Replicas": 1}}
    if len(mode) != 1 or next(iter(mode)) not in ("Replicated", "Global"):
        raise ApiError(400, "Mode must be one of Replicated or Global")
    if "Replicated" in mode:
        replicas = (mode["Replicated"] or {}).get("Replicas", 1)
        if not isinstance(replicas, int) or replicas < 0:
            raise ApiError(400, "Replicas must be a non-negative number")
        mode = {"Replicated": {"Replicas": replicas}}
    spec["Mode"] = mode
    if old is not None and mode_of(spec) != mode_of(old):
        raise ApiError(400, "service mode change is not allowed")

    spec["UpdateConfig"] = {**DEFAULT_UPDATE, **(spec.get("UpdateConfig") or {})}
    spec["RollbackConfig"] = {**DEFAULT_UPDATE, **(spec.get("RollbackConfig") or {})}
    spec["EndpointSpec"] = _endpoint_spec(spec.get("EndpointSpec"))
    template["Networks"] = _network_refs(template.get("Networks"))
    if not template["Networks"]:
        del template["Networks"]
    spec.setdefault("Labels", {})
    return spec


def _endpoint_spec(endpoint: Any) -> dict[str, Any]:
    """SwarmKit's validateEndpointSpec (and the daemon's conversion checks), with Docker's
    defaults filled in: mode vip, ports tcp in ingress mode."""
    if endpoint is None:
        return {"Mode": "vip"}
    if not isinstance(endpoint, dict):
        raise ApiError(400, "EndpointSpec must be a JSON object")
    endpoint = {**endpoint, "Mode": endpoint.get("Mode") or "vip"}
    if endpoint["Mode"] not in ("vip", "dnsrr"):
        raise ApiError(400, f'invalid resolution mode: "{endpoint["Mode"]}"')
    ports, seen = [], set()
    for raw in endpoint.get("Ports") or []:
        port = _port_config(raw)
        if endpoint["Mode"] == "dnsrr" and port["PublishMode"] == "ingress":
            raise ApiError(400, "EndpointSpec: port published with ingress mode can't be "
                                "used with dnsrr mode")
        key = (port.get("PublishedPort", 0), port["Protocol"])
        if key[0] and key in seen:
            raise ApiError(400, "EndpointSpec: duplicate published ports provided")
        seen.add(key)
        ports.append(port)
    if ports:
        endpoint["Ports"] = ports
    else:
        endpoint.pop("Ports", None)
    return endpoint


def _port_config(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ApiError(400, "EndpointSpec: a port must be a JSON object")
    port = {**raw, "Protocol": raw.get("Protocol") or "tcp",
            "PublishMode": raw.get("PublishMode") or "ingress"}
    if port["Protocol"] not in PROTOCOLS:
        raise ApiError(400, f'invalid protocol: "{port["Protocol"]}"')
    if port["PublishMode"] not in PUBLISH_MODES:
        raise ApiError(400, f'invalid publish mode: "{port["PublishMode"]}"')
    for key, low in (("TargetPort", 1), ("PublishedPort", 0)):
        value = port.get(key, 0 if low == 0 else None)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= 65535:
            raise ApiError(400, f"EndpointSpec: invalid {key} {value!r}")
    return port


def _network_refs(networks: Any) -> list[dict[str, Any]]:
    """TaskTemplate.Networks: [{"Target": network ID or name, "Aliases": [...]}]."""
    if networks is None:
        return []
    if not isinstance(networks, list):
        raise ApiError(400, "TaskTemplate.Networks must be a list")
    refs = []
    for ref in networks:
        if not isinstance(ref, dict) or not isinstance(ref.get("Target"), str) or \
                not ref["Target"]:
            raise ApiError(400, "TaskTemplate.Networks: each needs a Target (network ID or "
                                "name)")
        aliases = ref.get("Aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise ApiError(400, "TaskTemplate.Networks: Aliases must be a list of strings")
        refs.append({**ref, "Aliases": aliases})
    return refs


def _check_constraints(constraints: list[str]) -> None:
    from swarmlet.errors import SwarmletError
    from swarmlet.manager.scheduler import parse_constraints

    try:
        parse_constraints(constraints)
    except SwarmletError as exc:
        raise ApiError(400, str(exc)) from exc
