"""Overlay networks on local machines: the node-side dataplane (bridge + VXLAN devices, FDB
and neighbour entries) and the Docker network driver that attaches containers before their
process starts.

The first tests drive the dataplane alone, from hand-written assignments, with
`python -m swarmlet.net.tool` in two bare machines (no agent: the tool serves the driver); the
last one runs a service with `--network` on a three-machine swarm. Every packet to an overlay
address is sent from inside a container, never from the root namespace."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
from swarm_cluster import Cluster, dismantle, eventually

from conftest import wait_for
from swarmlet.net import names

A, B = "ovl-a", "ovl-b"
IMAGE = "swarmlet/demo:latest"
VNI = 4197
SUBNET = "10.123.0"
NODE_ADDR = {A: f"{SUBNET}.2", B: f"{SUBNET}.3"}
TEST_LABEL = "swarmlet.test"  # on every container made here, to find leftovers


class Node:
    """A bare machine running the dataplane tool from an assignment file."""

    def __init__(self, swarmlet, name: str, workdir: Path) -> None:
        self.swarmlet, self.name, self.workdir = swarmlet, name, workdir
        self.ip = swarmlet.ip(name)
        self.file = workdir / f"{name}.json"
        self.log = workdir / f"{name}.log"
        self.pid: int | None = None

    def assign(self, networks: list[dict]) -> None:
        """Rename a new file over the old one, so the tool never reads half of it."""
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"Networks": networks}))
        tmp.rename(self.file)

    def start_tool(self) -> None:
        out = self.swarmlet.ssh(self.name, (
            f"cd /; nohup {sys.executable} -m swarmlet.net.tool --machine {self.name} "
            f"--local-addr {self.ip} {self.file} >>{self.log} 2>&1 </dev/null & echo $!"))
        self.pid = int(out.strip())
        wait_for(lambda: names.plugin_socket(names.driver_name(self.name)).exists(),
                 timeout=15, what=f"the driver socket of {self.name}")

    def stop_tool(self) -> None:
        if self.pid is not None:
            os.kill(self.pid, signal.SIGTERM)
            wait_for(lambda: not Path(f"/proc/{self.pid}").exists()
                     or "Z" in Path(f"/proc/{self.pid}/stat").read_text().split()[2],
                     timeout=15, what=f"the tool of {self.name} to end")
            self.pid = None

    def links(self) -> list[str]:
        return [line.split()[0].split("@")[0]
                for line in self.swarmlet.ssh(self.name, "ip -br link").splitlines()]

    def wait_programmed(self, count: int) -> None:
        wait_for(lambda: self.log.read_text().count("programmed ") >= count, timeout=15,
                 what=f"{self.name} to program its assignment")


def network_entry(me: str, peers: list[tuple[str, str]]) -> dict:
    """The assignments' "Networks" entry of the test network for machine `me`."""
    return {"Network": {"ID": "ovltestnetwork0000000000a", "Spec": {"Name": "ovlnet"},
                        "DriverState": {"Name": "overlay", "Options": {names.VNI_OPTION:
                                                                       str(VNI)}},
                        "IPAM": {"Configs": [{"Subnet": f"{SUBNET}.0/24"}]}},
            "NodeAddress": f"{NODE_ADDR[me]}/24",
            "Peers": [{"IP": ip, "NodeAddr": node} for ip, node in peers]}


@pytest.fixture(scope="module")
def docker_client():
    client = docker.from_env(timeout=60)
    yield client
    client.close()


@pytest.fixture(scope="class")
def nodes(swarmlet, tmp_path_factory, docker_client):
    swarmlet("machine", "create", "--no-agent", A, B)
    workdir = tmp_path_factory.mktemp("overlay")
    made = {name: Node(swarmlet, name, workdir) for name in (A, B)}
    try:
        yield made
    finally:
        for c in docker_client.containers.list(all=True, filters={"label": TEST_LABEL}):
            c.remove(force=True)
        for node in made.values():  # an empty assignment: the tool removes what it made
            if node.pid is not None:
                node.assign([])
        time.sleep(1)
        for node in made.values():
            node.stop_tool()
        swarmlet("machine", "rm", A, B, check=False)


def peers_of(me: str, nodes: dict, containers: dict[str, str]) -> list[tuple[str, str]]:
    """Every address on the network that lives on another node: nodes' and containers'."""
    return [(ip, nodes[other].ip) for other in nodes if other != me
            for ip in (NODE_ADDR[other], containers[other])]


def run_attached(client, node: Node, address: str, name: str):
    """A container on the test network of `node`, printing its addresses as its first act."""
    net = names.docker_network_name(node.name, "ovlnet")
    started = time.monotonic()
    container = client.containers.run(
        IMAGE, ["sh", "-c", "ip -4 -o addr show; ip route; exec /bin/demo-server"],
        name=name, hostname=name, detach=True, network=net,
        networking_config={net: {"DriverOpts": {names.OPT_ADDRESS: f"{address}/24"}}},
        labels={TEST_LABEL: "overlay", "swarmlet.machine": node.name})
    return container, time.monotonic() - started


def in_container(client, name: str, command: str) -> tuple[int, str]:
    code, out = client.containers.get(name).exec_run(["sh", "-c", command])
    return code, out.decode(errors="replace")


def http_get(client, name: str, ip: str) -> str:
    return in_container(client, name, f'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 3 {ip} 80')[1]


class TestDataplane:
    """The dataplane tool in two bare machines; the tests build on each other, in order."""

    def test_containers_on_two_machines_reach_each_other(self, nodes, docker_client):
        a, b = nodes[A], nodes[B]
        ips = {A: f"{SUBNET}.10", B: f"{SUBNET}.11"}
        for node in (a, b):
            node.assign([network_entry(node.name, peers_of(node.name, nodes, ips))])
            node.start_tool()
            node.wait_programmed(1)
        assert {f"swlb-{VNI}", f"swlx-{VNI}"} <= set(a.links())
        details = a.swarmlet.ssh(A, f"ip -d link show swlx-{VNI}")
        assert f"vxlan id {VNI} local {a.ip}" in details and "dstport 4789 nolearning" in details
        assert "mtu 1450" in details
        fdb = a.swarmlet.ssh(A, f"bridge fdb show dev swlx-{VNI}")
        assert f"00:00:00:00:00:00 dst {b.ip} self permanent" in fdb
        assert f"{names.mac_of(ips[B])} dst {b.ip} self permanent" in fdb
        assert f"inet {NODE_ADDR[A]}/24" in a.swarmlet.ssh(A, f"ip -4 addr show swlb-{VNI}")

        ca, took_a = run_attached(docker_client, a, ips[A], "ovl-c-a")
        _, took_b = run_attached(docker_client, b, ips[B], "ovl-c-b")
        plain = time.monotonic()
        docker_client.containers.run(IMAGE, ["true"], detach=False, remove=True,
                                     labels={TEST_LABEL: "overlay"})
        plain = time.monotonic() - plain
        print(f"\ncontainer run (create+start) on the overlay: {took_a:.2f} s, {took_b:.2f} s; "
              f"`docker run true` on the default bridge, to its end: {plain:.2f} s")

        # Its interface, address and route were there before its process started.
        first = wait_for(lambda: "default via" in ca.logs().decode() and ca.logs().decode(),
                         timeout=10, what="the container's output")
        assert re.search(rf"eth0\s+inet {re.escape(ips[A])}/24", first), first
        assert f"default via {NODE_ADDR[A]} dev eth0" in first
        attrs = docker_client.api.inspect_container(ca.id)["NetworkSettings"]["Networks"]
        assert attrs[names.docker_network_name(A, "ovlnet")]["IPAddress"] == ips[A]
        assert attrs[names.docker_network_name(A, "ovlnet")]["MacAddress"] == names.mac_of(ips[A])

        code, out = in_container(docker_client, "ovl-c-a", f"ping -c 3 -W 2 {ips[B]}")
        assert code == 0, out
        assert "ovl-c-b" in http_get(docker_client, "ovl-c-a", ips[B])
        assert "ovl-c-a" in http_get(docker_client, "ovl-c-b", ips[A])
        # The other node's own address (its bridge) answers too: it is the gateway of its side.
        assert in_container(docker_client, "ovl-c-a", f"ping -c 1 -W 2 {NODE_ADDR[B]}")[0] == 0


    def test_a_restarted_dataplane_keeps_its_containers_and_takes_new_ones(self, nodes,
                                                                           docker_client):
        a, b = nodes[A], nodes[B]
        a.stop_tool()
        assert not names.plugin_socket(names.driver_name(A)).exists()
        assert f"swlb-{VNI}" in a.links()  # devices stay for the running containers
        a.start_tool()
        a.wait_programmed(2)
        # A new container joins through the new process (which learns the network from dockerd).
        run_attached(docker_client, a, f"{SUBNET}.12", "ovl-c-a2")
        b.assign([network_entry(B, [*peers_of(B, nodes, {A: f"{SUBNET}.12"}),
                                    (f"{SUBNET}.10", a.ip)])])
        b.wait_programmed(2)
        assert "ovl-c-a2" in http_get(docker_client, "ovl-c-b", f"{SUBNET}.12")
        # A container of the earlier process leaves cleanly: its pair goes.
        veth = names.host_veth(docker_client.api.inspect_container("ovl-c-a")["NetworkSettings"][
            "Networks"][names.docker_network_name(A, "ovlnet")]["EndpointID"])
        assert veth in a.links()
        docker_client.containers.get("ovl-c-a").remove(force=True)
        assert veth not in a.links()


    def test_devices_stay_while_attached_then_go(self, nodes, docker_client):
        a = nodes[A]
        a.assign([])
        a.wait_programmed(3)
        assert f"swlb-{VNI}" in a.links()  # ovl-c-a2 is still attached
        docker_client.containers.get("ovl-c-a2").remove(force=True)
        eventually(lambda: not any(link.startswith("swl") for link in a.links()), timeout=5)
        eventually(lambda: not docker_client.networks.list(
            names=[names.docker_network_name(A, "ovlnet")]), timeout=5)


    def test_nothing_is_left_behind(self, nodes, docker_client):
        b = nodes[B]
        docker_client.containers.get("ovl-c-b").remove(force=True)
        b.assign([])
        eventually(lambda: not any(link.startswith("swl") for link in b.links()), timeout=5)
        for node in nodes.values():
            node.stop_tool()
            assert not names.plugin_socket(names.driver_name(node.name)).exists()
            assert not [link for link in node.links() if link.startswith("sw")]
        # Container ends in the root namespace (shared with other runs): ours by their MAC.
        ours = names.mac_of(f"{SUBNET}.0")[:-3]
        root = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout
        assert not [line for line in root.splitlines()
                    if line.startswith((names.HOST_VETH_PREFIX, names.PEER_VETH_PREFIX))
                    and ours in line]
        assert not [n.name for n in docker_client.networks.list()
                    if n.name.startswith("swarmlet-ovl")]


# --- a service with --network on a swarm of three machines ------------------------------------

M1, W1, W2 = "ovl-m1", "ovl-w1", "ovl-w2"


@pytest.fixture(scope="module")
def cluster(swarmlet):
    swarmlet("machine", "create", M1, W1, W2)
    c = Cluster(swarmlet)
    try:
        c.build([M1], [W1, W2])
        yield c
    finally:
        dismantle(swarmlet, [M1, W1, W2])


def task_addresses(client, service: str, network: str, count: int) -> dict[str, str] | None:
    """{container name: address on `network`} of the service's running containers, once
    there are `count` of them."""
    found = {}
    for c in client.containers.list(filters={"label": f"swarmlet.service.name={service}"}):
        networks = client.api.inspect_container(c.id)["NetworkSettings"]["Networks"]
        for name, settings in networks.items():
            if name.endswith(f"-{network}") and settings.get("IPAddress"):
                found[c.name] = settings["IPAddress"]
    return found if len(found) == count else None


def swarm_links(cluster: Cluster) -> dict[str, set[str]]:
    """{machine: its links named by the dataplane}."""
    return {m: {line.split()[0].split("@")[0] for line in cluster.run(m, "ip -br link").stdout
                .splitlines() if line.startswith("sw")} for m in (M1, W1, W2)}


def test_service_tasks_reach_each_other_across_machines(cluster, docker_client):
    cluster.cli(M1, "network create -d overlay ovlsvc")
    vni = json.loads(cluster.cli(M1, "network inspect ovlsvc"))[0]["Options"][
        names.VNI_OPTION]
    try:
        out = cluster.cli(M1, f"service create --name ovlweb --network ovlsvc --replicas 3 "
                              f"{IMAGE}")
        assert "verify: Service converged" in out
        addresses = eventually(lambda: task_addresses(docker_client, "ovlweb", "ovlsvc", 3))
        machines = {c.labels["swarmlet.machine"] for c in docker_client.containers.list(
            filters={"label": "swarmlet.service.name=ovlweb"})}
        assert machines == {M1, W1, W2}
        for source in addresses:
            for target, ip in addresses.items():
                if target != source:
                    page = http_get(docker_client, source, ip)
                    assert docker_client.containers.get(target).attrs["Config"][
                        "Hostname"] in page, (source, target, page)
            assert in_container(docker_client, source, f"ping -c 1 -W 2 {ip}")[0] == 0
        assert all(f"swlb-{vni}" in links for links in swarm_links(cluster).values())
    finally:
        cluster.run(M1, "swarmlet service rm ovlweb", check=False)
    # sparse: the list alone, no inspect of each (a container removed between the two
    # was a NotFound here)
    eventually(lambda: not docker_client.containers.list(
        all=True, sparse=True, filters={"label": "swarmlet.service.name=ovlweb"}),
        timeout=60)
    # The network's devices and Docker networks go with the last task on each machine;
    # ingress stays (the routing mesh needs it on every node).
    eventually(lambda: not [n for n in docker_client.networks.list()
                            if n.name.endswith("-ovlsvc")], timeout=30)
    eventually(lambda: not any(f"swlb-{vni}" in links
                               for links in swarm_links(cluster).values()), timeout=30)
    cluster.cli(M1, "network rm ovlsvc")


def test_leaving_the_swarm_takes_every_network_and_the_driver(cluster, docker_client):
    for m in (W1, W2, M1):
        cluster.cli(m, "swarm leave --force")
    assert swarm_links(cluster) == {M1: set(), W1: set(), W2: set()}
    for m in (M1, W1, W2):  # nor the load balancer's tables and VIPs
        assert "swarmlet" not in cluster.run(m, "nft list ruleset").stdout, m
        assert "swlvip" not in cluster.run(m, "ip -4 addr show dev lo").stdout, m
    for m in (M1, W1, W2):
        assert not names.plugin_socket(names.driver_name(m)).exists()
    assert not [n.name for n in docker_client.networks.list()
                if n.name.startswith(("swarmlet-ovl-m1", "swarmlet-ovl-w"))]
