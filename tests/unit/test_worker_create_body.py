"""The body the executor sends to create a task's container (worker/containers.py) is the
one the docker SDK made from the same task before the agent talked to dockerd itself."""

from __future__ import annotations

from typing import Any

import pytest
from docker.models.containers import _create_container_args
from docker.types import ContainerConfig, DriverConfig, Healthcheck, LogConfig, Mount, Ulimit

from swarmlet.protocol.tasks import container_name
from swarmlet.worker.containers import (
    create_body,
    endpoint_config,
    labels_for,
    mount,
    volume_requests,
)

VERSION = "1.41"


def task(container: dict[str, Any], limits: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"ContainerSpec": {"Image": "swarmlet/demo:latest", **container}}
    if limits:
        spec["Resources"] = {"Limits": limits}
    return {"ID": "t1", "ServiceID": "s1", "Slot": 2, "ServiceAnnotations": {"Name": "web"},
            "Spec": spec}


def sdk_mount(m: dict[str, Any]) -> Mount:
    volume = m.get("VolumeOptions") or {}
    driver = volume.get("DriverConfig")
    return Mount(target=m["Target"], source=m.get("Source") or "",
                 type=m.get("Type", "volume"), read_only=bool(m.get("ReadOnly")),
                 tmpfs_size=(m.get("TmpfsOptions") or {}).get("SizeBytes"),
                 tmpfs_mode=(m.get("TmpfsOptions") or {}).get("Mode"),
                 no_copy=bool(volume.get("NoCopy")), labels=volume.get("Labels"),
                 propagation=(m.get("BindOptions") or {}).get("Propagation"),
                 driver_config=DriverConfig(driver["Name"], driver.get("Options"))
                 if driver else None)


def sdk_body(t: dict[str, Any], networks: list[tuple[str, str]],
             dns: list[str]) -> dict[str, Any]:
    """What docker.from_env().containers.create(**kwargs) sent, kwargs as the executor
    gave them (the code this test replaced)."""
    spec, limits = t["Spec"]["ContainerSpec"], t["Spec"].get("Resources", {}).get("Limits", {})
    kwargs: dict[str, Any] = {
        "image": spec["Image"], "labels": labels_for(t, "node1"),
        "environment": list(spec.get("Env") or []), "restart_policy": {"Name": "no"},
        "mounts": [sdk_mount(m) for m in spec.get("Mounts") or []],
        "version": VERSION, "command": spec.get("Args"), "detach": True}
    if networks:
        kwargs["network"] = networks[0][0]
        kwargs["networking_config"] = {networks[0][0]: endpoint_config(networks[0][1])}
    if dns:
        kwargs["dns"] = dns
    for key, arg in (("Command", "entrypoint"), ("Hostname", "hostname"),
                     ("Dir", "working_dir"), ("User", "user"), ("StopSignal", "stop_signal")):
        if spec.get(key):
            kwargs[arg] = spec[key]
    if spec.get("Healthcheck"):
        h = spec["Healthcheck"]
        kwargs["healthcheck"] = Healthcheck(
            test=h.get("Test"), interval=h.get("Interval") or None,
            timeout=h.get("Timeout") or None, retries=h.get("Retries") or None,
            start_period=h.get("StartPeriod") or None)
    if limits.get("NanoCPUs"):
        kwargs["nano_cpus"] = limits["NanoCPUs"]
    if limits.get("MemoryBytes"):
        kwargs["mem_limit"] = limits["MemoryBytes"]
    sdk_options(kwargs, spec, t["Spec"].get("LogDriver"), dns)
    create = _create_container_args(kwargs)
    return dict(ContainerConfig(VERSION, **{k: v for k, v in create.items()}))


def sdk_options(kwargs: dict[str, Any], spec: dict[str, Any],
                log_driver: dict[str, Any] | None, dns: list[str]) -> None:
    """The container options of the SDK's containers.create for a ContainerSpec's process
    and sandbox settings (what Docker's executor sets from them)."""
    for key, arg in (("TTY", "tty"), ("Groups", "group_add"), ("ReadOnly", "read_only"),
                     ("Sysctls", "sysctls"), ("CapabilityAdd", "cap_add"),
                     ("CapabilityDrop", "cap_drop"), ("Init", "init")):
        if spec.get(key) is not None:
            kwargs[arg] = spec[key]
    if spec.get("Ulimits"):
        kwargs["ulimits"] = [Ulimit(name=u["Name"], soft=u["Soft"], hard=u["Hard"])
                             for u in spec["Ulimits"]]
    if spec.get("Hosts"):
        kwargs["extra_hosts"] = [f"{name}:{e.split()[0]}" for e in spec["Hosts"]
                                 for name in e.split()[1:]]
    config = spec.get("DNSConfig") or {}
    if config.get("Nameservers") and not dns:
        kwargs["dns"] = config["Nameservers"]
    if config.get("Search"):
        kwargs["dns_search"] = config["Search"]
    if config.get("Options"):
        kwargs["dns_opt"] = config["Options"]
    if log_driver:
        kwargs["log_config"] = LogConfig(type=log_driver["Name"],
                                         config=log_driver.get("Options") or {})


def meaningful(value: Any) -> Any:
    """Without the unset fields (null, false, empty), which dockerd reads as defaults."""
    if isinstance(value, dict):
        return {k: meaningful(v) for k, v in value.items() if v not in (None, False, [], {})}
    if isinstance(value, list):
        return [meaningful(v) for v in value]
    return value


OPTIONS = task({"TTY": True, "Groups": ["audio", "1234"], "Init": True, "ReadOnly": True,
               "Sysctls": {"net.core.somaxconn": "1024"},
               "CapabilityAdd": ["CAP_NET_ADMIN"], "CapabilityDrop": ["CAP_CHOWN"],
               "Ulimits": [{"Name": "nofile", "Soft": 1000, "Hard": 2000}],
               "Hosts": ["192.0.2.7 db.local db", "2001:db8::1 v6.local"],
               "DNSConfig": {"Nameservers": ["192.0.2.53"], "Search": ["example.org"],
                             "Options": ["ndots:2"]},
               "Mounts": [{"Type": "bind", "Source": "/srv", "Target": "/srv",
                           "BindOptions": {"Propagation": "rslave"}}]})
OPTIONS["Spec"]["LogDriver"] = {"Name": "json-file", "Options": {"max-size": "1m"}}


@pytest.mark.parametrize("t, networks, dns", [
    (task({}), [], []),
    (task({"Command": ["/bin/sh", "-c"], "Args": ["sleep 60"], "Env": ["A=1", "B=2"],
           "Hostname": "h1", "Dir": "/srv", "User": "1000:1000", "StopSignal": "SIGINT",
           "Labels": {"team": "blue"},
           "Mounts": [{"Type": "bind", "Source": "/data", "Target": "/data", "ReadOnly": True},
                      {"Type": "volume", "Source": "cache", "Target": "/cache"},
                      {"Type": "volume", "Source": "db", "Target": "/db",
                       "VolumeOptions": {"NoCopy": True, "Labels": {"tier": "db"},
                                         "DriverConfig": {"Name": "rexray",
                                                          "Options": {"size": "10"}}}},
                      {"Type": "tmpfs", "Target": "/tmp",
                       "TmpfsOptions": {"SizeBytes": 1 << 20, "Mode": 0o1777}}],
           "Healthcheck": {"Test": ["CMD", "true"], "Interval": 2_000_000_000,
                           "Timeout": 1_000_000_000, "Retries": 3}},
          {"NanoCPUs": 500_000_000, "MemoryBytes": 64 << 20}),
     [("swarmlet-a-backend", "10.0.1.5/24"), ("swarmlet-a-front", "10.0.2.5/24")],
     ["10.0.1.2"]),
    (task({"Healthcheck": {"Test": "curl -f localhost"}}), [], []),
    (OPTIONS, [], []),
    (OPTIONS, [("swarmlet-a-front", "10.0.2.5/24")], ["10.0.2.2"]),
])
def test_the_create_body_is_the_one_the_docker_sdk_sent(t, networks, dns):
    assert meaningful(create_body(t, "node1", networks, dns)) == \
        meaningful(sdk_body(t, networks, dns))


def test_secret_files_mount_as_the_sdk_mounted_them():
    assert mount("/run/secrets/db", "/run/swarmlet/files/t1/0", "bind", read_only=True) == \
        dict(Mount(target="/run/secrets/db", source="/run/swarmlet/files/t1/0", type="bind",
                   read_only=True))


def test_the_container_is_named_as_docker_names_a_task_container():
    assert container_name(task({})) == "web.2.t1"


def test_named_volumes_with_a_driver_are_created_first_as_dockers_executor_does():
    t = task({"Mounts": [
        {"Type": "volume", "Source": "db", "Target": "/db",
         "VolumeOptions": {"Labels": {"tier": "db"},
                           "DriverConfig": {"Name": "rexray", "Options": {"size": "10"}}}},
        {"Type": "volume", "Source": "scratch", "Target": "/s",
         "VolumeOptions": {"DriverConfig": {"Options": {"type": "tmpfs", "device": "tmpfs"}}}},
        {"Type": "volume", "Source": "plain", "Target": "/p"},
        {"Type": "volume", "Target": "/anonymous",
         "VolumeOptions": {"DriverConfig": {"Name": "rexray"}}},
        {"Type": "bind", "Source": "/srv", "Target": "/srv"}]})
    assert volume_requests(t) == [
        {"Name": "db", "Driver": "rexray", "DriverOpts": {"size": "10"},
         "Labels": {"tier": "db"}},
        {"Name": "scratch", "Driver": "", "DriverOpts": {"type": "tmpfs", "device": "tmpfs"},
         "Labels": {}}]
    # The container's mount carries the driver too (dockerd makes anonymous ones with it).
    mounts = create_body(t, "node1")["HostConfig"]["Mounts"]
    assert mounts[3]["VolumeOptions"] == {"DriverConfig": {"Name": "rexray", "Options": {}}}
