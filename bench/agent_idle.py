"""The agent at rest: memory and CPU of swarmletd on a worker that runs 10 tasks.

    .venv/bin/python bench/agent_idle.py [SECONDS]      (root; default 60 s of measuring)

Machines: bench/_machines.py (names SWARMLET_BENCH_PREFIX + idle-m, idle-w). A manager and a
worker; `service create --replicas 10 --constraint node.role==worker` of the demo image;
once the 10 tasks run and a settling pause has passed, the worker's swarmletd is sampled
from /proc for SECONDS: resident memory (VmRSS, and its peak VmHWM) and CPU time (user +
system) over the window. The manager's agent is shown beside it (it also runs the control
loops and Raft). Prints a table with the conditions.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from _machines import BenchMachines, print_rows

IMAGE = "swarmlet/demo:latest"
TASKS = 10
SETTLE = 10.0  # seconds after the last task runs: startup work (imports, first passes) ends
TICK = os.sysconf("SC_CLK_TCK")

# Runs inside the manager: waits until the service runs N tasks; prints the seconds waited.
RUNNING = r"""
import sys, time
from swarmlet.client import Client
c, name, n = Client(), sys.argv[1], int(sys.argv[2])
start = time.monotonic()
while c.get(f"/services/{name}")["ServiceStatus"]["RunningTasks"] < n:
    if time.monotonic() - start > 300:
        raise SystemExit("tasks did not start within 300 s")
    time.sleep(0.2)
print(time.monotonic() - start)
"""


def agent_pid(machine: str) -> int:
    """The swarmletd of a machine: the child of its `swarmlet.machine.boot ... NAME`."""
    boot = None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"swarmlet.machine.boot" in args and machine.encode() in args:
            boot = proc.name
            break
    if boot is None:
        raise SystemExit(f"no machine process for {machine}")
    for proc in Path("/proc").iterdir():
        try:
            stat = (proc / "stat").read_text()
            args = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[1] == boot and b"swarmletd" in args:
            return int(proc.name)
    raise SystemExit(f"no swarmletd in {machine}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def memory_kb(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0])
    return out


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    manager, worker = BenchMachines.name("idle-m"), BenchMachines.name("idle-w")
    machines = BenchMachines({"running.py": RUNNING})
    service = "idle10"
    rows: list[tuple[str, str]] = []
    try:
        machines.swarm(manager, [worker])
        machines.on(manager, f"swarmlet service create -d --name {service} --replicas {TASKS} "
                             f"--constraint node.role==worker {IMAGE}")
        waited = float(machines.py(manager, "running.py", service, str(TASKS)))
        time.sleep(SETTLE)
        pids = {name: agent_pid(name) for name in (worker, manager)}
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        start = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - start
        for label, name in (("worker", worker), ("manager", manager)):
            pid = pids[name]
            cpu = (cpu_seconds(pid) - before[name]) / elapsed * 100
            mem = memory_kb(pid)
            rows.append((f"{label} agent RSS (peak)",
                         f"{mem['VmRSS'] / 1024:.1f} MB ({mem['VmHWM'] / 1024:.1f} MB); "
                         f"anon {mem['RssAnon'] / 1024:.1f} MB, "
                         f"file {mem['RssFile'] / 1024:.1f} MB"))
            rows.append((f"{label} agent CPU", f"{cpu:.2f} % of one core"))
        machines.on(manager, f"swarmlet service rm {service}")
    finally:
        machines.close()

    print(f"swarmletd at rest: {TASKS} tasks of {IMAGE} on a worker machine (manager on "
          f"another), default 5 s heartbeat; sampled for {elapsed:.0f} s, {SETTLE:.0f} s after "
          f"the tasks ran ({waited:.1f} s to start them); {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} (shared machine: CPU figures are noisy)")
    print_rows(rows, indent="  ")


if __name__ == "__main__":
    main()
