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
    spec.setdefault("EndpointSpec", {"Mode": "vip"})
    spec.setdefault("Labels", {})
    return spec


def _check_constraints(constraints: list[str]) -> None:
    from swarmlet.errors import SwarmletError
    from swarmlet.manager.scheduler import parse_constraints

    try:
        parse_constraints(constraints)
    except SwarmletError as exc:
        raise ApiError(400, str(exc)) from exc
