"""The cluster site.yml builds, shared by the tests of this package and torn down after the
last of them, so the machines never linger into other tests."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from collection.site import (
    MANAGER,
    SPARE,
    WORKERS,
    Deployment,
    install_collection,
    site,
    write_inventory,
)
from conftest import Swarmlet


@pytest.fixture(scope="package")
def deployment(swarmlet: Swarmlet, tmp_path_factory: pytest.TempPathFactory):
    names = [MANAGER, *WORKERS, SPARE]
    with ThreadPoolExecutor(1) as pool:  # the artifact builds while the machines boot
        installing = pool.submit(install_collection, tmp_path_factory.mktemp("installed"))
        swarmlet("machine", "create", "--no-agent", MANAGER, *WORKERS)
        swarmlet("machine", "create", SPARE)  # an agent of this venv, in no swarm
        installed = installing.result()
    inventory = write_inventory(swarmlet, installed.workdir)
    first = site(installed, inventory)
    try:
        yield Deployment(swarmlet, inventory, installed, first)
    finally:
        # Every node leaves first, all at once: its agent removes its containers and Docker
        # networks while its network driver still answers. After `machine rm`'s power cut,
        # dockerd retries the gone driver for seconds per network and per container.
        with ThreadPoolExecutor(len(names)) as pool:
            list(pool.map(lambda name: leave(swarmlet, name), names))
        swarmlet("machine", "rm", "--force", *names, check=False)
        shutil.rmtree(installed.collections.parent, ignore_errors=True)


def leave(swarmlet: Swarmlet, name: str) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):  # then rm does it, the slow way
        swarmlet("machine", "ssh", name, "--", "swarmlet swarm leave --force", check=False,
                 timeout=30)
