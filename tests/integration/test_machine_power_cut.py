"""`swarmlet machine stop` is a power cut for the machine's disk too: what a process wrote
and fsynced survives `stop` + `start`; what it never fsynced is gone (docs/machines.md)."""

from __future__ import annotations

import json

import pytest

from conftest import wait_for

M = "tp-a"
D = "/var/lib/swarmlet/power-cut"

# Run in the machine with the host's python3 (the machines share the host's filesystem).
WRITE = """
import os, sys
from pathlib import Path
sys.path.insert(0, {agent!r})
from swarmlet.durable_files import write_atomic
d = Path({d!r})
d.mkdir(exist_ok=True)
def write(name, data, sync):
    fd = os.open(d / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, data)
    if sync:
        os.fsync(fd)
    os.close(fd)
write("synced", b"fsynced data", True)
write("unsynced", b"never fsynced", False)
fd = os.open(d / "datasynced", os.O_WRONLY | os.O_CREAT, 0o644)
os.write(fd, b"first half, ")
os.fdatasync(fd)
os.write(fd, b"second half")  # after the last fdatasync: lost
os.close(fd)
write_atomic(d / "atomic", b"replaced whole", 0o600)
(d / "renamed.tmp").write_bytes(b"renamed unsynced")
os.replace(d / "renamed.tmp", d / "renamed")
"""

READ_BACK = """
import json, os
d = {d!r}
print(json.dumps({{n: open(os.path.join(d, n), "rb").read().decode()
                  for n in sorted(os.listdir(d))}}))
"""

MMAP = """
import mmap, os
fd = os.open({path!r}, os.O_RDWR | os.O_CREAT, 0o644)
if os.fstat(fd).st_size == 0:
    os.write(fd, bytes(4096))
    os.fsync(fd)
m = mmap.mmap(fd, 4096)
m[:6] = b"mapped"
{sync}
m.close()
os.close(fd)
"""


@pytest.fixture(scope="module")
def machine(swarmlet):
    swarmlet("machine", "create", M)
    yield swarmlet
    swarmlet("machine", "rm", M, check=False)


def py(cli, script: str) -> str:
    return cli.ssh(M, f"python3 - <<'EOF'\n{script}\nEOF")


def power_cycle(cli) -> None:
    cli("machine", "stop", M)
    cli("machine", "start", M)


def test_unsynced_writes_are_read_back_then_lost_at_a_power_cut(machine):
    agent = machine.ssh(M, "readlink -f /opt/swarmlet/bin/swarmlet").strip()
    agent_dir = agent.rsplit("/.venv/", 1)[0] + "/agent"
    py(machine, WRITE.format(agent=agent_dir, d=D))
    before = json.loads(py(machine, READ_BACK.format(d=D)))
    assert before == {
        "atomic": "replaced whole",
        "datasynced": "first half, second half",
        "renamed": "renamed unsynced",
        "synced": "fsynced data",
        "unsynced": "never fsynced",
    }
    assert machine.ssh(M, f"stat -c %s {D}/unsynced").strip() == "13"

    power_cycle(machine)

    after = json.loads(py(machine, READ_BACK.format(d=D)))
    assert after == {
        "atomic": "replaced whole",  # durable_files.write_atomic: fsync, rename, fsync dir
        "datasynced": "first half, ",
        "renamed": "",  # created and renamed (metadata), its data never fsynced
        "synced": "fsynced data",
        "unsynced": "",  # the file exists (its creation reached the disk), empty
    }


def test_mmap_writes_survive_a_power_cut_only_once_msynced(machine):
    path = "/var/lib/swarmlet/mapped"
    py(machine, MMAP.format(path=path, sync=""))  # dirty pages reach the layer at close...
    assert machine.ssh(M, f"head -c 6 {path}") == "mapped"
    power_cycle(machine)
    assert machine.ssh(M, f"head -c 6 {path} | od -An -c").split() == ["\\0"] * 6  # ...unsynced
    py(machine, MMAP.format(path=path, sync="m.flush()"))  # msync(MS_SYNC)
    power_cycle(machine)
    assert machine.ssh(M, f"head -c 6 {path}") == "mapped"


def test_acknowledged_raft_writes_survive_a_power_cut(machine):
    machine.ssh(M, "swarmlet swarm init")
    machine.ssh(M, f"swarmlet node update --label-add power=cut {M}")
    power_cycle(machine)

    def labels():
        out = machine.ssh(M, f"swarmlet node inspect {M}", check=False)
        return json.loads(out)[0]["Spec"]["Labels"] if out.strip().startswith("[") else None

    assert wait_for(labels, timeout=30, what="the manager back after the cut") == {
        "power": "cut"}
