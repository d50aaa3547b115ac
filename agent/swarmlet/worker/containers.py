"""From a task to the body of Docker's container create, and back from a container to a
state.

Containers are named `<service>.<slot>.<task id>` as Docker names them, carry the swarmlet
labels that tie them to their node, service and task, and have no restart policy of their
own: restarting is the orchestrator's job (as a new task).
"""

from __future__ import annotations

import os
from typing import Any

from swarmlet.net.names import OPT_ADDRESS
from swarmlet.protocol.tasks import task_name

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


def mount(target: str, source: str, kind: str = "volume", read_only: bool = False,
          tmpfs: dict[str, Any] | None = None, volume: dict[str, Any] | None = None,
          bind: dict[str, Any] | None = None) -> dict[str, Any]:
    """A HostConfig.Mounts entry, as Docker's executor converts a task's mount
    (convertMount): a volume's driver, its options and labels go with it, so that dockerd
    creates and mounts the volume with that driver."""
    out: dict[str, Any] = {"Target": target, "Source": source, "Type": kind,
                           "ReadOnly": read_only}
    options = {k: v for k, v in (tmpfs or {}).items() if k in ("SizeBytes", "Mode") and v}
    if kind == "tmpfs" and options:
        out["TmpfsOptions"] = options
    if kind == "volume" and volume:
        out["VolumeOptions"] = _volume_options(volume)
    binding = {k: v for k, v in (bind or {}).items() if v is not None}
    if kind == "bind" and binding:
        out["BindOptions"] = binding
    return out


def _volume_options(volume: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if volume.get("NoCopy"):
        out["NoCopy"] = True
    if volume.get("Labels"):
        out["Labels"] = dict(volume["Labels"])
    if volume.get("Subpath"):
        out["Subpath"] = volume["Subpath"]
    driver = volume.get("DriverConfig")
    if driver is not None:
        out["DriverConfig"] = {"Name": driver.get("Name") or "",
                               "Options": dict(driver.get("Options") or {})}
    return out


def _mount(spec: dict[str, Any]) -> dict[str, Any]:
    return mount(spec["Target"], spec.get("Source") or "", spec.get("Type") or "volume",
                 bool(spec.get("ReadOnly")), spec.get("TmpfsOptions"),
                 spec.get("VolumeOptions"), spec.get("BindOptions"))


def volume_requests(task: dict[str, Any]) -> list[dict[str, Any]]:
    """The bodies of `POST /volumes/create` to send before the task's container is created:
    one per named volume mount with a driver config, as Docker's executor creates them
    (createVolumes), so a volume plugin's failure names the volume. An existing volume of
    the same driver is dockerd's to keep (create answers it as it is); anonymous volumes
    are made by the container create itself."""
    bodies = []
    for m in task["Spec"].get("ContainerSpec", {}).get("Mounts") or []:
        volume = m.get("VolumeOptions") or {}
        driver = volume.get("DriverConfig")
        if (m.get("Type") or "volume") != "volume" or not m.get("Source") or driver is None:
            continue
        bodies.append({"Name": m["Source"], "Driver": driver.get("Name") or "",
                       "DriverOpts": dict(driver.get("Options") or {}),
                       "Labels": dict(volume.get("Labels") or {})})
    return bodies


def _healthcheck(spec: dict[str, Any] | None) -> dict[str, Any] | None:
    if not spec:
        return None
    test = spec.get("Test")
    return {"Test": ["CMD-SHELL", test] if isinstance(test, str) else test,
            **{key: spec.get(key) or None
               for key in ("Interval", "Timeout", "Retries", "StartPeriod")}}


def endpoint_config(address: str) -> dict[str, Any]:
    """The endpoint of a container on one of its overlays. The address goes as a driver
    option: the node's driver hands it to dockerd (Docker's own --ip needs an IPAM pool, and
    pools of one subnet cannot repeat in one dockerd, which the local machines share)."""
    return {"DriverOpts": {OPT_ADDRESS: address}}


def create_body(task: dict[str, Any], node_id: str,
                networks: list[tuple[str, str]] | None = None,
                dns: list[str] | None = None) -> dict[str, Any]:
    """The body of `POST /containers/create` for a task (named container_name(task)).

    `networks`: (Docker network, address) pairs; the first is given at create (the
    container never sees Docker's default bridge), the others are connected before the
    start. None: Docker's default bridge, as before overlays.
    `dns`: the node's resolver for a task on overlays (its address on the task's first
    network). dockerd still writes `nameserver 127.0.0.11` in the container's resolv.conf
    (its embedded resolver, on user-defined networks) and forwards every name it does not
    know itself to these servers, from the container's namespace: the node's resolver then
    sees the task's own address (docs/networking.md, DNS)."""
    spec = task["Spec"].get("ContainerSpec", {})
    limits = (task["Spec"].get("Resources") or {}).get("Limits") or {}
    host: dict[str, Any] = {"Mounts": [_mount(m) for m in spec.get("Mounts") or []],
                            "RestartPolicy": {"Name": "no"}, "NetworkMode": "default"}
    body: dict[str, Any] = {"Image": spec["Image"], "Labels": labels_for(task, node_id),
                            "Env": list(spec.get("Env") or []), "HostConfig": host}
    if networks:
        name, address = networks[0]
        host["NetworkMode"] = name
        body["NetworkingConfig"] = {"EndpointsConfig": {name: endpoint_config(address)}}
    if dns:
        host["Dns"] = list(dns)
    for key, field in (("Command", "Entrypoint"), ("Args", "Cmd"), ("Hostname", "Hostname"),
                       ("Dir", "WorkingDir"), ("User", "User"), ("StopSignal", "StopSignal")):
        if spec.get(key):
            body[field] = spec[key]
    healthcheck = _healthcheck(spec.get("Healthcheck"))
    if healthcheck is not None:
        body["Healthcheck"] = healthcheck
    if limits.get("NanoCPUs"):
        host["NanoCpus"] = int(limits["NanoCPUs"])
    if limits.get("MemoryBytes"):
        host["Memory"] = int(limits["MemoryBytes"])
    apply_container_options(body, spec, task["Spec"].get("LogDriver"))
    return body


def apply_container_options(body: dict[str, Any], spec: dict[str, Any],
                            log_driver: dict[str, Any] | None) -> None:
    """The ContainerSpec's process and sandbox settings onto a container create body, as
    Docker's executor converts them (container.go: config, hostConfig): TTY, groups,
    init, a read-only root, sysctls, capabilities, ulimits, /etc/hosts entries, DNS
    settings and the task's log driver."""
    host = body["HostConfig"]
    if spec.get("TTY"):
        body["Tty"] = True
    if spec.get("OpenStdin"):
        body["OpenStdin"] = True
    for key, field in (("Groups", "GroupAdd"), ("CapabilityAdd", "CapAdd"),
                       ("CapabilityDrop", "CapDrop")):
        if spec.get(key):
            host[field] = list(spec[key])
    if spec.get("Init") is not None:
        host["Init"] = bool(spec["Init"])
    if spec.get("ReadOnly"):
        host["ReadonlyRootfs"] = True
    if spec.get("Sysctls"):
        host["Sysctls"] = dict(spec["Sysctls"])
    if spec.get("Ulimits"):
        host["Ulimits"] = [{"Name": u["Name"], "Soft": int(u["Soft"]), "Hard": int(u["Hard"])}
                           for u in spec["Ulimits"]]
    if spec.get("Hosts"):
        host["ExtraHosts"] = extra_hosts(spec["Hosts"])
    dns = spec.get("DNSConfig") or {}
    if dns.get("Nameservers") and not host.get("Dns"):
        # On overlays the node's resolver stays (service names), and forwards the other
        # names to these servers (net/dns_records.py), as Docker's embedded resolver does.
        host["Dns"] = list(dns["Nameservers"])
    if dns.get("Search"):
        host["DnsSearch"] = list(dns["Search"])
    if dns.get("Options"):
        host["DnsOptions"] = list(dns["Options"])
    if log_driver and log_driver.get("Name"):
        host["LogConfig"] = {"Type": log_driver["Name"],
                             "Config": dict(log_driver.get("Options") or {})}


def extra_hosts(hosts: list[str]) -> list[str]:
    """ContainerSpec.Hosts ("IP name [alias...]", as /etc/hosts has them; Docker also takes
    "name:IP") as HostConfig.ExtraHosts ("name:IP"), one per name, as Docker's executor
    converts them."""
    out = []
    for entry in hosts:
        fields = entry.split()
        if len(fields) == 1 and ":" in entry:  # "name:IP" (an IPv6 address has more colons)
            out.append(entry)
            continue
        if len(fields) < 2:
            continue  # refused by the spec core; never here
        out += [f"{name}:{fields[0]}" for name in fields[1:]]
    return out


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
