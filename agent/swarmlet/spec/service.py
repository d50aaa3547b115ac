"""Service specs: the one place their defaults, normalisation and Docker's rules live.

`normalise_service_spec` takes a body as the API receives it (checked against the typed
model first) and returns the spec as it is stored: Docker's defaults filled in, SwarmKit's
rules applied with Docker's messages. The CLI and the Ansible modules send partial specs and
ask the agent for a plan (?dry_run=1) rather than re-deriving any of this.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from swarmlet.errors import SwarmletError
from swarmlet.spec.constraints import parse_constraints
from swarmlet.spec.container_options import check_container_options
from swarmlet.spec.errors import SpecError
from swarmlet.spec.limits import MAX_REPLICAS
from swarmlet.spec.service_models import ServiceSpec
from swarmlet.spec.validate import checked

SECOND = 10**9
_NAME = re.compile(r"^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$")

DEFAULT_RESTART = {"Condition": "any", "Delay": 5 * SECOND, "MaxAttempts": 0, "Window": 0}
DEFAULT_UPDATE = {"Parallelism": 1, "Delay": 0, "FailureAction": "pause",
                  "Monitor": 5 * SECOND, "MaxFailureRatio": 0, "Order": "stop-first"}
MODES = ("Replicated", "Global", "ReplicatedJob", "GlobalJob")
# Mode key -> the word mode_of gives (Docker's --mode values).
MODE_NAMES = {"Replicated": "replicated", "Global": "global",
              "ReplicatedJob": "replicated-job", "GlobalJob": "global-job"}
JOB_MODES = ("replicated-job", "global-job")

# For names Docker would pick (docker's namesgenerator), when the user gives none.
_LEFT = ("admiring", "brave", "clever", "eager", "focused", "gallant", "happy", "jolly",
         "keen", "lucid", "modest", "nifty", "quirky", "serene", "trusting", "vibrant")
_RIGHT = ("babbage", "curie", "darwin", "euclid", "fermi", "galileo", "hopper", "kepler",
          "lovelace", "meitner", "newton", "pascal", "ritchie", "shannon", "turing", "wozniak")


def random_name() -> str:
    return f"{secrets.choice(_LEFT)}_{secrets.choice(_RIGHT)}"


def mode_of(spec: dict[str, Any]) -> str:
    """replicated, global, replicated-job or global-job (no Mode: replicated, Docker's
    default)."""
    mode = spec.get("Mode") or {}
    return next((word for key, word in MODE_NAMES.items() if key in mode), "replicated")


def is_job(spec: dict[str, Any]) -> bool:
    """Whether the service's tasks run to completion (a job) rather than on and on."""
    return mode_of(spec) in JOB_MODES


def job_counts(spec: dict[str, Any]) -> tuple[int, int]:
    """(MaxConcurrent, TotalCompletions) of a replicated job; a malformed stored value
    raises ValueError, as replicas_of does."""
    job = (spec.get("Mode") or {}).get("ReplicatedJob") or {}
    counts = job.get("MaxConcurrent", 1), job.get("TotalCompletions", 1)
    for key, value in zip(("MaxConcurrent", "TotalCompletions"), counts, strict=True):
        if not isinstance(value, int) or isinstance(value, bool) or \
                not 0 <= value <= MAX_REPLICAS:
            raise ValueError(f"invalid Mode.ReplicatedJob.{key} {value!r}")
    return counts


def replicas_of(spec: dict[str, Any]) -> int:
    """The wanted replica count of a replicated service; a malformed stored value (an older
    version could have written one) raises ValueError for the caller to keep to this one
    service."""
    value = ((spec.get("Mode") or {}).get("Replicated") or {}).get("Replicas", 1)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_REPLICAS:
        raise ValueError(f"invalid Mode.Replicated.Replicas {value!r}")
    return value


def normalise_spec(spec: Any, old: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check a ServiceSpec as SwarmKit's controlapi does and fill in Docker's defaults.
    `old` is the current spec on update (for the rename and mode-change rules)."""
    spec = checked(ServiceSpec, spec, "service spec")
    name = spec.get("Name") or (old["Name"] if old else random_name())
    spec["Name"] = name
    if len(name) > 63:
        raise SpecError("name must be 63 characters or fewer", "Name")
    if not _NAME.match(name):
        raise SpecError("name must be valid as a DNS name component", "Name")
    if old is not None and name != old["Name"]:
        raise SpecError("renaming services is not supported", "Name")

    template = spec.setdefault("TaskTemplate", {})
    container = template.setdefault("ContainerSpec", {})
    if "HealthCheck" in container:  # Docker's spelling of the field
        container.setdefault("Healthcheck", container.pop("HealthCheck"))
    if not container.get("Image"):
        raise SpecError("ContainerSpec: image reference must be provided",
                        "TaskTemplate.ContainerSpec.Image")
    _check_mounts(container.get("Mounts") or [])
    check_container_options(container)
    template["RestartPolicy"] = {**DEFAULT_RESTART, **(template.get("RestartPolicy") or {})}
    template.setdefault("Resources", {})
    placement = template.setdefault("Placement", {})
    _check_constraints(placement.get("Constraints") or [])
    template.setdefault("ForceUpdate", 0)

    spec["Mode"] = _mode(spec.get("Mode"))
    if old is not None and mode_of(spec) != mode_of(old):
        raise SpecError("service mode change is not allowed", "Mode")
    if mode_of(spec) in ("global", "global-job") and placement.get("MaxReplicas"):
        raise SpecError("replicas-max-per-node can only be used with replicated or "
                        "replicated-job mode", "TaskTemplate.Placement.MaxReplicas")

    if is_job(spec):
        _check_job(spec)
    else:
        spec["UpdateConfig"] = {**DEFAULT_UPDATE, **(spec.get("UpdateConfig") or {})}
        spec["RollbackConfig"] = {**DEFAULT_UPDATE, **(spec.get("RollbackConfig") or {})}
        if spec["RollbackConfig"]["FailureAction"] == "rollback":
            raise SpecError("unrecognized rollback failure action rollback",
                            "RollbackConfig.FailureAction")
    spec["EndpointSpec"] = _endpoint_spec(spec.get("EndpointSpec"))
    networks = template.get("Networks") or []
    if networks:
        template["Networks"] = [{**n, "Aliases": n.get("Aliases") or []} for n in networks]
    else:
        template.pop("Networks", None)
    spec.setdefault("Labels", {})
    return spec


def _mode(mode: dict[str, Any] | None) -> dict[str, Any]:
    mode = mode or {"Replicated": {"Replicas": 1}}
    if len(mode) != 1:
        raise SpecError("Mode must be one of Replicated, Global, ReplicatedJob or GlobalJob",
                        "Mode")
    kind = next(iter(mode))
    if kind == "Replicated":
        return {"Replicated": {"Replicas": mode["Replicated"].get("Replicas", 1)}}
    if kind == "ReplicatedJob":
        # Docker's defaults: one task at a time, as many completions as may run at once.
        job = mode["ReplicatedJob"] or {}
        concurrent = job.get("MaxConcurrent")
        concurrent = 1 if concurrent is None else concurrent
        total = job.get("TotalCompletions")
        return {"ReplicatedJob": {"MaxConcurrent": concurrent,
                                  "TotalCompletions": concurrent if total is None else total}}
    return {kind: {}}


def _check_job(spec: dict[str, Any]) -> None:
    """SwarmKit's validateJob (a job's tasks are never rolled out, so it has no policy for
    it), in the words of Docker's CLI, which is where Docker users meet the rule."""
    for key in ("UpdateConfig", "RollbackConfig"):
        if spec.get(key):  # (an empty one says nothing)
            raise SpecError("update and rollback configuration is not supported for jobs",
                            key)
        spec.pop(key, None)


def _check_mounts(mounts: list[dict[str, Any]]) -> None:
    """Docker's mount rules, and the host's root never writable from a task."""
    targets: set[str] = set()
    for i, mount in enumerate(mounts):
        where = f"TaskTemplate.ContainerSpec.Mounts[{i}]"
        kind = mount.get("Type") or "volume"
        if mount["Target"] in targets:  # SwarmKit's validateMounts
            raise SpecError(f"ContainerSpec: duplicate mount point: {mount['Target']}",
                            f"{where}.Target")
        targets.add(mount["Target"])
        if mount["Target"] == "/" or not mount["Target"]:
            raise SpecError(f'invalid mount config for type "{kind}": invalid specification: '
                            "destination can't be '/'", f"{where}.Target")
        if kind == "bind":
            source = mount.get("Source") or ""
            if not source:
                raise SpecError('invalid mount config for type "bind": field Source must not '
                                "be empty", f"{where}.Source")
            if not source.startswith("/"):
                raise SpecError('invalid mount config for type "bind": invalid mount path: '
                                f"'{source}' mount path must be absolute", f"{where}.Source")
            if source.rstrip("/") == "" and not mount.get("ReadOnly"):
                raise SpecError('invalid mount config for type "bind": the host\'s / may only '
                                "be mounted read-only", f"{where}.Source")
        if kind == "tmpfs" and mount.get("Source"):
            raise SpecError('invalid mount config for type "tmpfs": field Source must not be '
                            "specified", f"{where}.Source")
        for key, allowed in (("BindOptions", "bind"), ("VolumeOptions", "volume"),
                             ("TmpfsOptions", "tmpfs")):
            if mount.get(key) and kind != allowed:
                raise SpecError(f'invalid mount config for type "{kind}": {key} must not be '
                                "specified", f"{where}.{key}")


def _endpoint_spec(endpoint: dict[str, Any] | None) -> dict[str, Any]:
    """SwarmKit's validateEndpointSpec (and the daemon's conversion checks), with Docker's
    defaults filled in: mode vip, ports tcp in ingress mode."""
    endpoint = {**(endpoint or {}), "Mode": (endpoint or {}).get("Mode") or "vip"}
    ports, seen = [], set()
    for raw in endpoint.get("Ports") or []:
        port = {**raw, "Protocol": raw.get("Protocol") or "tcp",
                "PublishMode": raw.get("PublishMode") or "ingress"}
        if endpoint["Mode"] == "dnsrr" and port["PublishMode"] == "ingress":
            raise SpecError("EndpointSpec: port published with ingress mode can't be used "
                            "with dnsrr mode", "EndpointSpec.Ports")
        key = (port.get("PublishedPort", 0), port["Protocol"])
        if key[0] and key in seen:
            raise SpecError("EndpointSpec: duplicate published ports provided",
                            "EndpointSpec.Ports")
        seen.add(key)
        ports.append(port)
    if ports:
        endpoint["Ports"] = ports
    else:
        endpoint.pop("Ports", None)
    return endpoint


def _check_constraints(constraints: list[str]) -> None:
    try:
        parse_constraints(constraints)
    except SwarmletError as exc:
        raise SpecError(str(exc), "TaskTemplate.Placement.Constraints") from None
