"""The containers of a machine in the shared Docker Engine.

Machines share the host's one dockerd. The agent in a machine labels every container it
starts with `swarmlet.machine=NAME` (from SWARMLET_MACHINE, set by the machine's init), which
lets a power cut stop them and `rm` remove them.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import docker

MACHINE_LABEL = "swarmlet.machine"
# Where the agent of machine NAME serves its Docker network driver, swarmlet-NAME.
PLUGIN_DIR = Path("/run/docker/plugins")
# A container on an overlay whose agent is gone takes dockerd 30-45 s to stop (it waits for
# the dead network driver): wait longer than that, and for all of them at once (as many
# as the Docker client's connection pool holds, 10).
DOCKER_TIMEOUT = 120


def _list(client: docker.DockerClient, machine: str) -> list:
    return client.containers.list(all=True, filters={"label": f"{MACHINE_LABEL}={machine}"})


def _client() -> docker.DockerClient | None:
    import docker  # here, not at the top: it takes a third of a second, and most commands
    from docker.errors import DockerException  # of the CLI never need it

    try:
        client = docker.from_env(timeout=DOCKER_TIMEOUT)
        client.ping()
        return client
    except DockerException as exc:
        print(f"warning: Docker Engine not reachable, containers left as they are: {exc}",
              file=sys.stderr)
        return None


def kill(machine: str) -> None:
    """Kill the machine's running containers (SIGKILL: the power is gone). They stay, exited,
    as containers of a real host do after a power cut, for the agent to find at boot."""
    from docker.errors import APIError, NotFound

    client = _client()
    if client is None:
        return
    with contextlib.closing(client):
        running = [c for c in _list(client, machine)
                   if c.status in ("running", "restarting", "paused")]
        _each(running, lambda c: c.kill(), (NotFound, APIError))  # exited or gone meanwhile


def remove(machine: str) -> None:
    """Remove the machine's containers, then the Docker networks its agent made for them
    (labelled the same way) and its network driver's socket."""
    from docker.errors import APIError, NotFound

    client = _client()
    if client is None:
        return
    with contextlib.closing(client):
        _each(_list(client, machine), lambda c: c.remove(force=True, v=True), (NotFound,))
        for network in client.networks.list(filters={"label": f"{MACHINE_LABEL}={machine}"}):
            with contextlib.suppress(NotFound, APIError):
                network.remove()
    PLUGIN_DIR.joinpath(f"swarmlet-{machine}.sock").unlink(missing_ok=True)


def _each(containers: list, action: Callable[[Any], None], expected: tuple) -> None:
    """`action` on every container at once; failures other than `expected` are reported,
    not raised: the machine's other containers and its own teardown go on."""
    def one(container: Any) -> None:
        try:
            action(container)
        except expected:
            pass
        except Exception as exc:  # a timeout of dockerd, say
            print(f"warning: container {container.name}: {exc}", file=sys.stderr)

    if containers:
        with ThreadPoolExecutor(max_workers=min(10, len(containers))) as pool:
            list(pool.map(one, containers))
