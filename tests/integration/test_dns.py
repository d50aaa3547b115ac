"""DNS service discovery on three local machines (net/dns_*.py): what a user checks from
inside a task. `web` is its VIP and reaches every replica, also those on other machines;
`tasks.web` is every task's address and follows a scale; an alias resolves like the name;
a dnsrr service is its tasks' addresses and has no VIP; a service on another network does
not resolve; other names go to the configured upstream (a dnslib server of the test's own,
on dns-1's underlay address: nothing here ever asks the host's real resolver); TCP, AAAA
and the TTL; and no listener is left behind.

Every query is sent from inside a task's container (`docker exec`, or `nsenter` into its
network namespace for the Python client), never from the root namespace to an overlay
address."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from swarm_cluster import Cluster, eventually

from swarmlet.machine.processes import program_pid

MANAGER, W1, W2 = "dns-1", "dns-2", "dns-3"
NODES = [MANAGER, W1, W2]
IMAGE = "swarmlet/demo:latest"
UPSTREAM_PORT = 5353
OUTSIDE = "outside.test"  # the only name the test's upstream knows
UPSTREAM = Path(__file__).with_name("dns_upstream.py")
UPSTREAM_LOG = "/run/swarmlet/test-dns-upstream.log"  # inside dns-1: gone with it
GET = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {host} 80"
QUERY = """
import statistics, sys, time
from dnslib import DNSRecord
server, name, qtype, tcp = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "tcp"
took = []
for _ in range(int(sys.argv[5])):
    started = time.perf_counter()
    q = DNSRecord.question(name, qtype)
    a = DNSRecord.parse(q.send(server, 53, tcp=tcp, timeout=5))
    took.append((time.perf_counter() - started) * 1000)
print(a.header.rcode, statistics.median(took), " ".join(f"{r.rdata}/{r.ttl}" for r in a.rr))
"""


@pytest.fixture(scope="module")
def cluster(swarmlet):
    swarmlet("machine", "create", *NODES)
    try:
        upstream = swarmlet.ip(MANAGER)
        for machine in NODES:  # before the agents take up their swarm role
            swarmlet.ssh(machine, f"echo 'dns_upstreams: [\"{upstream}:{UPSTREAM_PORT}\"]' "
                                  ">> /etc/swarmlet/swarmlet.yml")
        restart_agents(swarmlet)  # the new ones read the file
        swarmlet.ssh(MANAGER, f"setsid nohup {sys.executable} {UPSTREAM} {upstream} "
                              f"{UPSTREAM_PORT} {OUTSIDE} {upstream} > {UPSTREAM_LOG} 2>&1 "
                              "< /dev/null &")
        eventually(lambda: "ready" in swarmlet.ssh(MANAGER, f"cat {UPSTREAM_LOG}"), 10)
        c = Cluster(swarmlet)
        c.build([MANAGER], [W1, W2])
        c.cli(MANAGER, "network create front")
        c.cli(MANAGER, "network create back")
        yield c
        # Services first: their containers then stop with their agents alive (a
        # container on an overlay whose driver is gone takes dockerd ~45 s to kill).
        c.cli(MANAGER, "service rm web rr other client", check=False)
        eventually(lambda: not containers(), timeout=60)
    finally:
        swarmlet("machine", "rm", *NODES, check=False)
    left = subprocess.run(["docker", "network", "ls", "--format", "{{.Name}}"],
                          capture_output=True, text=True).stdout.split()
    assert not [n for n in left if any(n.startswith(f"swarmlet-{m}-") for m in NODES)]
    assert not [m for m in NODES if Path(f"/run/netns/swarmlet-{m}").exists()]


def restart_agents(swarmlet) -> None:
    """SIGKILL every machine's agent: each machine's init starts a new one (quicker than a
    machine stop and start)."""
    before = {m: program_pid(f"swarmlet-machine-{m}", "swarmletd") for m in NODES}
    for pid in before.values():
        os.kill(pid, signal.SIGKILL)
    for m in NODES:
        eventually(lambda m=m: program_pid(f"swarmlet-machine-{m}", "swarmletd")
                   not in (None, before[m])
                   and swarmlet("machine", "ssh", m, "--", "swarmlet info",
                                check=False).returncode == 0)


def containers(service: str | None = None, machine: str | None = None) -> list[dict]:
    """Running task containers of this module's machines (others share the one dockerd)."""
    label = f"swarmlet.service.name={service}" if service else "swarmlet.service.name"
    rows = subprocess.run(["docker", "ps", "--filter", f"label={label}", "--format",
                           '{{.ID}} {{.Label "swarmlet.machine"}}'],
                          capture_output=True, text=True, check=True).stdout.splitlines()
    # only ours before `inspect`: another run's container being killed blocks its inspect
    ids = [row.split()[0] for row in rows
           if row.split()[1:] and row.split()[1] in ([machine] if machine else NODES)]
    if not ids:
        return []
    out = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True).stdout
    return json.loads(out or "[]")


def addresses(service: str, network: str) -> set[str]:
    return {n["IPAddress"] for c in containers(service)
            for name, n in c["NetworkSettings"]["Networks"].items()
            if name.endswith(f"-{network}")}


def sh(container: dict, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "exec", container["Id"], "sh", "-c", command],
                          capture_output=True, text=True, timeout=30)


def lookup(container: dict, name: str) -> set[str] | None:
    """The IPv4 addresses busybox nslookup prints for `name`; None: it does not exist."""
    proc = sh(container, f"nslookup {name}")
    if "NXDOMAIN" in proc.stdout + proc.stderr:
        return None
    lines = proc.stdout.splitlines()
    return {line.split()[-1] for i, line in enumerate(lines)
            if line.startswith("Address:") and i and lines[i - 1].startswith("Name:")}


def query(container: dict, server: str, name: str, qtype: str = "A", tcp: bool = False,
          times: int = 1) -> tuple[int, float, list[str]]:
    """(rcode, median ms, ["ip/ttl", ...]) of `times` queries by dnslib, from the
    container's network namespace."""
    proc = subprocess.run(["nsenter", f"--net=/proc/{container['State']['Pid']}/ns/net",
                           sys.executable, "-c", QUERY, server, name, qtype,
                           "tcp" if tcp else "udp", str(times)], capture_output=True,
                          text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    rcode, took, *records = proc.stdout.split()
    return int(rcode), float(took), records


def vip(cluster: Cluster, service: str, network: str) -> str:
    [net] = json.loads(cluster.cli(MANAGER, f"network inspect {network}"))
    [svc] = json.loads(cluster.cli(MANAGER, f"service inspect {service}"))
    [addr] = [v["Addr"] for v in svc["Endpoint"].get("VirtualIPs") or []
              if v["NetworkID"] == net["Id"]]
    return addr.split("/")[0]


@pytest.fixture(scope="module")
def services(cluster):
    """web (3 replicas, alias www) and rr (dnsrr) on front, other on back, and a client
    task on front, both pinned to the manager (so that its node has both networks: what
    keeps them apart is the isolation, not a missing route)."""
    cluster.cli(MANAGER, f"service create -d --name web --replicas 3 "
                         f"--network name=front,alias=www {IMAGE}")
    cluster.cli(MANAGER, f"service create -d --name rr --endpoint-mode dnsrr --replicas 2 "
                         f"--network front {IMAGE}")
    cluster.cli(MANAGER, f"service create -d --name other --network back "
                         f"--constraint node.hostname=={MANAGER} {IMAGE}")
    cluster.cli(MANAGER, f"service create -d --name client --network front "
                         f"--constraint node.hostname=={MANAGER} {IMAGE}")
    eventually(lambda: len(containers("web")) == 3 and len(containers("rr")) == 2
               and containers("other") and containers("client"), timeout=60)
    [client] = containers("client")
    return client


def test_service_name_is_its_vip_and_reaches_every_replica(cluster, services):
    client = services
    address = vip(cluster, "web", "front")
    assert lookup(client, "web") == {address}
    hostnames = {c["Config"]["Hostname"] for c in containers("web")}
    elsewhere = {c["Config"]["Labels"]["swarmlet.machine"] for c in containers("web")}
    assert elsewhere - {MANAGER}, "no replica on another machine"

    def page() -> str:
        out = sh(client, GET.format(host="web")).stdout.strip()
        return out.splitlines()[-1] if out else ""
    seen: set[str] = set()

    def every_replica() -> bool:
        seen.update(page() for _ in range(6))
        return hostnames <= seen
    eventually(every_replica, timeout=20)
    assert seen - {""} == hostnames


def test_tasks_name_and_aliases(cluster, services):
    client = services
    tasks = addresses("web", "front")
    assert len(tasks) == 3
    assert lookup(client, "tasks.web") == tasks
    assert lookup(client, "www") == {vip(cluster, "web", "front")}
    assert lookup(client, "tasks.www") == tasks
    assert sh(client, GET.format(host="www")).stdout.strip()


def test_dnsrr_service_is_its_tasks_and_has_no_vip(cluster, services):
    client = services
    [svc] = json.loads(cluster.cli(MANAGER, "service inspect rr"))
    assert not svc["Endpoint"].get("VirtualIPs")
    tasks = addresses("rr", "front")
    assert len(tasks) == 2
    assert lookup(client, "rr") == tasks
    assert lookup(client, "tasks.rr") == tasks
    assert sh(client, GET.format(host="rr")).stdout.strip()


def test_a_service_on_another_network_is_not_found(cluster, services):
    client = services
    assert lookup(client, "other") is None
    assert lookup(client, "tasks.other") is None
    proc = sh(client, GET.format(host="other"))
    assert not proc.stdout.strip() and "bad address 'other'" in proc.stderr
    [other] = containers("other")
    assert lookup(other, "web") is None  # and the other way round
    assert lookup(other, "other") == {vip(cluster, "other", "back")}
    # Nor reachable by address: its task's, its VIP, and the other way round.
    for target in (*addresses("other", "back"), vip(cluster, "other", "back")):
        assert not sh(client, GET.format(host=target)).stdout.strip(), target
    for target in addresses("client", "front"):
        assert not sh(other, GET.format(host=target)).stdout.strip(), target
    assert sh(other, GET.format(host="other")).stdout.strip()  # its own network works


def test_other_names_go_to_the_configured_upstream(cluster, services):
    client = services
    upstream = cluster.machines.ip(MANAGER)
    assert lookup(client, OUTSIDE) == {upstream}
    assert lookup(client, "nothing.test") is None  # the upstream's NXDOMAIN
    log = cluster.run(MANAGER, f"cat {UPSTREAM_LOG}").stdout
    asked = [line.split() for line in log.splitlines() if OUTSIDE in line]
    assert asked and all(a[1] in {cluster.machines.ip(m) for m in NODES} for a in asked)
    # names of the asker's networks are answered here; `other` asked for web (not on its
    # network): that one went out, as with Docker
    assert " tasks.web. " not in log and " www. " not in log and " rr. " not in log


def test_tcp_aaaa_and_ttl(cluster, services):
    client = services
    [server] = client["HostConfig"]["Dns"]  # the node's address on front
    address = vip(cluster, "web", "front")
    for target in (server, "127.0.0.11"):  # the node's resolver, and through dockerd's
        for tcp in (False, True):
            rcode, _, records = query(client, target, "web", tcp=tcp)
            assert (rcode, records) == (0, [f"{address}/600"]), (target, tcp)
    rcode, _, records = query(client, server, "web", "AAAA")
    assert (rcode, records) == (0, [])  # no IPv6: an empty answer, not NXDOMAIN
    rcode, _, records = query(client, server, OUTSIDE, tcp=True)
    assert (rcode, records) == (0, [f"{cluster.machines.ip(MANAGER)}/60"])
    for name, target, tcp in (("tasks.web", server, False), ("tasks.web", server, True),
                              (OUTSIDE, server, False), ("tasks.web", "127.0.0.11", False)):
        took = query(client, target, name, tcp=tcp, times=100)[1]
        print(f"\n{name} from a task to {target} ({'tcp' if tcp else 'udp'}): "
              f"median {took:.2f} ms of 100", end="")


def test_scaling_changes_the_tasks_answer(cluster, services):
    client = services
    cluster.cli(MANAGER, "service scale web=1 -d")
    started = time.monotonic()
    eventually(lambda: lookup(client, "tasks.web") == addresses("web", "front")
               and len(addresses("web", "front")) == 1, timeout=30)
    print(f"\nscale 3 -> 1: tasks.web follows within {time.monotonic() - started:.2f} s")
    cluster.cli(MANAGER, "service scale web=4 -d")
    eventually(lambda: len(addresses("web", "front")) == 4, timeout=60)
    eventually(lambda: lookup(client, "tasks.web") == addresses("web", "front"), timeout=10)


def test_leaving_takes_the_listeners(cluster, services):
    def listeners(machine: str) -> str:
        return cluster.run(machine, "ss -Hlnu sport = :53; ss -Hlnt sport = :53").stdout
    assert listeners(W2).count(":53") >= 4  # udp and tcp on ingress and front at least
    assert cluster.cli(W2, "swarm leave").strip() == "Node left the swarm."
    assert listeners(W2).strip() == ""
