"""The machine's disk: its private directories served by the LazyFS layer (lazyfs.py).

The init starts one lazyfs process over `<store>/machines/NAME/root` (the disk), mounted on
`<store>/machines/NAME/disk` inside the machine's mount namespace only, and bind-mounts
/etc/swarmlet, /var/lib/swarmlet and /opt/swarmlet from that mount. The process is in the
machine's cgroup: `machine stop` kills it with the rest, and the writes it held in memory
(never fsynced) are lost as at a power cut. A clean shutdown of the init (SIGTERM) stops it
with SIGTERM, which writes everything back first.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from swarmlet.machine.store import Machine, MachineStore

MOUNT_TIMEOUT = 10.0


def _mounted(path: Path) -> bool:
    with open("/proc/self/mounts") as fh:
        return any(line.split()[1] == str(path) for line in fh)


def mount(store: MachineStore, machine: Machine) -> subprocess.Popen:
    """Start the machine's lazyfs and wait until its mount is up; the process is returned."""
    backing = store.dir(machine.name) / "root"
    mountpoint = store.disk_path(machine.name)
    mountpoint.mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "swarmlet.machine.lazyfs", str(backing), str(mountpoint)],
        stdin=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + MOUNT_TIMEOUT
    while not _mounted(mountpoint):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the machine's disk ({mountpoint}) did not mount")
        time.sleep(0.01)
    return proc


def unmount(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """A clean shutdown: lazyfs writes back what it holds, then unmounts and exits."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
