"""swarmletd as a process: started by `machine create`, back after `machine start`,
refusing bad config, an unusable data dir or a busy socket, and stopping cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SWARMLETD = str(Path(sys.executable).parent / "swarmletd")


@pytest.fixture(scope="module")
def machine(swarmlet):
    swarmlet("machine", "create", "td-agent")
    yield "td-agent"
    swarmlet("machine", "rm", "td-agent", check=False)


def test_machine_create_starts_the_agent_and_start_brings_it_back(swarmlet, machine):
    info = json.loads(swarmlet.ssh(machine, "swarmlet info --format json"))
    assert info["Name"] == machine
    assert info["Swarm"]["LocalNodeState"] == "inactive"
    assert swarmlet.ssh(machine, "stat -c %a /run/swarmlet/swarmlet.sock").strip() == "600"
    openapi = json.loads(swarmlet.ssh(
        machine, "curl -s --unix-socket /run/swarmlet/swarmlet.sock http://agent/openapi.json"))
    assert openapi["openapi"].startswith("3.")
    assert "/info" in openapi["paths"]

    swarmlet("machine", "stop", machine)
    swarmlet("machine", "start", machine)
    info = json.loads(swarmlet.ssh(machine, "swarmlet info --format json"))
    assert info["Name"] == machine


def test_no_agent_leaves_it_out(swarmlet):
    swarmlet("machine", "create", "--no-agent", "td-bare")
    try:
        probe = ("test -e /run/swarmlet/swarmlet.sock && echo socket; "
                 "find /etc/swarmlet /opt/swarmlet -mindepth 1")
        assert swarmlet.ssh("td-bare", probe).split() == []
    finally:
        swarmlet("machine", "rm", "td-bare")


def run_daemon(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([SWARMLETD, "--config", str(config)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def write_config(tmp_path: Path, **settings: str) -> Path:
    base = {"data_dir": str(tmp_path / "data"), "socket": str(tmp_path / "run/swarmlet.sock")}
    base.update(settings)
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "swarmlet.yml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in base.items()))
    return path


def wait_for_socket(path: Path) -> None:
    for _ in range(100):
        if path.exists():
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def test_sigterm_shuts_down_cleanly(tmp_path):
    config = write_config(tmp_path)
    proc = run_daemon(config)
    sock = tmp_path / "run/swarmlet.sock"
    try:
        wait_for_socket(sock)
        # A second daemon on the same data dir is refused, and the first keeps running.
        second = subprocess.run([SWARMLETD, "--config", str(config)], capture_output=True,
                                text=True, timeout=30)
        assert second.returncode == 1
        assert "is in use by another swarmletd" in second.stderr
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert "SIGTERM: shutting down" in err
    assert not sock.exists()


def test_a_busy_socket_is_refused(tmp_path):
    first = run_daemon(write_config(tmp_path / "a", socket=str(tmp_path / "shared.sock")))
    try:
        wait_for_socket(tmp_path / "shared.sock")
        second = subprocess.run(
            [SWARMLETD, "--config",
             str(write_config(tmp_path / "b", socket=str(tmp_path / "shared.sock")))],
            capture_output=True, text=True, timeout=30)
        assert second.returncode == 1
        assert "another swarmletd is already listening on" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=15)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("file_as_data_dir", "is unusable: not a directory"),
        ("bad_key", "unknown key 'colour'"),
    ],
)
def test_refuses_to_start_with_a_clear_message(tmp_path, setup, message):
    if setup == "file_as_data_dir":
        (tmp_path / "data").write_text("not a dir")
        config = write_config(tmp_path)
    else:
        config = write_config(tmp_path, colour="blue")
    out = subprocess.run([SWARMLETD, "--config", str(config)], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 1
    assert message in out.stderr
