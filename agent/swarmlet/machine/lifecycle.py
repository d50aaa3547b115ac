"""Create, start, stop and remove local machines.

`start` is a boot: a fresh network namespace with the machine's address, then its init
(boot.py) in fresh mount and UTS namespaces. `stop` is a power cut: every process of the
machine is killed, the containers its agent started are killed, and the network namespace
goes away with every link, address, route and nft table inside it. The machine's disk (its
private directories) stays until `rm`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from swarmlet.errors import SwarmletError
from swarmlet.machine import containers, leases, processes, underlay
from swarmlet.machine.command import run
from swarmlet.machine.names import check_name, check_unique
from swarmlet.machine.ssh import ensure_client_key, write_known_hosts, write_sshd_files
from swarmlet.machine.store import PRIVATE_DIRS, Machine, MachineStore
from swarmlet.worker import task_files

BOOT_TIMEOUT = 20.0

RUNNING, STOPPED, DISCONNECTED = "Running", "Stopped", "Disconnected"


def netns_file(machine: Machine) -> Path:
    return Path("/run/netns") / machine.netns


def init_pid(store: MachineStore, machine: Machine) -> int | None:
    """The PID of the machine's running init, or None when the machine is stopped."""
    try:
        pid, start_time = store.pid_path(machine.name).read_text().split()
    except (OSError, ValueError):
        return None
    return int(pid) if processes.is_alive(int(pid), start_time) else None


def state(store: MachineStore, machine: Machine) -> str:
    if init_pid(store, machine) is None:
        return STOPPED
    return RUNNING if machine.connected else DISCONNECTED


def create(store: MachineStore, names: list[str], agent: bool = True) -> list[Machine]:
    """Create and boot machines. Everything is checked before anything is made. With
    `agent`, swarmletd (of this venv) is installed to start at boot, as docker-machine
    provisions Docker Engine."""
    for name in names:
        check_name(name)
    check_unique(names)
    with store.locked():
        for name in names:
            if store.exists(name):
                raise SwarmletError(f'Host already exists: "{name}"')
            if Path("/run/netns", f"swarmlet-{name}").exists():
                raise SwarmletError(
                    f'Host already exists: "{name}" (network namespace swarmlet-{name} belongs '
                    "to a machine of another store)"
                )
        with leases.allocating():
            ips = store.allocate(len(names), underlay.addresses_in_use() | leases.leased())
            for name, ip in zip(names, ips, strict=True):
                leases.take(ip, store.dir(name) / "machine.json")
        ensure_client_key(store)
        made = []
        for name, ip in zip(names, ips, strict=True):
            machine = Machine(name=name, ip=ip)
            _write_disk(store, machine)
            if agent:
                install_agent(store, machine)
            store.save(machine)
            write_known_hosts(store)
            try:
                _boot(store, machine)
            except Exception:
                _remove(store, machine)
                write_known_hosts(store)
                raise
            made.append(machine)
        return made


def _write_disk(store: MachineStore, machine: Machine) -> None:
    d = store.dir(machine.name)
    d.mkdir(parents=True, exist_ok=True, mode=0o755)
    for path in PRIVATE_DIRS:
        store.private_dir(machine.name, path).mkdir(parents=True, exist_ok=True)
    (d / "hostname").write_text(f"{machine.name}\n")
    (d / "hosts").write_text(
        f"127.0.0.1\tlocalhost\n{machine.ip}\t{machine.name}\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
    )
    write_sshd_files(store, machine)


def install_agent(store: MachineStore, machine: Machine) -> None:
    """swarmletd as a boot service of the machine, with its config (advertise address)."""
    etc = store.private_dir(machine.name, "/etc/swarmlet")
    (etc / "swarmlet.yml").write_text(
        "# Written by `swarmlet machine create`; see docs/agent.md for every setting.\n"
        f"advertise_addr: {machine.ip}\n"
    )
    service = etc / "sv" / "swarmletd"
    service.mkdir(parents=True, exist_ok=True)
    (service / "run").write_text("#!/bin/sh\nexec /opt/swarmlet/bin/swarmletd\n")
    (service / "run").chmod(0o755)
    (service / "check").write_text("#!/bin/sh\nexec test -S /run/swarmlet/swarmlet.sock\n")
    (service / "check").chmod(0o755)
    # The commands of this venv, where the Ansible role would install them on a real host.
    bin_dir = store.private_dir(machine.name, "/opt/swarmlet") / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for command in ("swarmlet", "swarmletd"):
        link = bin_dir / command
        link.unlink(missing_ok=True)
        link.symlink_to(Path(sys.executable).parent / command)


def start(store: MachineStore, name: str) -> bool:
    """Boot a stopped machine. False if it was already running."""
    with store.locked():
        machine = store.get(name)
        if init_pid(store, machine) is not None:
            return False
        _boot(store, machine)
        return True


def _boot(store: MachineStore, machine: Machine) -> None:
    _power_off(store, machine)  # leftovers of a crash, if any
    underlay.ensure_bridge()
    run("ip", "netns", "add", machine.netns)
    underlay.plug(machine)
    log = store.log_path(machine.name)
    with open(log, "ab") as out:
        # setsid --fork: the init is nobody's child here, so it never lingers as a zombie.
        subprocess.run(
            ["setsid", "--fork", "ip", "netns", "exec", machine.netns,
             sys.executable, "-m", "swarmlet.machine.boot", str(store.root), machine.name],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, check=True,
            # Into the machine's cgroup before anything of the machine runs: all that
            # the init starts inherits it, so `stop` can end it all with cgroup.kill.
            preexec_fn=lambda: processes.join_cgroup(machine.cgroup_name),
        )
    deadline = time.monotonic() + BOOT_TIMEOUT
    while init_pid(store, machine) is None:
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace").splitlines()[-10:]
            _power_off(store, machine)
            raise SwarmletError(
                f'Machine "{machine.name}" did not boot within {BOOT_TIMEOUT:.0f} s. '
                f"Last lines of {log}:\n" + "\n".join(tail)
            )
        time.sleep(0.05)


def stop(store: MachineStore, name: str) -> bool:
    """Cut the power of a running machine. False if it was already stopped."""
    with store.locked():
        machine = store.get(name)
        was_running = init_pid(store, machine) is not None
        _power_off(store, machine)
        return was_running


def _power_off(store: MachineStore, machine: Machine) -> None:
    # A power cut: the agent dies with the machine, before its containers. (dockerd then
    # waits tens of seconds on each overlay container it stops, its network driver being
    # gone: see docs/networking.md. Killing containers first made the dying agent report
    # their failures, which a power cut never does.)
    processes.kill_all(machine.cgroup_name, netns_file(machine))
    containers.kill(machine.name)
    task_files.unmount_all(machine.name)  # its tasks' secrets lived in its RAM
    underlay.unplug(machine)
    if netns_file(machine).exists():
        run("ip", "netns", "delete", machine.netns)
    store.pid_path(machine.name).unlink(missing_ok=True)


def remove(store: MachineStore, names: list[str]) -> None:
    """Remove machines and everything of theirs: processes, containers, links, disk."""
    with store.locked():
        machines = [store.get(name) for name in names]  # all known, or nothing is removed
        for machine in machines:
            _remove(store, machine)
        write_known_hosts(store)
        underlay.remove_bridge_if_unused()


def _remove(store: MachineStore, machine: Machine) -> None:
    _power_off(store, machine)
    containers.remove(machine.name)
    store.delete(machine.name)
    leases.release(machine.ip, store.dir(machine.name) / "machine.json")


def set_connected(store: MachineStore, name: str, connected: bool) -> None:
    """Plug the machine's cable in or pull it out; the machine keeps running either way."""
    with store.locked():
        machine = store.get(name)
        machine.connected = connected
        store.save(machine)  # a pulled cable stays pulled across stop/start
        if init_pid(store, machine) is not None:
            if connected:
                underlay.connect(machine)
            else:
                underlay.disconnect(machine)

