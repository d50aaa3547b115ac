"""From a task to the arguments of `docker create`, and back from a container to a state.

Containers are named `<service>.<slot>.<task id>` as Docker names them, carry the swarmlet
labels that tie them to their node, service and task, and have no restart policy of their
own: restarting is the orchestrator's job (as a new task).
"""

from __future__ import annotations

import os
from typing import Any

from docker.types import Healthcheck, Mount

from swarmlet.net.names import OPT_ADDRESS
from swarmlet.protocol.tasks import container_name, task_name

NODE_LABEL = "swarmlet.node.id"
SERVICE_LABEL = "swarmlet.service.id"
TASK_LABEL = "swarmlet.task.id"
MACHINE_LABEL = "swarmlet.machine"
SECOND = 10**9


def labels_for(task: dict[str, Any], node_id: str) -> dict[str, str]:
    spec = task["Spec"].get("ContainerSpec", {})
    labels = dict(spec.get("Labels") or {})
    labels.update({  # ours last: a user label cannot take them over
        NODE_LABEL: node_id,
        SERVICE_LABEL: task["ServiceID"],
        "swarmlet.service.name": task.get("ServiceAnnotations", {}).get("Name", ""),
        TASK_LABEL: task["ID"],
        "swarmlet.task.name": task_name(task),
    })
    machine = os.environ.get("SWARMLET_MACHINE")
    if machine:  # lets `swarmlet machine stop` cut these containers' power too
        labels[MACHINE_LABEL] = machine
    return labels


def _mount(spec: dict[str, Any]) -> Mount:
    tmpfs = spec.get("TmpfsOptions") or {}
    return Mount(target=spec["Target"], source=spec.get("Source") or "",
                 type=spec.get("Type", "volume"), read_only=bool(spec.get("ReadOnly")),
                 tmpfs_size=tmpfs.get("SizeBytes"), tmpfs_mode=tmpfs.get("Mode"))


def _healthcheck(spec: dict[str, Any] | None) -> Healthcheck | None:
    if not spec:
        return None
    return Healthcheck(test=spec.get("Test"), interval=spec.get("Interval") or None,
                       timeout=spec.get("Timeout") or None, retries=spec.get("Retries") or None,
                       start_period=spec.get("StartPeriod") or None)


def endpoint_config(address: str) -> dict[str, Any]:
    """The endpoint of a container on one of its overlays. The address goes as a driver
    option: the node's driver hands it to dockerd (Docker's own --ip needs an IPAM pool, and
    pools of one subnet cannot repeat in one dockerd, which the local machines share)."""
    return {"DriverOpts": {OPT_ADDRESS: address}}


def network_args(plan: list[tuple[str, str]]) -> dict[str, Any]:
    """Create-time networking for (Docker network, address) pairs: the first network is
    given at create (the container never sees Docker's default bridge), the others are
    connected before the start. No pairs: Docker's default bridge, as before overlays."""
    if not plan:
        return {}
    name, address = plan[0]
    return {"network": name, "networking_config": {name: endpoint_config(address)}}


def create_args(task: dict[str, Any], node_id: str,
                networks: list[tuple[str, str]] | None = None,
                dns: list[str] | None = None) -> dict[str, Any]:
    """`dns`: the node's resolver for a task on overlays (its address on the task's first
    network). dockerd still writes `nameserver 127.0.0.11` in the container's resolv.conf
    (its embedded resolver, on user-defined networks) and forwards every name it does not
    know itself to these servers, from the container's namespace: the node's resolver then
    sees the task's own address (docs/networking.md, DNS)."""
    spec = task["Spec"].get("ContainerSpec", {})
    limits = (task["Spec"].get("Resources") or {}).get("Limits") or {}
    args: dict[str, Any] = {
        "image": spec["Image"],
        "name": container_name(task),
        "labels": labels_for(task, node_id),
        "environment": list(spec.get("Env") or []),
        "mounts": [_mount(m) for m in spec.get("Mounts") or []],
        "restart_policy": {"Name": "no"},
        "detach": True,
        **network_args(networks or []),
    }
    if dns:
        args["dns"] = list(dns)
    if spec.get("Command"):
        args["entrypoint"] = spec["Command"]
    if spec.get("Args"):
        args["command"] = spec["Args"]
    for key, arg in (("Hostname", "hostname"), ("Dir", "working_dir"), ("User", "user"),
                     ("StopSignal", "stop_signal")):
        if spec.get(key):
            args[arg] = spec[key]
    healthcheck = _healthcheck(spec.get("Healthcheck"))
    if healthcheck is not None:
        args["healthcheck"] = healthcheck
    if limits.get("NanoCPUs"):
        args["nano_cpus"] = int(limits["NanoCPUs"])
    if limits.get("MemoryBytes"):
        args["mem_limit"] = int(limits["MemoryBytes"])
    return args


def stop_timeout(task: dict[str, Any]) -> int:
    grace = task["Spec"].get("ContainerSpec", {}).get("StopGracePeriod")
    return int((grace if grace is not None else 10 * SECOND) / SECOND)


def observed_state(attrs: dict[str, Any]) -> tuple[str, str, str]:
    """(task state, message, error) for a container, from `docker inspect`'s State."""
    state = attrs["State"]
    status = state.get("Status")
    if status in ("running", "paused", "restarting"):
        health = (state.get("Health") or {}).get("Status")
        if health == "starting":
            return "starting", "starting", ""
        if health == "unhealthy":
            return "failed", "unhealthy", "task: unhealthy container"
        return "running", "started", ""
    if status in ("exited", "dead"):
        code = state.get("ExitCode", 0)
        if code == 0 and not state.get("OOMKilled"):
            return "complete", "finished", ""
        err = state.get("Error") or f"task: non-zero exit ({code})"
        return "failed", "started", err
    return "preparing", "created", ""
