"""Raft writes through the agent API, and leader failover, on three local manager machines.

    .venv/bin/python bench/swarm_api.py [WRITES]      (root; default 300 writes)

Machines: bench/_machines.py (names SWARMLET_BENCH_PREFIX + m1..m3, store
$SWARMLET_MACHINE_STORAGE_PATH or a temporary one). Makes 3 machines, a swarm of 3 managers,
then:
- sequential writes: `node update` of a label through the API of the leader and of a
  follower (each write = GET the node for its version, then POST the update, as the CLI does);
- failover: the leader's machine is stopped (a power cut); the time until a write through a
  surviving manager succeeds.
Prints a table with the conditions.
"""

from __future__ import annotations

import json
import os
import sys
import time

from _machines import BenchMachines

# Runs inside a machine: N label updates through the local API; prints seconds taken.
WRITER = r"""
import sys, time
from swarmlet.client import Client
c = Client()
node, n = sys.argv[1], int(sys.argv[2])
start = time.perf_counter()
for i in range(n):
    cur = c.get(f"/nodes/{node}")
    spec = dict(cur["Spec"], Labels={**cur["Spec"]["Labels"], "bench": str(i)})
    c.post(f"/nodes/{cur['ID']}/update", spec, version=cur["Version"]["Index"])
print(time.perf_counter() - start)
"""

# Runs inside a machine: retries one write until it succeeds; prints the unix time of success.
RETRY = r"""
import sys, time
from swarmlet.client import Client
c = Client(timeout=5)
while True:
    try:
        cur = c.get(f"/nodes/{sys.argv[1]}")
        spec = dict(cur["Spec"], Labels={"after": "failover"})
        c.post(f"/nodes/{cur['ID']}/update", spec, version=cur["Version"]["Index"])
        print(time.time()); break
    except Exception:
        time.sleep(0.05)
"""

MACHINES = [BenchMachines.name(s) for s in ("m1", "m2", "m3")]


def main() -> None:
    writes = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    machines = BenchMachines({"writer.py": WRITER, "retry.py": RETRY})

    def leader_of(machine: str) -> str:
        rows = [json.loads(line) for line in
                machines.on(machine, "swarmlet node ls --format json").splitlines()]
        return next(r["Hostname"] for r in rows if r["ManagerStatus"] == "Leader")

    rows: list[tuple[str, str]] = []
    try:
        machines("create", *MACHINES)
        machines.on(MACHINES[0], "swarmlet swarm init")
        token = machines.on(MACHINES[0], "swarmlet swarm join-token -q manager").strip()
        ip = machines("ip", MACHINES[0]).strip()
        for m in MACHINES[1:]:
            machines.on(m, f"swarmlet swarm join --token {token} {ip}:2377")
        leader = leader_of(MACHINES[0])
        follower = next(m for m in MACHINES if m != leader)
        for label, machine in (("via the leader", leader), ("via a follower", follower)):
            seconds = float(machines.py(machine, "writer.py", MACHINES[2], str(writes)))
            rows.append((f"node update {label}", f"{writes / seconds:.0f} writes/s "
                                                 f"({seconds / writes * 1000:.1f} ms each)"))
        survivor = next(m for m in MACHINES if m != leader)
        stopped = time.time()
        machines("stop", leader)
        done = float(machines.py(survivor, "retry.py", survivor))
        rows.append(("leader failover (power cut -> write OK)", f"{done - stopped:.2f} s"))
    finally:
        machines.close()

    print(f"swarmlet API on 3 manager machines, {os.cpu_count()} CPUs, {writes} sequential "
          "writes per row, Raft election timeout 1-2 s, heartbeat 0.1 s; load average "
          f"{os.getloadavg()[0]:.1f}")
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}   {value}")


if __name__ == "__main__":
    main()
