"""Load balancing on three local machines (net/lb.py, net/nft.py): a published port answers
on every machine's address from the root namespace, also on a machine running no task, and
spreads over every replica; a service's VIP, from inside a task, reaches every replica
(hairpin included); scaling down takes backends out within a second or two; removing the
service leaves nothing of it in `nft list ruleset`.

Only the nftables backend: this kernel has no IPVS (/proc/net/ip_vs), so the IPVS backend
(net/ipvs.py) cannot be exercised here; its pure parts are unit-tested and
tests/integration/test_ipvs.py skips."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime

import pytest
from swarm_cluster import (
    SHARED_MANAGER,
    SHARED_WORKERS,
    Cluster,
    eventually,
    shared_cluster,  # noqa: F401 (a fixture)
)

from conftest import SWARMLET

MANAGER, (W1, W2) = SHARED_MANAGER, SHARED_WORKERS  # the swarm of test_stacks.py and others
NODES = [MANAGER, W1, W2]
IMAGE = "swarmlet/demo:latest"
GET = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {ip} 80"


@pytest.fixture(scope="module")
def cluster(shared_cluster):  # noqa: F811 (the fixture imported above)
    c = shared_cluster
    # The manager runs no task: the mesh must still answer there.
    c.cli(MANAGER, f"node update --availability drain {MANAGER}")
    c.cli(MANAGER, "network create front")
    try:
        yield c
    finally:  # the shared swarm as it was
        c.cli(MANAGER, f"node update --availability active {MANAGER}", check=False)
        c.cli(MANAGER, "network rm front", check=False)


def containers(service: str) -> list[dict]:
    """Running containers of the service on this module's machines (other runs share the
    one dockerd)."""
    ids = [i for m in NODES for i in subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=swarmlet.service.name={service}",
         "--filter", f"label=swarmlet.machine={m}"],
        capture_output=True, text=True, check=True).stdout.split()]
    if not ids:  # only ours before `inspect`: another run's dying container blocks it
        return []
    out = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True).stdout
    return [c for c in json.loads(out or "[]")
            if c["Config"]["Labels"].get("swarmlet.machine") in NODES]


def curl(ip: str, port: int = 8080) -> str:
    proc = subprocess.run(["curl", "-s", "-m", "3", f"http://{ip}:{port}/"],
                          capture_output=True, text=True)
    return proc.stdout.strip()


def from_task(container: dict, ip: str) -> str:
    proc = subprocess.run(["docker", "exec", container["Id"], "sh", "-c", GET.format(ip=ip)],
                          capture_output=True, text=True)
    return proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""


def ruleset(cluster: Cluster, machine: str) -> str:
    return cluster.run(machine, "nft list ruleset").stdout


def vip(cluster: Cluster, service: str, network: str) -> str:
    [net] = json.loads(cluster.cli(MANAGER, f"network inspect {network}"))
    [svc] = json.loads(cluster.cli(MANAGER, f"service inspect {service}"))
    [addr] = [v["Addr"] for v in svc["Endpoint"]["VirtualIPs"] if v["NetworkID"] == net["Id"]]
    return addr.split("/")[0]


def spread(get, n: int, want: int) -> set[str]:
    """Hostnames answered by `n` requests; eventually `want` distinct ones."""
    seen: set[str] = set()

    def check() -> bool:
        seen.clear()
        seen.update(get() for _ in range(n))
        return len(seen - {""}) == want and "" not in seen
    eventually(check, timeout=20)
    return seen


def test_routing_mesh_and_vip(cluster):
    out = cluster.cli(MANAGER, f"service create --name lbweb --replicas 3 --network front "
                               f"-p 8080:80 {IMAGE}")
    assert "verify: Service converged" in out
    hostnames = {c["Config"]["Hostname"] for c in containers("lbweb")}
    assert len(hostnames) == 3
    assert not [c for c in containers("lbweb")
                if c["Config"]["Labels"].get("swarmlet.machine") == MANAGER]

    # The published port on every machine's address, from the root namespace.
    for machine in NODES:
        ip = cluster.machines.ip(machine)
        assert spread(lambda ip=ip: curl(ip), 6, 3) == hostnames, machine

    # The VIP from inside a task: every replica, its own included (hairpin).
    address = vip(cluster, "lbweb", "front")
    for c in containers("lbweb"):
        assert spread(lambda c=c: from_task(c, address), 6, 3) == hostnames

    rules = ruleset(cluster, W1)  # the manager has no task, so no front network
    assert f"ip daddr {address} goto svc-lbweb" in rules
    assert "tcp dport 8080 goto ingress-lbweb-tcp-8080" in rules
    assert "numgen inc mod 3" in rules

    # Scale down: the backends leave every machine's rules within a second or two.
    assert cluster.cli(MANAGER, "service scale lbweb=1 -d").strip() == "lbweb scaled to 1"
    started = time.monotonic()
    for machine in NODES:
        eventually(lambda m=machine: "numgen inc mod 3" not in ruleset(cluster, m)
                   and "numgen inc mod 1" in ruleset(cluster, m), timeout=10)
    took = time.monotonic() - started
    # (how soon, measured from inside a machine rather than through `machine ssh` polls:
    # bench/network_lb.py, "time to leave")
    print(f"\nscale 3 -> 1: backends gone from all 3 machines' rules after {took:.2f} s")
    eventually(lambda: len(containers("lbweb")) == 1, timeout=30)
    [last] = containers("lbweb")
    ip = cluster.machines.ip(MANAGER)
    assert {curl(ip) for _ in range(4)} == {last["Config"]["Hostname"]}

    # Scale up: time from a new container's start to its address in a far machine's rules.
    cluster.cli(MANAGER, "service scale lbweb=3 -d")
    seen_at = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if "numgen inc mod 3" in cluster.run(
                MANAGER, "nft list chain ip swarmlet ingress-lbweb-tcp-8080").stdout:
            seen_at = time.time()
            break
        time.sleep(0.05)
    assert seen_at is not None
    newest = max(_started(c) for c in containers("lbweb"))
    print(f"scale 1 -> 3: newest container started -> in the manager's rules: "
          f"{seen_at - newest:.2f} s")
    spread(lambda: curl(ip), 6, 3)

    # Removed: nothing of it is left in any machine's ruleset, nor its VIPs.
    cluster.cli(MANAGER, "service rm lbweb")
    for machine in NODES:
        eventually(lambda m=machine: "lbweb" not in ruleset(cluster, m)
                   and address not in cluster.run(m, "ip -4 addr show dev lo").stdout,
                   timeout=30)
    eventually(lambda: not containers("lbweb"), timeout=60)


def _started(container: dict) -> float:
    fresh = subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}}", container["Id"]],
                           capture_output=True, text=True).stdout.strip()
    whole, _, frac = fresh.rstrip("Z").partition(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float(f"0.{frac or 0}")


# One connection: answer with the peer's address.
LISTEN = ("import socket; s = socket.create_server(('{ip}', 9099)); c, peer = s.accept(); "
          "c.sendall(peer[0].encode()); c.close()")


def test_a_task_reaches_the_outside_through_its_node(cluster):
    """Egress: a task on an overlay reaches an address beyond the overlays (another
    machine's underlay address) from its node's address, as through Docker's gwbridge."""
    cluster.cli(MANAGER, f"service create -d --name lbout --network front {IMAGE}")
    eventually(lambda: len(containers("lbout")) == 1, timeout=30)
    [task] = containers("lbout")
    node = task["Config"]["Labels"]["swarmlet.machine"]
    target = cluster.machines.ip(MANAGER)
    listener = subprocess.Popen(
        [SWARMLET, "machine", "ssh", MANAGER, "--",
         f'{sys.executable} -c "{LISTEN.format(ip=target)}"'],
        env=cluster.machines.env, stdout=subprocess.PIPE, text=True)
    try:
        answer = eventually(lambda: subprocess.run(
            ["docker", "exec", task["Id"], "sh", "-c", f"nc -w 2 {target} 9099 </dev/null"],
            capture_output=True, text=True).stdout.strip(), timeout=20)
        assert answer == cluster.machines.ip(node)
    finally:
        listener.kill()
        listener.wait()
        cluster.cli(MANAGER, "service rm lbout")
        eventually(lambda: not containers("lbout"), timeout=60)


def test_a_host_mode_port_answers_only_where_its_task_runs(cluster):
    cluster.cli(MANAGER, f"service create -d --name lbhost --constraint node.hostname=={W1} "
                         f"--publish published=9090,target=80,mode=host {IMAGE}")
    eventually(lambda: len(containers("lbhost")) == 1, timeout=30)
    [task] = containers("lbhost")
    assert task["Config"]["Labels"]["swarmlet.machine"] == W1
    w1 = cluster.machines.ip(W1)
    eventually(lambda: curl(w1, 9090) == task["Config"]["Hostname"], timeout=10)
    for machine in (MANAGER, W2):
        assert curl(cluster.machines.ip(machine), 9090) == "", machine
    assert "tcp dport 9090 goto host-tcp-9090" in ruleset(cluster, W1)
    assert "9090" not in ruleset(cluster, W2)
    # Tables deleted by hand come back on a later pass of the agent.
    cluster.run(W1, "nft delete table ip swarmlet")
    assert curl(w1, 9090) == ""
    eventually(lambda: curl(w1, 9090) == task["Config"]["Hostname"], timeout=40)
    cluster.cli(MANAGER, "service rm lbhost")
    eventually(lambda: "9090" not in ruleset(cluster, W1), timeout=10)
    eventually(lambda: not containers("lbhost"), timeout=60)
