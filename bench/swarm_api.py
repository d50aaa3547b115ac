"""Raft writes through the agent API, and leader failover, on three local manager machines.

    .venv/bin/python bench/swarm_api.py [WRITES [FAILOVERS]]   (root; default 300 writes, 3)

Machines: bench/_machines.py (names SWARMLET_BENCH_PREFIX + m1..m3, store
$SWARMLET_MACHINE_STORAGE_PATH or a temporary one). Makes 3 machines, a swarm of 3 managers,
then:
- sequential writes: `node update` of a label through the API of the leader and of a
  follower (each write = GET the node for its version, then POST the update, as the CLI does,
  on one kept-alive connection);
- steadiness under CPU load: 2 busy loops per CPU (started and stopped here, by PID) while
  the writes run again through the leader; the Raft term before and after on every manager
  (a changed term = a spurious election);
- failover, FAILOVERS times: the leader's machine is stopped (a power cut); the time from
  just before the stop command until a write through a surviving manager succeeds; the
  stopped machine is started again and rejoins before the next run.
Prints a table with the conditions.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

from _machines import BenchMachines, print_rows

from swarmlet.store.raft import RaftTimings

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

# Runs inside a machine: this manager's Raft term.
TERM = r"""
from swarmlet.client import Client
print(Client().get("/info")["Swarm"]["Raft"]["term"])
"""

MACHINES = [BenchMachines.name(s) for s in ("m1", "m2", "m3")]


def busy_loops(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def main() -> None:
    writes = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    failovers = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    machines = BenchMachines({"writer.py": WRITER, "retry.py": RETRY, "term.py": TERM})

    def leader_of(machine: str) -> str:
        rows = [json.loads(line) for line in
                machines.on(machine, "swarmlet node ls --format json").splitlines()]
        return next(r["Hostname"] for r in rows if r["ManagerStatus"] == "Leader")

    def rate(machine: str) -> str:
        seconds = float(machines.py(machine, "writer.py", MACHINES[2], str(writes)))
        return f"{writes / seconds:.0f} writes/s ({seconds / writes * 1000:.1f} ms each)"

    def all_reachable(machine: str) -> bool:
        rows = [json.loads(line) for line in
                machines.on(machine, "swarmlet node ls --format json").splitlines()]
        return all(r["ManagerStatus"] in ("Leader", "Reachable") for r in rows)

    rows: list[tuple[str, str]] = []
    try:
        machines.swarm(MACHINES[0], MACHINES[1:], role="manager")
        leader = leader_of(MACHINES[0])
        follower = next(m for m in MACHINES if m != leader)
        rows.append(("node update via the leader", rate(leader)))
        rows.append(("node update via a follower", rate(follower)))

        terms = [machines.py(m, "term.py").strip() for m in MACHINES]
        hogs = busy_loops(2 * (os.cpu_count() or 1))
        try:
            under_load = rate(leader)
        finally:
            for hog in hogs:
                hog.kill()
                hog.wait()
        after = [machines.py(m, "term.py").strip() for m in MACHINES]
        rows.append((f"node update via the leader, {len(hogs)} busy loops", under_load))
        rows.append(("  Raft terms before -> after (spurious elections?)",
                     f"{','.join(terms)} -> {','.join(after)}"
                     f" ({'none' if terms == after else 'TERM CHANGED'})"))

        times = []
        for _ in range(failovers):
            leader = leader_of(next(m for m in MACHINES))
            survivor = next(m for m in MACHINES if m != leader)
            stopped = time.time()
            machines("stop", leader)
            done = float(machines.py(survivor, "retry.py", survivor))
            times.append(done - stopped)
            machines("start", leader)
            deadline = time.monotonic() + 60
            while not all_reachable(survivor):
                if time.monotonic() > deadline:
                    raise SystemExit(f"{leader} did not rejoin within 60 s")
                time.sleep(0.5)
        rows.append(("leader failover (power cut -> write OK)",
                     f"median {statistics.median(times):.2f} s "
                     f"(runs: {', '.join(f'{t:.2f}' for t in times)})"))
    finally:
        machines.close()

    t = RaftTimings()
    print(f"swarmlet API on 3 manager machines (local, one host), {os.cpu_count()} CPUs shared "
          f"with whatever else runs (load average {os.getloadavg()[0]:.1f}: wall-clock figures "
          f"are noisy), {writes} sequential writes per row over the unix socket; Raft election "
          f"timeout {t.election_min}-{t.election_max} s, heartbeat {t.heartbeat} s, leader "
          f"fallback {t.leader_fallback} s; failover times include the stop command")
    print_rows(rows)


if __name__ == "__main__":
    main()
