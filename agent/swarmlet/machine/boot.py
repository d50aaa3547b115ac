"""The init of a local machine: what `swarmlet machine start` runs inside its namespaces.

`machine start` runs `ip netns exec swarmlet-NAME python -m swarmlet.machine.boot STORE NAME`,
detached, in the machine's cgroup (so `stop` ends all it starts at once). Like a host booting:

1. takes mount and UTS namespaces of its own: hostname NAME, and the machine's private
   /etc/swarmlet, /var/lib/swarmlet, /opt/swarmlet (bind mounts from its disk layer, which
   keeps unsynced writes in memory: disk.py, lazyfs.py), a fresh tmpfs on
   /run/swarmlet, and its own /etc/hostname and /etc/hosts;
2. starts sshd and every service installed in /etc/swarmlet/sv/SERVICE/run (runit's layout),
   restarting any that exits, and picking up services added or removed while it runs;
3. writes init.pid once sshd answers and each service's `check` script (if any) passes,
   which tells `machine start` the machine is up.

Services get SWARMLET_MACHINE=NAME in their environment (the agent labels its containers with
it, so that `machine stop` can stop them as a power cut would).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from swarmlet.machine import disk, processes
from swarmlet.machine.ssh import MACHINE_PATH, sshd_command, wait_for_sshd
from swarmlet.machine.store import PRIVATE_DIRS, PRIVATE_TMPFS, Machine, MachineStore

SERVICES_DIR = Path("/etc/swarmlet/sv")
RESTART_DELAY = 1.0

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUTS = 0x04000000
_PR_SET_CHILD_SUBREAPER = 36

_libc = ctypes.CDLL(None, use_errno=True)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    print(f"{stamp} init: {message}", file=sys.stderr, flush=True)


def enter_namespaces(store: MachineStore, machine: Machine) -> subprocess.Popen:
    _check(_libc.unshare(_CLONE_NEWNS | _CLONE_NEWUTS), "unshare")
    # Mounts made from here on stay in the machine; the host's still show through.
    subprocess.run(["mount", "--make-rslave", "/"], check=True)
    name = machine.name.encode()
    _check(_libc.sethostname(name, len(name)), "sethostname")

    for path in PRIVATE_DIRS:
        store.private_dir(machine.name, path).mkdir(parents=True, exist_ok=True)
    # The private directories come through the machine's disk layer, which loses unsynced
    # writes at a power cut (disk.py).
    disk_proc = disk.mount(store, machine)
    mounted = store.disk_path(machine.name)
    for path in PRIVATE_DIRS:
        os.makedirs(path, exist_ok=True)  # the mount point, on the shared root filesystem
        subprocess.run(["mount", "--bind", str(mounted / path.lstrip("/")), path], check=True)
    for path in PRIVATE_TMPFS:
        os.makedirs(path, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755,size=256m", "tmpfs", path],
                       check=True)
    for etc_file in ("hostname", "hosts"):
        source = store.dir(machine.name) / etc_file
        subprocess.run(["mount", "--bind", str(source), f"/etc/{etc_file}"], check=True)
    # sshd's privilege-separation directory (shared with the host; it is always empty).
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    return disk_proc


@dataclass
class Service:
    name: str
    argv: list[str]
    pid: int | None = None
    exited_at: float = 0.0


class Supervisor:
    """Keeps sshd and the installed services running; reaps every orphan of the machine."""

    def __init__(self, sshd: list[str], env: dict[str, str]) -> None:
        self.env = env
        self.services: dict[str, Service] = {"sshd": Service("sshd", sshd)}
        self.stopping = False

    def installed(self) -> dict[str, list[str]]:
        found = {}
        if SERVICES_DIR.is_dir():
            for d in sorted(SERVICES_DIR.iterdir()):
                run = d / "run"
                if os.access(run, os.X_OK) and not (d / "down").exists():
                    found[d.name] = [str(run)]
        return found

    def rescan(self) -> None:
        wanted = self.installed()
        for name, argv in wanted.items():
            if name not in self.services:
                self.services[name] = Service(name, argv)
        for name in [n for n in self.services if n != "sshd" and n not in wanted]:
            service = self.services.pop(name)
            if service.pid:
                log(f"service {name} was removed: stopping it (pid {service.pid})")
                _signal(service.pid, signal.SIGTERM)

    def start_due(self) -> None:
        now = time.monotonic()
        for service in self.services.values():
            if service.pid is None and now - service.exited_at >= RESTART_DELAY:
                try:
                    proc = subprocess.Popen(service.argv, env=self.env, cwd="/",
                                            stdin=subprocess.DEVNULL, start_new_session=True)
                except OSError as exc:  # e.g. a run script that a power cut left empty
                    log(f"{service.name} cannot start: {exc}; trying again")
                    service.exited_at = now
                    continue
                service.pid = proc.pid
                log(f"started {service.name} (pid {proc.pid})")

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            for service in self.services.values():
                if service.pid == pid:
                    log(f"{service.name} (pid {pid}) exited with status "
                        f"{os.waitstatus_to_exitcode(status)}; restarting it")
                    service.pid = None
                    service.exited_at = time.monotonic()

    def wait_ready(self, timeout: float) -> None:
        """Run each service's `check` script (runit's convention) until it passes, so that
        `machine start` returns with the services up; a service that never passes is logged."""
        deadline = time.monotonic() + timeout
        for name in self.services:
            check = SERVICES_DIR / name / "check"
            if not os.access(check, os.X_OK):
                continue
            while not (passed := _passes(check, self.env)):
                if passed is None:
                    break  # it cannot run: waiting will not help
                if time.monotonic() > deadline:
                    log(f"{name}: not ready after {timeout:.0f} s (its check still fails)")
                    break
                self.reap()
                self.start_due()
                time.sleep(0.1)

    def shutdown(self) -> None:
        for service in self.services.values():
            if service.pid:
                _signal(service.pid, signal.SIGTERM)


def _passes(check: Path, env: dict[str, str]) -> bool | None:
    """Whether the check passes; None if it cannot even run."""
    try:
        return subprocess.run([str(check)], env=env, cwd="/").returncode == 0
    except OSError as exc:  # e.g. a check script that a power cut left empty
        log(f"{check} cannot run: {exc}; not waiting for it")
        return None


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def main(argv: list[str]) -> int:
    store_path, name = argv
    store = MachineStore(Path(store_path))
    machine = store.get(name)
    disk_proc = enter_namespaces(store, machine)
    _check(_libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl")
    log(f"machine {name} booting at {machine.ip}")

    env = {
        "PATH": MACHINE_PATH,
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "HOSTNAME": name,
        "SWARMLET_MACHINE": name,
    }
    supervisor = Supervisor(sshd_command(store, machine), env)

    def on_term(_sig: int, _frame: object) -> None:
        supervisor.stopping = True

    signal.signal(signal.SIGTERM, on_term)
    supervisor.rescan()
    supervisor.start_due()
    if not wait_for_sshd(machine.ip, timeout=10):
        log("sshd did not answer within 10 s")
        supervisor.shutdown()
        return 1
    supervisor.wait_ready(timeout=20)
    pid_file = store.pid_path(name)
    pid_file.write_text(f"{os.getpid()} {processes.process_start_time(os.getpid())}\n")
    log("up")

    while not supervisor.stopping:
        supervisor.reap()
        supervisor.rescan()
        supervisor.start_due()
        time.sleep(0.2)
    log("SIGTERM: stopping services")
    supervisor.shutdown()
    disk.unmount(disk_proc)
    pid_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
