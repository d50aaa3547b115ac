"""A rolling update: swarmlet against Docker Swarm on this machine, in the same run.

    .venv/bin/python bench/rolling_update.py [REPLICAS]      (root; default 10)

Both get a service of REPLICAS tasks of swarmlet/demo:latest, then an image change to a second
tag of it (swarmlet/demo:<SWARMLET_BENCH_PREFIX>v2) with parallelism 2, no delay and Docker's
default monitor (5 s); timed from the update call until the update is completed. swarmlet
runs on one local machine (bench/_machines.py: name SWARMLET_BENCH_PREFIX + roll), Docker
Swarm on the root namespace (`docker swarm init`, left again at the end). Prints both and the
ratio.

Run it when no other machines are creating or removing Docker networks: on 2026-12-06 the
`swarm init` of this run met a swarmlet agent's network call in dockerd 20.10, whose plugin
registry takes its two locks in opposite orders (moby pkg/plugins: Handle against a plugin's
activation; moby#29733 fixed an older case). dockerd then answered no network call through a
plugin, the swarm never allocated its tasks, `swarm leave` timed out: only a restart of
dockerd mended it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import docker
from _machines import PREFIX, BenchMachines

# The second tag is the run's own (with the machines' prefix): a run that ends removes it,
# and must not take it from another run meanwhile.
IMAGE, IMAGE_V2 = "swarmlet/demo:latest", f"swarmlet/demo:{PREFIX}v2"

# Runs inside the machine: create, wait until all run, update, wait for "completed".
UPDATE = r"""
import sys, time
from swarmlet.client import Client
c, n, image, image2 = Client(), int(sys.argv[1]), sys.argv[2], sys.argv[3]
spec = {"Name": "rolling", "TaskTemplate": {"ContainerSpec": {"Image": image}},
        "Mode": {"Replicated": {"Replicas": n}},
        "UpdateConfig": {"Parallelism": 2, "Delay": 0}}
c.post("/services/create", spec)
while c.get("/services/rolling")["ServiceStatus"]["RunningTasks"] < n:
    time.sleep(0.1)
svc = c.get("/services/rolling")
spec = svc["Spec"]
spec["TaskTemplate"]["ContainerSpec"]["Image"] = image2
start = time.perf_counter()
c.post(f"/services/{svc['ID']}/update", spec, version=svc["Version"]["Index"])
while (c.get("/services/rolling").get("UpdateStatus") or {}).get("State") != "completed":
    time.sleep(0.05)
print(time.perf_counter() - start)
"""


def swarmlet_update(n: int) -> float:
    machines = BenchMachines({"update.py": UPDATE})
    roll = machines.name("roll")
    try:
        machines("create", roll)
        machines.on(roll, "swarmlet swarm init")
        return float(machines.py(roll, "update.py", str(n), IMAGE, IMAGE_V2))
    finally:
        machines.close()


def docker_update(n: int) -> float:
    client = docker.from_env(timeout=120)
    if client.info().get("Swarm", {}).get("LocalNodeState") == "active":
        raise SystemExit("this Docker Engine is already in a swarm: not touching it")
    had_gwbridge = bool(client.networks.list(names=["docker_gwbridge"]))
    client.swarm.init(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377")
    try:
        service = client.services.create(
            IMAGE, name="drolling", mode=docker.types.ServiceMode("replicated", n),
            update_config=docker.types.UpdateConfig(parallelism=2, delay=0))
        while sum(1 for t in service.tasks({"desired-state": "running"})
                  if t["Status"]["State"] == "running") < n:
            time.sleep(0.1)
        start = time.perf_counter()
        service.update(image=IMAGE_V2)
        while True:
            service.reload()
            if (service.attrs.get("UpdateStatus") or {}).get("State") == "completed":
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        service.remove()
        return elapsed
    finally:
        client.swarm.leave(force=True)
        if not had_gwbridge:
            for net in client.networks.list(names=["docker_gwbridge"]):
                net.remove()
        client.close()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    subprocess.run(["docker", "tag", IMAGE, IMAGE_V2], check=True)
    try:
        ours = swarmlet_update(n)
        theirs = docker_update(n)
    finally:
        subprocess.run(["docker", "rmi", IMAGE_V2], capture_output=True)
    print(f"rolling update of {n} replicas, parallelism 2, delay 0, monitor 5 s, "
          f"{os.cpu_count()} CPUs, one node each")
    print(f"{'swarmlet s':>11} {'Docker Swarm s':>15} {'ratio':>7}")
    print(f"{ours:>11.2f} {theirs:>15.2f} {ours / theirs:>7.2f}")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
