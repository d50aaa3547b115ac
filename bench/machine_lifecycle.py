"""How long local machines take to create, boot, stop and remove, and what their disk layer
(lazyfs: unsynced writes in memory, lost at `stop`) costs inside them.

    .venv/bin/python bench/machine_lifecycle.py [N]      (default N=5; root)

Machines: $SWARMLET_BENCH_PREFIX + bench0.. in $SWARMLET_MACHINE_STORAGE_PATH, else in a
store of the benchmark's own (see bench/_machines.py). Prints one row per operation: total
seconds for N machines and the mean per machine; then, in the first machine, the disk rows:
append + fdatasync latency on /var/lib/swarmlet (lazyfs) and /run/swarmlet (tmpfs), and a
venv in /opt/swarmlet (copied in and fsynced file by file, as an installer that syncs would)
importing the agent with a cold and a warm kernel cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machines import PREFIX

SWARMLET = str(Path(sys.executable).parent / "swarmlet")
VENV = Path(sys.prefix)

SYNC_LATENCY = """
import os, statistics, sys, time
path, n = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
record, times = b"r" * 256, []
for i in range(n):
    t = time.perf_counter()
    os.pwrite(fd, record, i * 256)
    os.fdatasync(fd)
    times.append(time.perf_counter() - t)
os.close(fd)
os.unlink(path)
times.sort()
print(f"{statistics.mean(times) * 1e6:.0f} us mean, {times[int(n * 0.99)] * 1e6:.0f} us p99")
"""

FSYNC_TREE = """
import os, sys
for d, _dirs, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(d, f)
        if not os.path.islink(p):
            fd = os.open(p, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
"""


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    own = tempfile.mkdtemp(prefix="swarmlet-bench-")
    store = os.environ.get("SWARMLET_MACHINE_STORAGE_PATH") or own
    env = {**os.environ, "SWARMLET_MACHINE_STORAGE_PATH": store}
    names = [f"{PREFIX}bench{i}" for i in range(n)]
    first = names[0]

    def cli(*args: str) -> str:
        return subprocess.run([SWARMLET, "machine", *args], env=env, check=True,
                              capture_output=True, text=True).stdout

    def on(command: str) -> str:
        return cli("ssh", first, "--", command)

    rows: list[tuple[str, float]] = []
    disk: list[tuple[str, str]] = []

    def timed(label: str, *calls: tuple[str, ...]) -> None:
        start = time.perf_counter()
        for args in calls:
            cli(*args)
        rows.append((label, time.perf_counter() - start))

    def seconds(command: str) -> str:
        start = time.perf_counter()
        on(command)
        return f"{time.perf_counter() - start:.2f} s"

    try:
        timed("create (boot + agent up)", ("create", *names))
        timed("ssh: first command", *[("ssh", m, "--", "true") for m in names])
        timed("stop (power cut)", *[("stop", m) for m in names])
        timed("start (boot + agent up)", *[("start", m) for m in names])
        timed("disconnect + connect", *[a for m in names for a in (("disconnect", m),
                                                                    ("connect", m))])
        script = Path(own) / "sync_latency.py"
        script.write_text(SYNC_LATENCY)
        for where in ("/var/lib/swarmlet", "/run/swarmlet"):
            disk.append((f"append 256 B + fdatasync, {where}",
                         on(f"python3 {script} {where}/bench.log 2000").strip()))
        tree = Path(own) / "fsync_tree.py"
        tree.write_text(FSYNC_TREE)
        disk.append(("copy the venv into /opt/swarmlet (cp -a)",
                     seconds(f"cp -a {VENV} /opt/swarmlet/bench-venv")))
        disk.append(("  then fsync each of its files", seconds(
            f"python3 {tree} /opt/swarmlet/bench-venv")))
        cli("stop", first)
        cli("start", first)  # a cold kernel cache; the venv is on the disk, fsynced
        imports = "/opt/swarmlet/bench-venv/bin/python -c 'import swarmlet.daemon.main'"
        disk.append(("import the agent from it, cold cache", seconds(imports)))
        disk.append(("  again, warm", seconds(imports)))
        disk.append(("  the same from the host's venv", seconds(
            f"{VENV}/bin/python -c 'import swarmlet.daemon.main'")))
        timed("rm", ("rm", *names))
    finally:
        subprocess.run([SWARMLET, "machine", "rm", *names], env=env, capture_output=True)
        shutil.rmtree(own, ignore_errors=True)

    print(f"swarmlet machine, {n} machines, {os.cpu_count()} CPUs, "
          f"load average {Path('/proc/loadavg').read_text().split()[0]}")
    print(f"{'operation':<26} {'total s':>9} {'per machine s':>14}")
    for label, total in rows:
        print(f"{label:<26} {total:>9.2f} {total / n:>14.3f}")
    print(f"\nthe disk of {first} (lazyfs)")
    width = max(len(label) for label, _ in disk)
    for label, value in disk:
        print(f"{label:<{width}}   {value}")


if __name__ == "__main__":
    main()
