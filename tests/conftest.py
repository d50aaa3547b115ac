"""Shared test helpers: the `swarmlet` CLI against a test-only machine store."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SWARMLET = str(Path(sys.executable).parent / "swarmlet")
# A store of the tests' own, so they never list or remove the user's machines.
# SWARMLET_TEST_STORE lets two test runs share the box without removing each other's machines
# (names must still differ: they name namespaces and links on the one host).
TEST_STORAGE = Path(os.environ.get("SWARMLET_TEST_STORE", "/var/lib/swarmlet-test")) / "machines"


class Swarmlet:
    """Runs `swarmlet ...` as a user would, with the test store."""

    def __init__(self, storage: Path) -> None:
        self.storage = storage
        self.env = {**os.environ, "SWARMLET_MACHINE_STORAGE_PATH": str(storage)}

    def __call__(self, *args: str, check: bool = True, timeout: float = 120,
                 ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([SWARMLET, *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"swarmlet {' '.join(args)} exited {proc.returncode}\n"
                f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
            )
        return proc

    def ssh(self, machine: str, command: str, check: bool = True) -> str:
        return self("machine", "ssh", machine, "--", command, check=check).stdout

    def ip(self, machine: str) -> str:
        return self("machine", "ip", machine).stdout.strip()

    def states(self) -> dict[str, tuple[str, str]]:
        """`machine ls` as {name: (state, ip)}."""
        lines = self("machine", "ls").stdout.splitlines()
        assert lines[0].split() == ["NAME", "STATE", "IP"]
        return {name: (state, ip) for name, state, ip in (line.split() for line in lines[1:])}


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.1, what: str = ""):
    """Poll until `predicate()` is truthy (an AssertionError counts as not yet); return it."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except AssertionError as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"not true within {timeout} s: {what or predicate} {last or ''}")


def run_in_new_netns(name: str, script: str) -> str:
    """Run a Python script (this venv's) in a network namespace made for it by `name` and
    deleted after; returns its stdout, failing with its stderr."""
    subprocess.run(["ip", "netns", "del", name], capture_output=True)  # a crashed run's
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        proc = subprocess.run(["ip", "netns", "exec", name, sys.executable, "-c", script],
                              capture_output=True, text=True)
    finally:
        subprocess.run(["ip", "netns", "del", name], check=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def alive(pid: int) -> bool:
    """Whether a process still runs. A zombie has ended: PID 1 of some sandboxes (not an
    init) never reaps orphans, so killed processes can linger there as zombies."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture(scope="session")
def swarmlet() -> Swarmlet:
    if os.geteuid() != 0:
        pytest.fail("these tests make network namespaces and mounts: run them as root")
    cli = Swarmlet(TEST_STORAGE)
    cli("machine", "rm", "--all", check=False)  # what a crashed earlier run left
    shutil.rmtree(TEST_STORAGE, ignore_errors=True)
    yield cli
    cli("machine", "rm", "--all", check=False)
    shutil.rmtree(TEST_STORAGE.parent, ignore_errors=True)


_engine: dict = {}


@pytest.fixture(scope="module")
def engine_swarm(swarmlet, request):
    """The Docker Engine API tests' swarm (tests/integration/engine_cluster.py): two
    managers and a worker, made for the first test_docker_*.py module and removed after the
    last one (so the modules after them see only their own machines)."""
    from engine_cluster import MANAGER, MANAGER2, WORKER, EngineCluster
    from swarm_cluster import dismantle, taken_later

    names = [MANAGER, MANAGER2, WORKER]
    if "cluster" not in _engine:
        swarmlet("machine", "create", *names)
        cluster = EngineCluster(swarmlet)
        try:
            cluster.build([MANAGER, MANAGER2], [WORKER])
        except BaseException:
            dismantle(swarmlet, names)
            raise
        _engine["cluster"] = cluster
    yield _engine["cluster"]
    if not taken_later(request, "engine_swarm"):
        del _engine["cluster"]
        dismantle(swarmlet, names)


@pytest.fixture(scope="module")
def client_certs(engine_swarm, tmp_path_factory) -> Path:
    """An operator's client certificate (ca.pem, cert.pem, key.pem) for remote clients."""
    from engine_cluster import MANAGER

    out = tmp_path_factory.mktemp("docker-certs")
    inside = f"/tmp/eng-certs-{os.getpid()}"
    engine_swarm.cli(MANAGER, f"swarm ca client-cert --out {inside}")
    for name in ("ca.pem", "cert.pem", "key.pem"):
        text = engine_swarm.run(MANAGER, f"cat {inside}/{name}").stdout
        (out / name).write_text(text)
    (out / "key.pem").chmod(0o600)
    engine_swarm.run(MANAGER, f"rm -rf {inside}")
    yield out
    shutil.rmtree(out, ignore_errors=True)
