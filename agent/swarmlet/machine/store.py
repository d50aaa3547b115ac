"""The machine store: what machines exist, their addresses, and where their files live.

Layout under the storage path (default /var/lib/swarmlet-machines, or
$SWARMLET_MACHINE_STORAGE_PATH):

    lock                     flock held by every command that changes machines
    id_ed25519[.pub]         the SSH key the tool manages (root on every machine)
    known_hosts              every machine's host key, so SSH checks it strictly
    machines/NAME/
        machine.json         name, ip, connected, created
        ssh_host_ed25519_key[.pub], sshd_config, authorized_keys
        hostname, hosts      bind-mounted over /etc/hostname and /etc/hosts
        root/etc/swarmlet    private directories, bind-mounted inside the machine
        root/var/lib/swarmlet
        root/opt/swarmlet
        disk/                    where the machine's lazyfs mounts root/ (in the machine only)
        machine.log          output of the machine's init and its services
        init.pid             "PID STARTTIME" of the running init, absent when stopped
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from swarmlet.errors import SwarmletError
from swarmlet.machine.names import check_name

STORAGE_ENV = "SWARMLET_MACHINE_STORAGE_PATH"
DEFAULT_STORAGE = Path("/var/lib/swarmlet-machines")

UNDERLAY = ipaddress.ip_network("198.18.0.0/24")
UNDERLAY_GATEWAY = ipaddress.ip_address("198.18.0.1")  # the bridge, on the root namespace

# Directories each machine has to itself (rw, kept across stop/start). /run/swarmlet is
# private too but is a fresh tmpfs at every boot, as /run is on a real host.
PRIVATE_DIRS = ("/etc/swarmlet", "/var/lib/swarmlet", "/opt/swarmlet")
PRIVATE_TMPFS = ("/run/swarmlet",)


def host_addresses() -> list[str]:
    """Every address a machine can have, in order: .2 to .254."""
    return [str(a) for a in UNDERLAY.hosts() if a != UNDERLAY_GATEWAY]


@dataclass
class Machine:
    name: str
    ip: str
    connected: bool = True
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @property
    def netns(self) -> str:
        """The network namespace (ip netns) of the machine."""
        return f"swarmlet-{self.name}"

    @property
    def host_link(self) -> str:
        """The root-namespace end of the machine's veth, named after its address (<= 15 chars)."""
        return f"swlm{self.ip.rsplit('.', 1)[1]}"

    @property
    def cgroup_name(self) -> str:
        return f"swarmlet-machine-{self.name}"


class MachineStore:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root or os.environ.get(STORAGE_ENV) or DEFAULT_STORAGE)

    # --- paths ---------------------------------------------------------------------------
    @property
    def machines_dir(self) -> Path:
        return self.root / "machines"

    @property
    def key_path(self) -> Path:
        return self.root / "id_ed25519"

    @property
    def known_hosts_path(self) -> Path:
        return self.root / "known_hosts"

    def dir(self, name: str) -> Path:
        return self.machines_dir / name

    def private_dir(self, name: str, path: str) -> Path:
        """Where the machine's private copy of `path` (e.g. /etc/swarmlet) lives on the host."""
        return self.dir(name) / "root" / path.lstrip("/")

    def disk_path(self, name: str) -> Path:
        """Where, inside the machine, its lazyfs serves root/ (machine/disk.py)."""
        return self.dir(name) / "disk"

    def log_path(self, name: str) -> Path:
        return self.dir(name) / "machine.log"

    def pid_path(self, name: str) -> Path:
        return self.dir(name) / "init.pid"

    # --- records -------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise commands that change machines (two `create`s must not share an address)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o755)
        with open(self.root / "lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield

    def exists(self, name: str) -> bool:
        return (self.dir(name) / "machine.json").is_file()

    def get(self, name: str) -> Machine:
        check_name(name)
        path = self.dir(name) / "machine.json"
        if not path.is_file():
            raise SwarmletError(f'Host does not exist: "{name}"')
        return Machine(**json.loads(path.read_text()))

    def all(self) -> list[Machine]:
        """Every machine, in address order (= creation order, as addresses are lowest-free)."""
        if not self.machines_dir.is_dir():
            return []
        found = [
            Machine(**json.loads((d / "machine.json").read_text()))
            for d in self.machines_dir.iterdir()
            if (d / "machine.json").is_file()
        ]
        return sorted(found, key=lambda m: ipaddress.ip_address(m.ip))

    def save(self, machine: Machine) -> None:
        d = self.dir(machine.name)
        d.mkdir(parents=True, exist_ok=True, mode=0o755)
        tmp = d / "machine.json.tmp"
        tmp.write_text(json.dumps(asdict(machine), indent=2) + "\n")
        tmp.replace(d / "machine.json")

    def delete(self, name: str) -> None:
        shutil.rmtree(self.dir(name), ignore_errors=True)

    def allocate(self, count: int, in_use_elsewhere: set[str]) -> list[str]:
        """The `count` lowest free underlay addresses, or an error if the underlay is full."""
        taken = {m.ip for m in self.all()} | in_use_elsewhere
        free = [ip for ip in host_addresses() if ip not in taken]
        if count > len(free):
            raise SwarmletError(
                f"Cannot create {count} machine(s): the underlay {UNDERLAY} holds "
                f"{len(host_addresses())} machines and only {len(free)} address(es) are free"
            )
        return free[:count]
