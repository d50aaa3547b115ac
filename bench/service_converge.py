"""Service convergence: swarmlet against Docker Swarm on this machine, in the same run; and
the failover time of a stopped machine.

    .venv/bin/python bench/service_converge.py [--no-failover] [N ...]
                                                   (root; default N = 10 30)

Machines: bench/_machines.py (names SWARMLET_BENCH_PREFIX + one, m, w1, w2).

(a) `service create -d --replicas N swarmlet/demo:latest` until N tasks are running:
    swarmlet on one local machine (manager + worker, default settings) and Docker Swarm
    (`docker swarm init` on the root namespace, left again at the end), each timed from the
    create call to the last task running; printed with their ratio.
(c) three machines, 6 replicas, default 5 s heartbeat: a worker's machine is stopped; the
    time until 6 tasks run again, none on it.

Run it alone: Docker Swarm in the host's dockerd, which every local machine shares, can
deadlock that dockerd's plugin registry while other machines' network drivers are in use
(bench/rolling_update.py tells how).
"""

from __future__ import annotations

import json
import os
import sys
import time

import docker
from _machines import BenchMachines

IMAGE = "swarmlet/demo:latest"

# Runs inside a machine: create the service, poll the API until N run; print the seconds.
CONVERGE = r"""
import sys, time
from swarmlet.client import Client
c, name, n = Client(), sys.argv[1], int(sys.argv[2])
spec = {"Name": name, "TaskTemplate": {"ContainerSpec": {"Image": sys.argv[3]}},
        "Mode": {"Replicated": {"Replicas": n}}}
start = time.perf_counter()
c.post("/services/create", spec)
while c.get(f"/services/{name}")["ServiceStatus"]["RunningTasks"] < n:
    time.sleep(0.05)
print(time.perf_counter() - start)
"""

# Runs inside a machine: wait until the service runs N tasks, none on NODE; print unix time.
RECOVERED = r"""
import sys, time
from swarmlet.client import Client
c, name, n, node = Client(), sys.argv[1], int(sys.argv[2]), sys.argv[3]
while True:
    ts = [t for t in c.get("/tasks", service=name) if t["DesiredState"] == "running"
          and t["Status"]["State"] == "running"]
    if len(ts) >= n and node not in {t["NodeID"] for t in ts}:
        print(time.time()); break
    time.sleep(0.1)
"""


class Machines(BenchMachines):
    def __init__(self) -> None:
        super().__init__({"converge.py": CONVERGE, "recovered.py": RECOVERED})


def swarmlet_converge(machines: Machines, counts: list[int]) -> dict[int, float]:
    one = machines.name("one")
    machines("create", one)
    machines.on(one, "swarmlet swarm init")
    times = {}
    for n in counts:
        times[n] = float(machines.py(one, "converge.py", f"conv{n}", str(n), IMAGE))
        machines.on(one, f"swarmlet service rm conv{n}")
    machines.keep_logs()
    machines("rm", one)
    return times


def docker_converge(counts: list[int]) -> dict[int, float]:
    client = docker.from_env(timeout=120)
    if client.info().get("Swarm", {}).get("LocalNodeState") == "active":
        raise SystemExit("this Docker Engine is already in a swarm: not touching it")
    had_gwbridge = bool(client.networks.list(names=["docker_gwbridge"]))
    client.swarm.init(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377")
    times = {}
    try:
        for n in counts:
            start = time.perf_counter()
            service = client.services.create(IMAGE, name=f"dconv{n}",
                                              mode=docker.types.ServiceMode("replicated", n))
            while sum(1 for t in service.tasks({"desired-state": "running"})
                      if t["Status"]["State"] == "running") < n:
                time.sleep(0.05)
            times[n] = time.perf_counter() - start
            service.remove()
            label = f"com.docker.swarm.service.id={service.id}"
            while client.api.containers(all=True, filters={"label": label}):
                time.sleep(0.2)
    finally:
        client.swarm.leave(force=True)
        if not had_gwbridge:  # swarm mode made it: leave the engine as we found it
            for net in client.networks.list(names=["docker_gwbridge"]):
                net.remove()
        client.close()
    return times


def failover(machines: Machines) -> float:
    names = [machines.name("m"), machines.name("w1"), machines.name("w2")]
    machines.swarm(names[0], names[1:])
    machines.on(names[0], f"swarmlet service create -q --name moving --replicas 6 {IMAGE}")
    rows = [json.loads(line) for line in machines.on(names[0], "swarmlet node ls --format json")
            .splitlines()]
    victim = next(r["ID"] for r in rows if r["Hostname"] == names[2])
    stopped = time.time()
    machines("stop", names[2])
    recovered = float(machines.py(names[0], "recovered.py", "moving", "6", victim))
    return recovered - stopped


def main() -> None:
    args = sys.argv[1:]
    with_failover = "--no-failover" not in args
    counts = [int(a) for a in args if a != "--no-failover"] or [10, 30]
    machines = Machines()
    moved = None
    try:
        ours = swarmlet_converge(machines, counts)
        theirs = docker_converge(counts)
        if with_failover:
            moved = failover(machines)
    finally:
        machines.close()
    print(f"service convergence, {os.cpu_count()} CPUs, image {IMAGE} (local), one node each")
    print(f"{'replicas':>8} {'swarmlet s':>11} {'Docker Swarm s':>15} {'ratio':>7}")
    for n in counts:
        print(f"{n:>8} {ours[n]:>11.2f} {theirs[n]:>15.2f} {ours[n] / theirs[n]:>7.2f}")
    if moved is not None:
        print(f"machine stopped -> its tasks running elsewhere (3 machines, 6 replicas, 5 s "
              f"heartbeat): {moved:.1f} s")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
