"""Attachable networks on three local machines: what a user checks after
`network create --attachable appnet` and a plain `docker run --network` on a node
(manager/dispatcher/attachments.py, net/dataplane.py, net/dns_redirect.py).

Every machine has a Docker network for appnet, also one with no task on it; a container run
there gets an address of appnet from the manager, resolves and reaches the service `web`
(replicas on the two other machines) by name, and tasks reach it in return; a network made
without --attachable refuses such a container with Docker's message; `network rm` refuses
while the container is attached; when the container goes, so does its attachment (also when
it went while its node's agent was down), and the machine leaves the network; `docker network
connect` and `disconnect` work on a running container.

Traffic to overlay addresses only ever leaves from inside the containers (`docker exec`)."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import time

import pytest
from swarm_cluster import Cluster, dismantle, eventually

MANAGER, W1, W2 = "att-1", "att-2", "att-3"
NODES = [MANAGER, W1, W2]
IMAGE = "swarmlet/demo:latest"
GET = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {host} 80 | tail -n 1"
STANDALONE = "att-standalone"  # the containers this module runs with `docker run`


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)
    if check and proc.returncode:
        raise AssertionError(f"docker {' '.join(args)}: {proc.stderr}")
    return proc


def remove_standalone() -> None:
    names = docker("ps", "-a", "--filter", f"name={STANDALONE}", "--format",
                   "{{.Names}}").stdout.split()
    if names:
        docker("rm", "-f", *names, check=False)


@pytest.fixture(scope="module")
def cluster(swarmlet):
    swarmlet("machine", "create", *NODES)
    try:
        c = Cluster(swarmlet)
        c.build([MANAGER], [W1, W2])
        c.cli(MANAGER, "network create --attachable appnet")
        c.cli(MANAGER, "network create plain")
        c.cli(MANAGER, "network create --attachable solo")  # no service: only containers
        c.cli(MANAGER, f"service create -d --name web --replicas 2 --network appnet "
                       f"--constraint node.role==worker --placement-pref spread=node.id "
                       f"{IMAGE}")
        c.cli(MANAGER, f"service create -d --name back --network plain --constraint "
                       f"node.hostname=={W1} {IMAGE}")
        eventually(lambda: len(task_containers("web")) == 2
                   and len(task_containers("back")) == 1, timeout=90)
        yield c
    finally:
        remove_standalone()
        dismantle(swarmlet, NODES)
    left = docker("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert not [n for n in left if any(n.startswith(f"swarmlet-{m}-") for m in NODES)]


def task_containers(service: str | None = None) -> list[dict]:
    label = f"swarmlet.service.name={service}" if service else "swarmlet.service.name"
    rows = docker("ps", "--filter", f"label={label}", "--format",
                  '{{.ID}} {{.Label "swarmlet.machine"}}').stdout.splitlines()
    ids = [r.split()[0] for r in rows if r.split()[1:] and r.split()[1] in NODES]
    return json.loads(docker("inspect", *ids).stdout) if ids else []


def run_standalone(name: str, machine: str, network: str, check: bool = True
                   ) -> subprocess.CompletedProcess[str]:
    return docker("run", "-d", "--name", name, "--hostname", name,
                  "--network", f"swarmlet-{machine}-{network}", IMAGE, check=check)


def address_of(container: str) -> str:
    info = json.loads(docker("inspect", container).stdout)[0]
    return next(iter(info["NetworkSettings"]["Networks"].values()))["IPAddress"]


def sh(container: str, command: str) -> str:
    return docker("exec", container, "sh", "-c", command, check=False).stdout


def overlay_links(c: Cluster, machine: str) -> str:
    return c.run(machine, "ip -o link show").stdout


def test_every_node_has_the_docker_network_of_an_attachable_network(cluster):
    names = set(docker("network", "ls", "--format", "{{.Name}}").stdout.split())
    for machine in NODES:
        assert f"swarmlet-{machine}-appnet" in names
    # a network made without --attachable is there only where its tasks run
    assert f"swarmlet-{W1}-plain" in names
    assert f"swarmlet-{MANAGER}-plain" not in names


def test_a_container_on_the_manager_reaches_the_service_by_name(cluster):
    """att-1 runs no task of appnet: the container takes it onto the network."""
    name = f"{STANDALONE}-1"
    run_standalone(name, MANAGER, "appnet")
    try:
        subnet = cluster.api(MANAGER, "/networks/appnet")["IPAM"]["Configs"][0]["Subnet"]
        address = address_of(name)
        assert ipaddress.IPv4Address(address) in ipaddress.IPv4Network(subnet)
        replicas = {c["Config"]["Hostname"] for c in task_containers("web")}
        # `web` resolves through dockerd's 127.0.0.11 to the service's VIP...
        vip = cluster.api(MANAGER, "/services/web")["Endpoint"]["VirtualIPs"][0]["Addr"]
        assert eventually(lambda: vip.split("/")[0] in sh(name, "nslookup web"), timeout=15)
        # ...and the VIP reaches both replicas, on the two other machines
        seen = set()
        deadline = time.monotonic() + 30
        while seen != replicas and time.monotonic() < deadline:
            seen.add(sh(name, GET.format(host="web")).strip())
        assert seen == replicas
        # a task reaches the container in return (its page is its hostname)
        task = task_containers("web")[0]
        assert sh(task["Id"], GET.format(host=address)).strip() == name
    finally:
        docker("rm", "-f", name, check=False)


def test_a_network_made_without_attachable_refuses_containers(cluster):
    proc = run_standalone(f"{STANDALONE}-plain", W1, "plain", check=False)
    assert proc.returncode != 0
    assert "network plain not manually attachable" in proc.stderr
    assert not docker("ps", "-q", "--filter", f"name={STANDALONE}-plain").stdout.strip()
    docker("rm", "-f", f"{STANDALONE}-plain", check=False)


def test_an_attachment_goes_with_its_container(cluster):
    name = f"{STANDALONE}-2"
    network = cluster.api(MANAGER, "/networks/solo")
    vni = network["DriverState"]["Options"]["com.docker.network.driver.overlay.vxlanid_list"]
    assert f"swlb-{vni}" not in overlay_links(cluster, MANAGER)
    run_standalone(name, MANAGER, "solo")
    assert f"swlb-{vni}" in overlay_links(cluster, MANAGER)
    proc = cluster.run(MANAGER, "swarmlet network rm solo", check=False)
    assert proc.returncode != 0
    assert "is in use by container endpoint" in proc.stderr
    docker("rm", "-f", name)
    # the manager forgets it, and att-1, with nothing else there, leaves the network
    eventually(lambda: f"swlb-{vni}" not in overlay_links(cluster, MANAGER), timeout=20)
    assert cluster.cli(MANAGER, "network rm solo").strip() == "solo"


def test_an_attachment_goes_when_its_container_went_while_the_agent_was_down(cluster):
    """No DeleteEndpoint reaches a stopped agent: the next one finds the endpoint gone."""
    name = f"{STANDALONE}-3"
    network = cluster.api(MANAGER, "/networks/appnet")
    vni = network["DriverState"]["Options"]["com.docker.network.driver.overlay.vxlanid_list"]
    run_standalone(name, MANAGER, "appnet")
    assert f"swlb-{vni}" in overlay_links(cluster, MANAGER)
    down = "/etc/swarmlet/sv/swarmletd/down"  # runit's convention: the init stops it
    cluster.run(MANAGER, f"touch {down}")
    try:
        eventually(lambda: cluster.run(MANAGER, "kill -0 $(cat /var/lib/swarmlet/"
                                                "swarmletd.pid)", check=False).returncode,
                   timeout=30)
        docker("rm", "-f", name)
    finally:
        cluster.run(MANAGER, f"rm -f {down}")
    eventually(lambda: f"swlb-{vni}" not in overlay_links(cluster, MANAGER), timeout=40)


def test_a_running_container_connects_and_disconnects(cluster):
    """`docker network connect` gives a running container an interface on the overlay
    (dockerd calls the same driver), which tasks reach; `disconnect` takes it away."""
    name = f"{STANDALONE}-4"
    docker("run", "-d", "--name", name, "--hostname", name, IMAGE)  # Docker's bridge only
    try:
        docker("network", "connect", f"swarmlet-{W2}-appnet", name)
        info = json.loads(docker("inspect", name).stdout)[0]
        address = info["NetworkSettings"]["Networks"][f"swarmlet-{W2}-appnet"]["IPAddress"]
        assert address
        task = task_containers("web")[0]
        assert sh(task["Id"], GET.format(host=address)).strip() == name
        docker("network", "disconnect", f"swarmlet-{W2}-appnet", name)
        assert sh(task["Id"], GET.format(host=address)).strip() != name
    finally:
        docker("rm", "-f", name, check=False)
