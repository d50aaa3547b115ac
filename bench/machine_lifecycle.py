"""How long local machines take to create, boot, stop and remove.

    .venv/bin/python bench/machine_lifecycle.py [N]      (default N=5; root; uses its own store)

Prints one row per operation: total seconds for N machines and the mean per machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SWARMLET = str(Path(sys.executable).parent / "swarmlet")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    store = tempfile.mkdtemp(prefix="swarmlet-bench-")
    env = {**os.environ, "SWARMLET_MACHINE_STORAGE_PATH": store}
    names = [f"bench{i}" for i in range(n)]

    def cli(*args: str) -> None:
        subprocess.run([SWARMLET, "machine", *args], env=env, check=True, capture_output=True)

    rows: list[tuple[str, float]] = []

    def timed(label: str, *calls: tuple[str, ...]) -> None:
        start = time.perf_counter()
        for args in calls:
            cli(*args)
        rows.append((label, time.perf_counter() - start))

    try:
        timed("create (boot + sshd up)", ("create", *names))
        timed("ssh: first command", *[("ssh", m, "--", "true") for m in names])
        timed("stop (power cut)", *[("stop", m) for m in names])
        timed("start (boot + sshd up)", *[("start", m) for m in names])
        timed("disconnect + connect", *[a for m in names for a in (("disconnect", m),
                                                                    ("connect", m))])
        timed("rm --all", ("rm", "--all"))
    finally:
        subprocess.run([SWARMLET, "machine", "rm", "--all"], env=env, capture_output=True)
        shutil.rmtree(store, ignore_errors=True)

    print(f"swarmlet machine, {n} machines, {os.cpu_count()} CPUs")
    print(f"{'operation':<26} {'total s':>9} {'per machine s':>14}")
    for label, seconds in rows:
        print(f"{label:<26} {seconds:>9.2f} {seconds / n:>14.3f}")


if __name__ == "__main__":
    main()
