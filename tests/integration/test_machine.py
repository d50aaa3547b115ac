"""`swarmlet machine`: real namespaces, real sshd, real SSH clients and the real Docker Engine.

One set of three machines is shared by the tests of this module; tests that stop or cut off
a machine bring it back before they end.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import testinfra
import yaml

from conftest import alive, wait_for

A, B, C = "tm-a", "tm-b", "tm-c"


@pytest.fixture(scope="module")
def machines(swarmlet):
    out = swarmlet("machine", "create", A, B, C).stdout
    for name in (A, B, C):
        assert f'Machine "{name}" is running at 198.18.0.' in out
    yield swarmlet
    swarmlet("machine", "rm", A, B, C, check=False)


def reachable(ip: str, port: int = 22, timeout: float = 1.0) -> bool:
    """From the root namespace (the underlay's host side), over the bridge."""
    try:
        with socket.create_connection((ip, port), timeout=timeout):
            return True
    except OSError:
        return False


def reach_from(cli, machine: str, ip: str) -> bool:
    """Whether `machine` can open a TCP connection to ip:22 (sshd of another machine)."""
    probe = (f"python3 -c 'import socket; socket.create_connection((\"{ip}\", 22), timeout=1)'"
             " && echo yes || echo no")
    return cli.ssh(machine, probe).strip() == "yes"


def machine_host(cli, machine: str):
    """testinfra over real SSH, one connection per machine for all its checks (a master
    that ends 10 s after its last use: a new connection costs most of a second here)."""
    storage = cli.storage
    return testinfra.get_host(
        f"ssh://root@{cli.ip(machine)}",
        ssh_identity_file=str(storage / "id_ed25519"),
        ssh_extra_args=f"-o UserKnownHostsFile={storage / 'known_hosts'} "
        "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes",
        controlpersist=10,
        controlpath=str(storage / "ssh-%%C"),  # testinfra %-formats the command
    )


def test_ls_shows_each_machine_running_with_its_own_address(machines):
    states = machines.states()
    assert {n: states[n][0] for n in (A, B, C)} == {A: "Running", B: "Running", C: "Running"}
    ips = [states[n][1] for n in (A, B, C)]
    assert len(set(ips)) == 3
    assert all(ip.startswith("198.18.0.") and ip != "198.18.0.1" for ip in ips)
    assert [machines.ip(n) for n in (A, B, C)] == ips
    assert machines("machine", "ls", "-q").stdout.split() == [A, B, C]


def test_each_machine_is_its_own_host_over_ssh(machines):
    for name in (A, B, C):
        host = machine_host(machines, name)
        assert host.check_output("hostname") == name
        assert host.file("/etc/hostname").content_string.strip() == name
        assert host.user().name == "root"
        assert machines.ip(name) in host.interface("eth0").addresses
        assert host.socket(f"tcp://{machines.ip(name)}:22").is_listening
        # No default route: nothing addressed outside the underlay leaves through the host.
        assert "default" not in host.check_output("ip route")


def test_machines_reach_each_other_over_the_underlay(machines):
    for src in (A, B, C):
        for dst in (A, B, C):
            if src != dst:
                assert reach_from(machines, src, machines.ip(dst)), f"{src} cannot reach {dst}"


def test_private_directories_are_each_machines_own(machines):
    marker = uuid.uuid4().hex
    dirs = ["/etc/swarmlet", "/var/lib/swarmlet", "/opt/swarmlet", "/run/swarmlet"]
    for d in dirs:
        machines.ssh(A, f"echo {marker} > {d}/private-test")
    a, b = machine_host(machines, A), machine_host(machines, B)
    for d in dirs:
        assert a.file(f"{d}/private-test").content_string.strip() == marker
        assert not b.file(f"{d}/private-test").exists, f"{d} of {A} shows on {B}"
        assert not Path(f"{d}/private-test").exists(), f"{d} of {A} shows on the host"
    assert a.mount_point("/run/swarmlet").filesystem == "tmpfs"
    for d in dirs:
        machines.ssh(A, f"rm {d}/private-test")


def test_machines_reach_the_one_docker_engine(machines):
    host_engine = subprocess.run(["docker", "info", "--format", "{{.ID}}"], capture_output=True,
                                 text=True, check=True).stdout.strip()
    for name in (A, C):
        assert machines.ssh(name, "docker info --format '{{.ID}}'").strip() == host_engine


def test_inventory_reaches_every_machine_with_ansible(machines, tmp_path):
    text = machines("machine", "inventory", "--managers", "2", A, B, C).stdout
    inventory = yaml.safe_load(text)
    groups = inventory["all"]["children"]
    assert list(groups["managers"]["hosts"]) == [A, B]
    assert list(groups["workers"]["hosts"]) == [C]
    path = tmp_path / "inventory.yml"
    path.write_text(text)
    ansible = str(Path(sys.executable).parent / "ansible")
    env = {**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_NOCOLOR": "1"}
    proc = subprocess.run(
        [ansible, "all", "-i", str(path), "-o", "-m", "ansible.builtin.command", "-a", "hostname"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in (A, B, C):
        assert f"{name} | CHANGED | rc=0 | (stdout) {name}" in proc.stdout
    default = yaml.safe_load(machines("machine", "inventory").stdout)["all"]["children"]
    assert list(default["managers"]["hosts"]) == [A]
    assert list(default["workers"]["hosts"]) == [B, C]


def test_stop_cuts_the_power_and_start_boots(machines):
    ip = machines.ip(C)
    # Something running, something installed to start at boot, and a container of its agent.
    pid = int(machines.ssh(C, "setsid sleep 3600 </dev/null >/dev/null 2>&1 & echo $!"))
    machines.ssh(C, "mkdir -p /etc/swarmlet/sv/hello && printf '#!/bin/sh\\n"
                    "date > /run/swarmlet/hello-booted\\nexec sleep 3600\\n' "
                    "> /etc/swarmlet/sv/hello/run && chmod +x /etc/swarmlet/sv/hello/run")
    machines.ssh(C, "echo kept > /etc/swarmlet/disk-file; echo gone > /run/swarmlet/run-file")
    # What must outlive the power cut is fsynced (`sync FILE` fsyncs each file named).
    machines.ssh(C, "echo unsynced > /etc/swarmlet/unsynced-file; "
                    "sync /etc/swarmlet/sv/hello/run /etc/swarmlet/disk-file")
    container = machines.ssh(
        C, "docker run -d --label swarmlet.machine=tm-c swarmlet/demo:latest").strip()
    try:
        wait_for(lambda: machines.ssh(C, "cat /run/swarmlet/hello-booted", check=False).strip())

        out = machines("machine", "stop", C).stdout
        assert f'Machine "{C}" was stopped.' in out
        assert machines.states()[C][0] == "Stopped"
        assert not alive(pid), "a process of the machine survived stop"
        assert not reachable(ip), "a stopped machine still answers on its address"
        assert docker_state(container) == "exited"
        refused = machines("machine", "ssh", C, "--", "true", check=False)
        assert refused.returncode == 1
        assert f'Host "{C}" is not running' in refused.stderr
        assert "already stopped" in machines("machine", "stop", C).stdout

        out = machines("machine", "start", C).stdout
        assert f'Machine "{C}" was started.' in out
        assert machines.states()[C][0] == "Running"
        assert reachable(ip)
        assert machines.ssh(C, "hostname").strip() == C
        assert machines.ssh(C, "cat /etc/swarmlet/disk-file").strip() == "kept"
        assert machines.ssh(C, "cat /etc/swarmlet/unsynced-file") == ""  # lost in the cut
        assert "run-file" not in machines.ssh(C, "ls /run/swarmlet").split()  # a fresh tmpfs
        # The installed service came back at boot.
        wait_for(lambda: machines.ssh(C, "cat /run/swarmlet/hello-booted", check=False).strip())
        assert reach_from(machines, C, machines.ip(A))
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)
        machines.ssh(C, "rm -rf /etc/swarmlet/sv/hello /etc/swarmlet/disk-file "
                        "/etc/swarmlet/unsynced-file", check=False)


def test_disconnect_partitions_a_running_machine_and_connect_heals_it(machines):
    ip_b = machines.ip(B)
    pid = int(machines.ssh(B, "setsid sleep 3600 </dev/null >/dev/null 2>&1 & echo $!"))
    try:
        machines("machine", "disconnect", B)
        assert machines.states()[B][0] == "Disconnected"
        assert not reachable(ip_b)
        assert not reach_from(machines, A, ip_b)
        assert alive(pid), "disconnect must not stop the machine"

        machines("machine", "connect", B)
        assert machines.states()[B][0] == "Running"
        wait_for(lambda: reachable(ip_b))
        assert reach_from(machines, A, ip_b)
        assert reach_from(machines, B, machines.ip(A))
        assert alive(pid)
    finally:
        machines("machine", "connect", B, check=False)
        os.kill(pid, 9)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", A], f'Host already exists: "{A}"'),
        (["create", "new-one", "new-one"], 'Machine name "new-one" is given twice'),
        (["create", "bad_name"], 'Invalid machine name "bad_name"'),
        (["create", "--", "-leading"], 'Invalid machine name "-leading"'),
        (["create", "x" * 64], "Invalid machine name"),
        (["create", "a.b"], 'Invalid machine name "a.b"'),
        (["ip", "nosuch"], 'Host does not exist: "nosuch"'),
        (["ssh", "nosuch"], 'Host does not exist: "nosuch"'),
        (["stop", "nosuch"], 'Host does not exist: "nosuch"'),
        (["start", A, "nosuch"], 'Host does not exist: "nosuch"'),
        (["disconnect", "nosuch"], 'Host does not exist: "nosuch"'),
        (["connect", "nosuch"], 'Host does not exist: "nosuch"'),
        (["rm", B, "nosuch"], 'Host does not exist: "nosuch"'),
        (["rm"], "requires at least 1 machine name, or --all"),
        (["inventory", "nosuch"], 'Host does not exist: "nosuch"'),
        (["inventory", "--managers", "4", A, B, C], "more managers than the 3 machine(s)"),
        (["create"] + [f"n{i}" for i in range(254)], "the underlay 198.18.0.0/24 holds 253"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(machines, args, message):
    before = machines.states()
    proc = machines("machine", *args, check=False)
    assert proc.returncode == 1
    if message:
        assert message in proc.stderr
    assert proc.stderr.strip()
    assert machines.states() == before


def test_rm_removes_only_the_machines_named(machines):
    machines("machine", "create", "tm-d")
    ip_d = machines.ip("tm-d")
    assert machines("machine", "rm", "tm-d").stdout.strip() == "Successfully removed tm-d"
    assert "tm-d" not in machines.states()
    assert not reachable(ip_d)
    assert set(machines.states()) >= {A, B, C}
    assert all(machines.states()[n][0] == "Running" for n in (A, B, C))


def docker_state(container: str) -> str:
    out = subprocess.run(["docker", "inspect", container], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)[0]["State"]["Status"]

