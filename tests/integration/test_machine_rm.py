"""`swarmlet machine rm --all` leaves nothing of the machines behind."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import alive
from swarmlet.machine.underlay import BRIDGE, host_links

NAMES = ("tr-a", "tr-b")


def ip_netns() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def processes_mentioning(text: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{pid}: {cmdline}")
    return found


def test_rm_all_leaves_nothing_behind(swarmlet):
    swarmlet("machine", "create", *NAMES)
    ips = [swarmlet.ip(n) for n in NAMES]
    links = {f"swlm{ip.rsplit('.', 1)[1]}" for ip in ips}
    pids = [int(swarmlet.ssh(n, "setsid sleep 3600 </dev/null >/dev/null 2>&1 & echo $!"))
            for n in NAMES]
    container = swarmlet.ssh(
        NAMES[0], f"docker run -d --label swarmlet.machine={NAMES[0]} swarmlet/demo:latest"
    ).strip()
    assert {f"swarmlet-{n}" for n in NAMES} <= ip_netns()
    assert links <= host_links()

    out = swarmlet("machine", "rm", "--all").stdout
    assert out.splitlines() == [f"Successfully removed {n}" for n in NAMES]

    assert swarmlet("machine", "ls", "-q").stdout == ""
    assert not {f"swarmlet-{n}" for n in NAMES} & ip_netns()
    assert not links & host_links()
    for pid in pids:
        assert not alive(pid)
    assert processes_mentioning(str(swarmlet.storage)) == []
    mounts = Path("/proc/self/mountinfo").read_text()
    assert str(swarmlet.storage) not in mounts
    assert not any(f"swarmlet-{n}" in mounts for n in NAMES)
    assert not any(Path(p).exists() for p in (
        f"/sys/fs/cgroup/unified/swarmlet-machine-{n}" for n in NAMES))
    assert subprocess.run(["docker", "inspect", container], capture_output=True).returncode != 0
    assert not any((swarmlet.storage / "machines" / n).exists() for n in NAMES)
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
    rules = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True).stdout
    if not host_links():  # no machine of any store left: the shared underlay goes too
        assert subprocess.run(["ip", "link", "show", BRIDGE], capture_output=True).returncode
        assert "198.18.0.0/24" not in routes
        assert "swarmlet machines underlay" not in rules
