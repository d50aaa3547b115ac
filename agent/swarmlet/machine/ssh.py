"""SSH into machines: the client key the tool manages, each machine's sshd, known_hosts.

Every machine runs its own sshd on its own address, as root with the tool's key only.
Its host key is made at `create` and written to the store's known_hosts, so clients (the
tool, ansible-playbook) check it strictly instead of trusting on first use.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from swarmlet.machine.command import run
from swarmlet.machine.store import Machine, MachineStore

SSHD = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
MACHINE_PATH = "/opt/swarmlet/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def ensure_client_key(store: MachineStore) -> Path:
    if not store.key_path.exists():
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "swarmlet-machine",
            "-f", str(store.key_path))
    return store.key_path


def write_sshd_files(store: MachineStore, machine: Machine) -> None:
    """Host key, authorized_keys and sshd_config of a new machine."""
    d = store.dir(machine.name)
    host_key = d / "ssh_host_ed25519_key"
    if not host_key.exists():
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{machine.name}",
            "-f", str(host_key))
    authorized = d / "authorized_keys"
    authorized.write_text(Path(f"{store.key_path}.pub").read_text())
    authorized.chmod(0o600)
    (d / "sshd_config").write_text(
        "\n".join(
            [
                f"# sshd of machine {machine.name}, written by `swarmlet machine create`",
                f"ListenAddress {machine.ip}",
                "Port 22",
                f"HostKey {host_key}",
                f"AuthorizedKeysFile {authorized}",
                "PermitRootLogin prohibit-password",
                # The store may sit under a sticky world-writable directory (/tmp), which
                # StrictModes refuses; the key files themselves are root's, mode 0600.
                "StrictModes no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "UseDNS no",
                "PidFile none",
                "PrintMotd no",
                "AcceptEnv LANG LC_*",
                # The machine's own tools (swarmlet, swarmletd) come first, as if installed.
                f"SetEnv PATH={MACHINE_PATH}",
                f"Subsystem sftp {SFTP_SERVER}",
                "",
            ]
        )
    )


def sshd_command(store: MachineStore, machine: Machine) -> list[str]:
    # -D: stay in the foreground under the machine's init; -e: log to stderr (machine.log).
    return [SSHD, "-D", "-e", "-f", str(store.dir(machine.name) / "sshd_config")]


def write_known_hosts(store: MachineStore) -> None:
    """One line per machine: its address and its host key."""
    lines = []
    for m in store.all():
        pub = store.dir(m.name) / "ssh_host_ed25519_key.pub"
        if pub.exists():
            keytype, key, *_ = pub.read_text().split()
            lines.append(f"{m.ip} {keytype} {key}\n")
    tmp = store.known_hosts_path.with_suffix(".tmp")
    tmp.write_text("".join(lines))
    tmp.replace(store.known_hosts_path)


def client_options(store: MachineStore) -> list[str]:
    """Options for ssh (and ansible_ssh_common_args) to reach machines as root."""
    return [
        "-o", "UserKnownHostsFile=" + str(store.known_hosts_path),
        "-o", "StrictHostKeyChecking=yes",
        "-o", "IdentitiesOnly=yes",
        "-o", "LogLevel=ERROR",
        "-o", "ConnectTimeout=10",
    ]


def ssh_argv(store: MachineStore, machine: Machine, command: list[str]) -> list[str]:
    tty = [] if command else ["-t"]
    return ["ssh", "-i", str(store.key_path), *client_options(store), *tty,
            f"root@{machine.ip}", *command]


def wait_for_sshd(ip: str, timeout: float) -> bool:
    """True once something accepts TCP connections on ip:22."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((ip, 22), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False
