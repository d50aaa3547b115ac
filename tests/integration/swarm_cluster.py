"""A swarm of local machines driven through the CLI, as a user would: shared by the
integration tests of the cluster core and of services. `shared_cluster` is one such swarm
for several modules at once (each made swarm costs seconds to build and to remove)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import wait_for
from swarmlet.machine.processes import program_pid

PROBE = Path(__file__).with_name("tls_probe.py")


class Cluster:
    def __init__(self, swarmlet) -> None:
        self.machines = swarmlet

    def run(self, machine: str, command: str, check: bool = True):
        proc = self.machines("machine", "ssh", machine, "--", command, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"{machine}: {command} -> {proc.returncode}\n{proc.stderr}")
        return proc

    def cli(self, machine: str, args: str, check: bool = True) -> str:
        return self.run(machine, f"swarmlet {args}", check).stdout

    def nodes(self, machine: str) -> dict[str, dict]:
        """`node ls --format json` keyed by hostname."""
        lines = self.cli(machine, "node ls --format json").splitlines()
        return {row["Hostname"]: row for row in map(json.loads, lines)}

    def addr(self, machine: str) -> str:
        return f"{self.machines.ip(machine)}:2377"

    def probe(self, machine: str, target: str, method: str, path: str, *flags: str) -> dict:
        out = self.run(machine, f"{sys.executable} {PROBE} {self.addr(target)} {method} "
                                f"{path} {' '.join(flags)}").stdout
        return json.loads(out)

    def api(self, machine: str, path: str, **query: str):
        """GET from the agent API on a machine (fields the CLI does not print)."""
        args = " ".join(f"{k}={v}" for k, v in query.items())
        code = ("import json, sys; from swarmlet.client import Client; "
                "q = dict(a.split('=', 1) for a in sys.argv[2:]); "
                "print(json.dumps(Client().get(sys.argv[1], **q)))")
        return json.loads(self.run(machine, f'{sys.executable} -c "{code}" {path} {args}'
                                   ).stdout)

    def leader(self, machine: str) -> str:
        rows = self.nodes(machine)
        return next(name for name, row in rows.items() if row["ManagerStatus"] == "Leader")

    def agent_pid(self, machine: str) -> int:
        """The machine's swarmletd: in the machine's own cgroup (made by this test's store)."""
        pid = program_pid(f"swarmlet-machine-{machine}", "swarmletd")
        if pid is None:
            raise AssertionError(f"no swarmletd runs in {machine}")
        return pid

    def build(self, managers: list[str], workers: list[str], heartbeat: str = "1s",
              init: str = "") -> None:
        """`swarm init` (with the flags `init`) on the first manager, the others joined
        with the CLI."""
        out = self.cli(managers[0], f"swarm init --dispatcher-heartbeat {heartbeat} {init}")
        assert "Swarm initialized: current node (" in out
        manager_token = self.cli(managers[0], "swarm join-token -q manager").strip()
        worker_token = self.cli(managers[0], "swarm join-token -q worker").strip()
        for m in managers[1:]:
            assert self.cli(m, f"swarm join --token {manager_token} {self.addr(managers[0])}"
                            ).strip() == "This node joined a swarm as a manager."
        for w in workers:
            assert self.cli(w, f"swarm join --token {worker_token} {self.addr(managers[0])}"
                            ).strip() == "This node joined a swarm as a worker."


@contextmanager
def running_cluster(swarmlet, managers: list[str], workers: list[str],
                    leftovers: tuple[str, ...] = (), init: str = "") -> Iterator[Cluster]:
    """Fresh machines with a swarm across them (`init`: flags of `swarm init`); removed
    afterwards (with `leftovers`, machines a test may have added)."""
    names = [*managers, *workers]
    swarmlet("machine", "create", *names)
    cluster = Cluster(swarmlet)
    try:
        cluster.build(managers, workers, init=init)
        yield cluster
    finally:
        dismantle(swarmlet, [*names, *leftovers])


def dismantle(swarmlet, names: list[str]) -> None:
    """Remove these machines (those of them that exist), every node leaving its swarm first,
    all at once: a leaving agent removes its containers and Docker networks while its
    network driver still answers. After `machine rm`'s power cut, dockerd retries the gone
    driver for 15 s per Docker network (the `ingress` one of any node that ran a task with a
    published port) and up to 45 s per container: 45 s to remove three such machines."""
    names = [n for n in names if n in swarmlet.states()]  # rm of an unknown name removes none

    def leave(name: str) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):  # then rm does, the slow way
            swarmlet("machine", "ssh", name, "--", "swarmlet swarm leave --force",
                     check=False, timeout=30)

    if names:
        with ThreadPoolExecutor(len(names)) as pool:
            list(pool.map(leave, names))
        swarmlet("machine", "rm", *names, check=False)


# The machines of `shared_cluster`: a manager and two workers.
SHARED_MANAGER, SHARED_WORKERS = "sh-1", ["sh-2", "sh-3"]
_shared: dict[str, Cluster] = {}


@pytest.fixture(scope="module")
def shared_cluster(swarmlet, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """One swarm of three machines (SHARED_MANAGER, SHARED_WORKERS) for every module that
    takes this fixture: made for the first of them, removed after the last one the session
    runs (after a failure under -x, by the session's own `machine rm --all`). A module
    leaves it as it found it: its services, stacks, labels and availabilities undone.
    A module that takes it must sort after test_machine*.py, which list and remove every
    machine of the store (`machine rm --all`)."""
    names = [SHARED_MANAGER, *SHARED_WORKERS]
    if "cluster" not in _shared:
        swarmlet("machine", "create", *names)
        cluster = Cluster(swarmlet)
        try:
            cluster.build([SHARED_MANAGER], SHARED_WORKERS)
        except BaseException:
            dismantle(swarmlet, names)
            raise
        _shared["cluster"] = cluster
    yield _shared["cluster"]
    if not taken_later(request, "shared_cluster"):
        del _shared["cluster"]
        dismantle(swarmlet, names)


def taken_later(request: pytest.FixtureRequest, fixture: str) -> bool:
    """Whether a test after this module's last one takes `fixture` (a module-scoped
    fixture that keeps its machines for the next module that takes it)."""
    items = request.session.items
    last = max(i for i, item in enumerate(items) if item.getparent(pytest.Module) is
               request.node)
    return any(fixture in item.fixturenames for item in items[last + 1:])


def eventually(check, timeout: float = 30.0):
    return wait_for(check, timeout=timeout, interval=0.5)
