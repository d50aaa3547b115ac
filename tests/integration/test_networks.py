"""The networking control plane on three local machines: the ingress network from `swarm
init`, `network create/ls/inspect/rm`, addresses for tasks, VIPs, node attachments and
published ports, what is refused (with Docker's messages), and addresses freed and reused.

Only the manager's side: the addresses are checked in the store (through the API), not on
the wire."""

from __future__ import annotations

import json
import subprocess
from ipaddress import IPv4Interface, IPv4Network

import pytest
from swarm_cluster import Cluster, eventually, running_cluster

MANAGER, W1, W2 = "net-1", "net-2", "net-3"
NODES = [MANAGER, W1, W2]
IMAGE = "swarmlet/demo:latest"


@pytest.fixture(scope="module")
def cluster(swarmlet):
    with running_cluster(swarmlet, [MANAGER], [W1, W2]) as c:
        yield c


def refused(cluster: Cluster, args: str) -> str:
    proc = cluster.run(MANAGER, f"swarmlet {args}", check=False)
    assert proc.returncode == 1, proc.stdout
    return proc.stderr.strip()


def inspect_network(cluster: Cluster, name: str) -> dict:
    [network] = json.loads(cluster.cli(MANAGER, f"network inspect {name}"))
    return network


def service(cluster: Cluster, name: str) -> dict:
    [found] = json.loads(cluster.cli(MANAGER, f"service inspect {name}"))
    return found


def live_tasks(cluster: Cluster, name: str, on: str = MANAGER) -> list[dict]:
    return [t for t in cluster.api(on, "/tasks", service=name)
            if t["Status"]["State"] not in ("complete", "shutdown", "failed", "rejected",
                                            "orphaned")]


def addresses(attachments: list[dict] | None, network_id: str) -> list[str]:
    return [a for att in attachments or [] if att["Network"]["ID"] == network_id
            for a in att["Addresses"]]


def containers_gone(*services: str) -> bool:
    """No container of these services is left (removed while their agents, the network
    driver of their containers, still run: `machine rm` must not find them attached)."""
    return not any(subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=swarmlet.service.name={name}"],
        capture_output=True, text=True).stdout.strip() for name in services)


def everything_held(cluster: Cluster, network_id: str, on: str = MANAGER) -> list[str]:
    """Every address the store holds on a network: live tasks', nodes', VIPs."""
    held = [a for t in cluster.api(on, "/tasks")
            if t["Status"]["State"] not in ("complete", "shutdown", "failed", "rejected")
            for a in addresses(t.get("NetworksAttachments"), network_id)]
    held += [a for n in cluster.api(on, "/nodes")
             for a in addresses(n.get("Attachments"), network_id)]
    held += [v["Addr"] for s in cluster.api(on, "/services")
             for v in (s.get("Endpoint") or {}).get("VirtualIPs") or []
             if v["NetworkID"] == network_id]
    return held


def test_ingress_exists_after_init_with_10_0_0_0_24(cluster):
    rows = [json.loads(line) for line in
            cluster.cli(MANAGER, "network ls --format json").splitlines()]
    assert [(r["Name"], r["Driver"], r["Scope"]) for r in rows] == [
        ("ingress", "overlay", "swarm")]
    ingress = inspect_network(cluster, "ingress")
    assert ingress["Ingress"] is True
    assert ingress["IPAM"]["Config"] == [{"Subnet": "10.0.0.0/24", "Gateway": "10.0.0.1"}]
    assert ingress["Options"] == {"com.docker.network.driver.overlay.vxlanid_list": "4096"}
    # Every node has its own address on ingress (the routing mesh is everywhere).
    nodes = eventually(lambda: (n := cluster.api(MANAGER, "/nodes")) and all(
        addresses(x.get("Attachments"), ingress["Id"]) for x in n) and n)
    mine = [addresses(n["Attachments"], ingress["Id"])[0] for n in nodes]
    assert len(set(mine)) == 3
    assert all(IPv4Interface(a).ip in IPv4Network("10.0.0.0/24") for a in mine)
    assert "10.0.0.1/24" not in mine


def test_network_create_ls_inspect_rm(cluster):
    network_id = cluster.cli(MANAGER, "network create -d overlay --label team=a netx").strip()
    assert len(network_id) == 25
    table = cluster.cli(MANAGER, "network ls").splitlines()
    assert table[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert [network_id[:12], "netx", "overlay", "swarm"] in [r.split() for r in table]
    netx = inspect_network(cluster, "netx")
    assert netx["Id"] == network_id and netx["Labels"] == {"team": "a"}
    [config] = netx["IPAM"]["Config"]
    subnet = IPv4Network(config["Subnet"])
    assert subnet.prefixlen == 24 and subnet.subnet_of(IPv4Network("10.0.0.0/8"))
    assert not subnet.overlaps(IPv4Network("10.0.0.0/24"))
    assert config["Gateway"] == str(subnet.network_address + 1)
    assert int(netx["Options"]["com.docker.network.driver.overlay.vxlanid_list"]) > 4096
    assert inspect_network(cluster, network_id[:10])["Id"] == network_id

    assert refused(cluster, "network create netx") == (
        "Error response from daemon: network with name netx already exists")
    assert refused(cluster, f"network create --subnet {subnet} other") == (
        "Error response from daemon: Pool overlaps with other one on this address space")
    assert refused(cluster, "network create --subnet 10.99.0.0/16 --gateway 10.98.0.1 o") == (
        "Error response from daemon: ipam configuration: subnet 10.99.0.0/16 does not "
        "contain gateway 10.98.0.1")
    assert refused(cluster, "network create -d bridge o") == (
        "Error response from daemon: only overlay driver is currently supported")
    # This kernel has no IPsec ESP: an encrypted overlay is refused, not made in the clear.
    assert refused(cluster, "network create --opt encrypted secure").startswith(
        "Error response from daemon: network secure: --opt encrypted needs IPsec ESP")
    assert "secure" not in cluster.cli(MANAGER, "network ls")
    given = cluster.cli(MANAGER, "network create --subnet 10.99.0.0/16 --gateway 10.99.0.254 "
                                 "given").strip()
    assert inspect_network(cluster, given)["IPAM"]["Config"] == [
        {"Subnet": "10.99.0.0/16", "Gateway": "10.99.0.254"}]

    assert cluster.cli(MANAGER, "network rm netx given").split() == ["netx", "given"]
    assert refused(cluster, "network inspect netx").endswith("Error: No such network: netx")
    assert refused(cluster, "network rm netx") == (
        "Error response from daemon: network netx not found")


def test_a_service_on_a_network_gets_addresses_a_vip_and_node_attachments(cluster):
    network_id = cluster.cli(MANAGER, "network create backend").strip()
    subnet = IPv4Network(inspect_network(cluster, "backend")["IPAM"]["Config"][0]["Subnet"])
    try:
        cluster.cli(MANAGER, f"service create --name web --network backend --replicas 3 "
                             f"{IMAGE}")
        tasks = live_tasks(cluster, "web")
        assert len(tasks) == 3
        mine = [addresses(t["NetworksAttachments"], network_id) for t in tasks]
        assert all(len(a) == 1 and IPv4Interface(a[0]).ip in subnet for a in mine)
        assert len({a[0] for a in mine}) == 3
        web = service(cluster, "web")
        assert web["Spec"]["TaskTemplate"]["Networks"] == [{"Target": network_id,
                                                            "Aliases": []}]
        [vip] = web["Endpoint"]["VirtualIPs"]
        assert vip["NetworkID"] == network_id and IPv4Interface(vip["Addr"]).ip in subnet
        assert vip["Addr"] not in {a[0] for a in mine}
        pretty = cluster.cli(MANAGER, "service inspect --pretty web")
        assert "Networks: backend" in pretty and f" backend: {vip['Addr']}" in pretty

        # Each node running a task has its own address on backend.
        running_on = {t["NodeID"] for t in tasks}
        nodes = eventually(lambda: (n := cluster.api(MANAGER, "/nodes")) and all(
            addresses(x.get("Attachments"), network_id) for x in n
            if x["ID"] in running_on) and n)
        held = everything_held(cluster, network_id)
        assert len(held) == len(set(held)) == 1 + 3 + len(running_on)
        assert all(not addresses(n.get("Attachments"), network_id) for n in nodes
                   if n["ID"] not in running_on)

        # The network cannot go while the service uses it.
        assert refused(cluster, "network rm backend") == (
            f"Error response from daemon: network {network_id} is in use by service "
            f"{web['ID']}")

        # Scale down frees addresses; scale up reuses them, never one twice.
        before = {a[0] for a in mine}
        cluster.cli(MANAGER, "service scale web=1")
        eventually(lambda: len(live_tasks(cluster, "web")) == 1, timeout=60)
        [kept] = [addresses(t["NetworksAttachments"], network_id)[0]
                  for t in live_tasks(cluster, "web")]
        cluster.cli(MANAGER, "service scale web=3")
        now = [addresses(t["NetworksAttachments"], network_id)[0]
               for t in live_tasks(cluster, "web")]
        assert len(set(now)) == 3 and kept in now
        assert set(now) & (before - {kept})  # lowest free first: freed ones came back
        held = everything_held(cluster, network_id)
        assert len(held) == len(set(held))
    finally:
        cluster.run(MANAGER, "swarmlet service rm web", check=False)
        eventually(lambda: containers_gone("web"), timeout=90)
    assert cluster.cli(MANAGER, "network rm backend").strip() == "backend"
    eventually(lambda: not any(n.get("Attachments") and addresses(n["Attachments"], network_id)
                               for n in cluster.api(MANAGER, "/nodes")))


def test_published_ports_dynamic_conflicts_dnsrr_and_ingress_rm(cluster):
    try:
        cluster.cli(MANAGER, f"service create -d --name pub -p 80 {IMAGE}")
        pub = eventually(lambda: (s := service(cluster, "pub")).get("Endpoint", {}).get(
            "Ports") and s)
        [port] = pub["Endpoint"]["Ports"]
        assert 30000 <= port["PublishedPort"] <= 32767
        assert (port["TargetPort"], port["Protocol"], port["PublishMode"]) == (
            80, "tcp", "ingress")
        row = [json.loads(line) for line in
               cluster.cli(MANAGER, "service ls --format json").splitlines()]
        assert {r["Name"]: r["Ports"] for r in row}["pub"] == f"*:{port['PublishedPort']}->80/tcp"
        ingress_id = inspect_network(cluster, "ingress")["Id"]
        assert [v["NetworkID"] for v in pub["Endpoint"]["VirtualIPs"]] == [ingress_id]
        [task] = eventually(lambda: [t for t in live_tasks(cluster, "pub")
                                     if t.get("NetworksAttachments")])
        assert addresses(task["NetworksAttachments"], ingress_id)

        assert refused(cluster, f"service create -d --name clash "
                                f"-p {port['PublishedPort']}:80 {IMAGE}") == (
            f"Error response from daemon: port '{port['PublishedPort']}' is already in use "
            f"by service 'pub' ({pub['ID']}) as an ingress port")
        assert refused(cluster, f"service create -d --name rr --endpoint-mode dnsrr -p 80 "
                                f"{IMAGE}") == (
            "Error response from daemon: EndpointSpec: port published with ingress mode "
            "can't be used with dnsrr mode")
        assert refused(cluster, f"service create -d --name nowhere --network nope {IMAGE}") == (
            "Error response from daemon: network nope not found")
        assert refused(cluster, "network rm ingress") == (
            "Error response from daemon: ingress network cannot be removed because service "
            f"{pub['ID']} depends on it")

        # --publish-rm frees the port; --publish-add takes a fixed one.
        cluster.cli(MANAGER, "service update -d --publish-rm 80 --publish-add 8080:80 pub")
        eventually(lambda: [p["PublishedPort"] for p in
                            service(cluster, "pub")["Endpoint"].get("Ports", [])] == [8080])
    finally:
        cluster.run(MANAGER, "swarmlet service rm pub", check=False)
        eventually(lambda: containers_gone("pub"), timeout=90)


def test_a_new_leader_allocates_from_the_store_and_never_doubles(cluster):
    """Last: it makes every node a manager and cuts the leader off (a partition: `machine
    stop` would also do, but its containers' network driver dies with the agent)."""
    network_id = cluster.cli(MANAGER, "network create failover").strip()
    for worker in (W1, W2):
        # One at a time: with two managers, quorum needs both, so the second promotion waits
        # until the first new manager is up in Raft (else: "The swarm does not have a leader").
        cluster.cli(MANAGER, f"node promote {worker}")
        eventually(lambda worker=worker: cluster.nodes(MANAGER)[worker]["ManagerStatus"]
                   == "Reachable" and cluster.leader(MANAGER) == MANAGER, timeout=60)
    eventually(lambda: sorted(r["ManagerStatus"] for r in cluster.nodes(MANAGER).values())
               == ["Leader", "Reachable", "Reachable"], timeout=60)
    cluster.cli(MANAGER, f"service create --name before --network failover --replicas 4 "
                         f"{IMAGE}")
    cluster.machines("machine", "disconnect", MANAGER)
    try:
        eventually(lambda: cluster.leader(W1) in (W1, W2), timeout=30)
        cluster.cli(W1, f"service create -d --name after --network failover --replicas 4 "
                        f"{IMAGE}")
        # The cut-off machine's tasks of `before` are replaced on the others; `after` runs.
        for name in ("before", "after"):
            eventually(lambda name=name: len([t for t in live_tasks(cluster, name, W1)
                                              if t["Status"]["State"] == "running"
                                              and t["NodeID"] != MANAGER]) == 4, timeout=60)
        held = everything_held(cluster, network_id, W1)
        assert len(held) == len(set(held))
        assert len(held) >= 2 + 8  # two VIPs, eight running tasks (and the cut-off ones')
    finally:
        # Removed before the old leader comes back (its return may start an election, when
        # a command fails for want of a leader); it then removes its cut-off containers.
        for name in ("before", "after"):
            eventually(lambda name=name: (proc := cluster.run(
                W1, f"swarmlet service rm {name}", check=False)).returncode == 0
                or "not found" in proc.stderr)
        cluster.machines("machine", "connect", MANAGER)
    eventually(lambda: containers_gone("before", "after"), timeout=90)
