"""No false failovers: 3 machines (1 manager, 2 workers), default settings, a service of 6
replicas, both CPUs kept busy for the whole run; counts the nodes ever marked down and the
tasks replaced. A node marked down while it runs costs its tasks, so the count must be 0.

    .venv/bin/python bench/false_failover.py [MINUTES [LOOPS]]   (root; default 10 min,
                                                                  2 busy loops per CPU)

Machines: bench/_machines.py (names SWARMLET_BENCH_PREFIX + ff-m, ff-w1, ff-w2). The busy
loops are processes of this script, started and stopped by PID. Every 2 s the manager's
`node ls` is read (a Down seen at any poll counts); at the end the service's tasks are
counted (a replaced task leaves a shut-down or failed one behind).
"""

from __future__ import annotations

import json
import os
import sys
import time

from _machines import BenchMachines
from swarm_api import busy_loops

IMAGE = "swarmlet/demo:latest"


def main() -> None:
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    loops = int(sys.argv[2]) if len(sys.argv) > 2 else 2 * (os.cpu_count() or 1)
    machines = BenchMachines({})
    names = [machines.name(s) for s in ("ff-m", "ff-w1", "ff-w2")]
    hogs = []
    downs: dict[str, int] = {}
    polls = 0
    try:
        machines.swarm(names[0], names[1:])
        machines.on(names[0], f"swarmlet service create -q --name steady --replicas 6 {IMAGE}")
        hogs = busy_loops(loops)
        started = time.monotonic()
        while time.monotonic() - started < minutes * 60:
            for line in machines.on(names[0], "swarmlet node ls --format json").splitlines():
                row = json.loads(line)
                if row["Status"] != "Ready":
                    downs[row["Hostname"]] = downs.get(row["Hostname"], 0) + 1
            polls += 1
            time.sleep(2)
        tasks = machines.on(names[0], "swarmlet service ps --format json steady").splitlines()
        replaced = sum(1 for line in tasks if json.loads(line)["DesiredState"] != "Running")
        load = os.getloadavg()[0]
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
        machines.close()
    print(f"false failovers: 3 machines (1 manager, 2 workers), default 5 s heartbeat, 6 "
          f"replicas, {loops} busy loops on {os.cpu_count()} CPUs for {minutes:g} min "
          f"(load average at the end {load:.1f}); node ls read {polls} times")
    print(f"  nodes seen Down       {sum(downs.values())} ({downs or 'none'})")
    print(f"  tasks replaced        {replaced}")


if __name__ == "__main__":
    main()
