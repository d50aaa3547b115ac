"""Volume mounts on three local machines: the local driver's options (a tmpfs volume) and a
volume plugin (tests/integration/volume_plugin.py) reached by dockerd on the task's node,
including a task that moves to another node when its node is drained.

The machines share one dockerd, so one plugin serves them all, as one rex-ray install per
host would; it is installed as a managed plugin (`docker plugin create` from a folder, on the
host's own Python), because dockerd keeps a legacy plugin of a socket in
/run/docker/plugins for good once it has used it, and every later `docker volume ls` on this
box would retry the dead socket. Each test removes its services and its volumes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from swarm_cluster import (
    SHARED_MANAGER,
    SHARED_WORKERS,
    Cluster,
    eventually,
    shared_cluster,  # noqa: F401 (a fixture)
)

MANAGER, (W1, W2) = SHARED_MANAGER, SHARED_WORKERS  # a swarm shared with test_stacks.py
IMAGE = "swarmlet/demo:latest"
PLUGIN = "vo-vtest"
PLUGIN_SOURCE = Path(__file__).with_name("volume_plugin.py")


def docker(*args: str, check: bool = True) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {proc.stderr}")
    return proc.stdout


@pytest.fixture(scope="module")
def cluster(shared_cluster):  # noqa: F811 (the fixture imported above)
    return shared_cluster


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """The test plugin, enabled; yields the file it records its calls in."""
    root = tmp_path_factory.mktemp("volume-plugin")
    record = root / "record"
    rootfs = root / "plugin" / "rootfs"
    for folder in ("usr", "proc", "dev", "sys", "tmp", "etc", "data", "plugin", "record",
                   "run/docker/plugins"):
        (rootfs / folder).mkdir(parents=True)
    for link in ("bin", "lib", "lib64", "sbin"):
        (rootfs / link).symlink_to(f"usr/{link}")
    (rootfs / "plugin" / "volume_plugin.py").write_text(PLUGIN_SOURCE.read_text())
    record.mkdir()
    config = {
        "description": "swarmlet's test volume plugin",
        "documentation": "tests/integration/volume_plugin.py",
        "entrypoint": ["/usr/bin/python3", "/plugin/volume_plugin.py",
                       "/run/docker/plugins/vtest.sock", "/data", "/record/calls.jsonl"],
        "interface": {"types": ["docker.volumedriver/1.0"], "socket": "vtest.sock"},
        "network": {"type": "host"},
        "propagatedMount": "/data",
        "mounts": [{"source": "/usr", "destination": "/usr", "type": "bind",
                    "options": ["rbind", "ro"]},
                   {"source": str(record), "destination": "/record", "type": "bind",
                    "options": ["rbind", "rw"]}],
    }
    (root / "plugin" / "config.json").write_text(json.dumps(config))
    docker("plugin", "rm", "-f", PLUGIN, check=False)  # a crashed run's
    docker("plugin", "create", PLUGIN, str(root / "plugin"))
    try:
        docker("plugin", "enable", PLUGIN)
        yield record / "calls.jsonl"
    finally:
        for line in docker("volume", "ls", "--format", "{{.Name}} {{.Driver}}",
                           check=False).splitlines():
            name, _, driver = line.partition(" ")
            if driver.split(":")[0] == PLUGIN:
                docker("volume", "rm", "-f", name, check=False)
        docker("plugin", "rm", "-f", PLUGIN, check=False)


def calls(record: Path, *kinds: str, volume: str) -> list[dict]:
    lines = record.read_text().splitlines() if record.exists() else []
    return [c for c in map(json.loads, lines)
            if c["Call"] in kinds and c.get("Name") == volume]


def tasks(cluster: Cluster, service: str) -> list[dict]:
    out = cluster.cli(MANAGER, f"service ps --format json {service}")
    return [json.loads(line) for line in out.splitlines()]


def running_on(cluster: Cluster, service: str) -> list[str]:
    return [t["Node"] for t in tasks(cluster, service)
            if t["DesiredState"] == "Running" and t["CurrentState"].startswith("Running")]


def container_of(service: str, node: str) -> dict:
    """The running container of `service` on machine `node`."""
    ids = docker("ps", "-q", "--filter", f"label=swarmlet.service.name={service}",
                 "--filter", f"label=swarmlet.machine={node}").split()
    assert len(ids) == 1, f"{service} on {node}: {ids}"
    return json.loads(docker("inspect", ids[0]))[0]


@pytest.fixture
def made(cluster):
    """Services and volumes a test made: removed after it (services first: a volume in use
    cannot go)."""
    things: dict[str, list[str]] = {"services": [], "volumes": []}
    yield things
    for name in things["services"]:
        cluster.run(MANAGER, f"swarmlet service rm {name}", check=False)
    for name in things["services"]:
        eventually(lambda n=name: not docker(
            "ps", "-aq", "--filter", f"label=swarmlet.service.name={n}").split(), timeout=60)
    for name in things["volumes"]:
        docker("volume", "rm", "-f", name, check=False)


def test_a_local_volume_with_driver_options_is_a_tmpfs_in_the_task(cluster, made):
    made["services"].append("vo-scratch")
    made["volumes"].append("vo-scratch")
    cluster.cli(MANAGER, "service create -d --name vo-scratch --mount type=volume,"
                         "source=vo-scratch,target=/scratch,volume-opt=type=tmpfs,"
                         "volume-opt=device=tmpfs,volume-opt=o=size=8m,volume-label=use=test,"
                         f"volume-nocopy {IMAGE}")
    [node] = eventually(lambda: running_on(cluster, "vo-scratch"), timeout=60)
    [spec] = json.loads(cluster.cli(MANAGER, "service inspect vo-scratch"))
    assert spec["Spec"]["TaskTemplate"]["ContainerSpec"]["Mounts"] == [{
        "Type": "volume", "Source": "vo-scratch", "Target": "/scratch",
        "VolumeOptions": {"NoCopy": True, "Labels": {"use": "test"}, "DriverConfig": {
            "Options": {"type": "tmpfs", "device": "tmpfs", "o": "size=8m"}}}}]

    [volume] = json.loads(docker("volume", "inspect", "vo-scratch"))
    assert volume["Driver"] == "local"
    assert volume["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=8m"}
    assert volume["Labels"] == {"use": "test"}
    container = container_of("vo-scratch", node)
    mounts = docker("exec", container["Id"], "cat", "/proc/mounts").splitlines()
    [line] = [m for m in mounts if m.split()[1] == "/scratch"]
    assert line.split()[0] == "tmpfs" and line.split()[2] == "tmpfs"
    assert "size=8192k" in line.split()[3]


def test_a_plugin_volume_follows_its_task_to_another_node(cluster, plugin, made):
    made["services"].append("vo-db")
    made["volumes"].append("vo-db-data")
    cluster.cli(MANAGER, "service create -d --name vo-db --constraint node.role==worker "
                         "--stop-grace-period 1s --mount type=volume,source=vo-db-data,"
                         f"target=/data,volume-driver={PLUGIN},volume-opt=size=1g,"
                         f"volume-label=tier=db {IMAGE} "
                         "sh -c 'hostname >> /data/hosts; exec sleep 3600'")
    [first] = eventually(lambda: running_on(cluster, "vo-db"), timeout=60)
    assert first in (W1, W2)
    [create] = calls(plugin, "Create", volume="vo-db-data")
    assert create["Opts"] == {"size": "1g"}
    [volume] = json.loads(docker("volume", "inspect", "vo-db-data"))
    assert volume["Driver"] == f"{PLUGIN}:latest" and volume["Labels"] == {"tier": "db"}
    [mount] = calls(plugin, "Mount", volume="vo-db-data")
    assert not calls(plugin, "Unmount", volume="vo-db-data")
    first_container = container_of("vo-db", first)

    cluster.cli(MANAGER, f"node update --availability drain {first}")
    try:
        [second] = eventually(lambda: running_on(cluster, "vo-db"), timeout=60)
        assert second != first
        # The first node's container let go of the volume; the second's mounted it.
        [unmount] = eventually(lambda: calls(plugin, "Unmount", volume="vo-db-data"))
        assert unmount["ID"] == mount["ID"]
        mounts = calls(plugin, "Mount", volume="vo-db-data")
        assert len(mounts) == 2 and mounts[1]["ID"] != mount["ID"]
        assert json.loads(docker("inspect", first_container["Id"])
                          )[0]["State"]["Status"] != "running"
        # The data moved with it: the second task reads what the first one wrote.
        hosts = docker("exec", container_of("vo-db", second)["Id"], "cat", "/data/hosts")
        assert hosts.split() == [first_container["Config"]["Hostname"],
                                 container_of("vo-db", second)["Config"]["Hostname"]]
    finally:
        cluster.cli(MANAGER, f"node update --availability active {first}")
