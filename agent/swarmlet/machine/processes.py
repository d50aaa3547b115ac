"""Finding and ending a machine's processes.

Every process of a machine descends from its init, which puts itself in a cgroup of its own
(cgroup v2) before it starts anything: `cgroup.kill` then ends them all at once, forks in
flight included, like pulling a power cord. As a second net (and where cgroup v2 is missing)
any process still inside the machine's network namespace is killed by a scan of /proc.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


def cgroup2_root() -> Path | None:
    """Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup or .../unified), if anywhere."""
    with open("/proc/self/mounts") as fh:
        for line in fh:
            _dev, mountpoint, fstype, *_ = line.split()
            if fstype == "cgroup2":
                return Path(mountpoint)
    return None


def cgroup_path(name: str) -> Path | None:
    root = cgroup2_root()
    return root / name if root else None


def program_pid(cgroup_name: str, program: str) -> int | None:
    """The PID of the process in cgroup `cgroup_name` that runs `program` (an argument of its
    command line ends with it): a machine's own agent, for a test that kills it."""
    path = cgroup_path(cgroup_name)
    if path is None:
        return None
    for pid in (path / "cgroup.procs").read_text().split():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.endswith(program.encode()) for arg in argv):
            return int(pid)
    return None


def join_cgroup(name: str) -> None:
    """Move the calling process into cgroup `name`, creating it. Children inherit it."""
    path = cgroup_path(name)
    if path is None:
        return
    path.mkdir(exist_ok=True)
    (path / "cgroup.procs").write_text(f"{os.getpid()}\n")


def process_start_time(pid: int) -> str | None:
    """The start time of a process in clock ticks since boot (field 22 of /proc/PID/stat):
    with the PID it names one process for good, even after the PID is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; the fields after its closing ')' do not.
    return stat.rsplit(")", 1)[1].split()[19]


def is_alive(pid: int, start_time: str) -> bool:
    return process_start_time(pid) == start_time


def pids_in_netns(netns_file: Path) -> list[int]:
    """PIDs of the processes whose network namespace is the one bound at `netns_file`."""
    try:
        want = netns_file.stat()
    except OSError:
        return []
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{entry}/ns/net")
        except OSError:
            continue
        if (st.st_ino, st.st_dev) == (want.st_ino, want.st_dev):
            found.append(int(entry))
    return found


def _cgroup_pids(path: Path) -> list[int]:
    try:
        return [int(p) for p in (path / "cgroup.procs").read_text().split()]
    except OSError:
        return []


def kill_all(cgroup_name: str, netns_file: Path, timeout: float = 10.0) -> None:
    """SIGKILL every process of the machine and wait until they are gone; remove the cgroup."""
    cgroup = cgroup_path(cgroup_name)
    deadline = time.monotonic() + timeout
    while True:
        if cgroup and (cgroup / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                (cgroup / "cgroup.kill").write_text("1\n")
        left = set(pids_in_netns(netns_file))
        if cgroup:
            left |= set(_cgroup_pids(cgroup))
        left.discard(os.getpid())
        if not left:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"processes {sorted(left)} did not end")
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
    if cgroup and cgroup.is_dir():
        # An emptied cgroup can be removed only once the kernel has finished with its tasks.
        for _ in range(100):
            try:
                cgroup.rmdir()
                break
            except OSError:
                time.sleep(0.05)
