"""The cluster site.yml builds, shared by the tests of this package and torn down after the
last of them, so the machines never linger into other tests."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from collection.site import MANAGER, SPARE, WORKERS, Deployment, site, write_inventory
from conftest import REPO, Swarmlet


@pytest.fixture(scope="package")
def deployment(swarmlet: Swarmlet, tmp_path_factory: pytest.TempPathFactory):
    names = [MANAGER, *WORKERS, SPARE]
    subprocess.run([str(REPO / "scripts/build-wheels.sh")], check=True, cwd=REPO,
                   capture_output=True)
    swarmlet("machine", "create", "--no-agent", MANAGER, *WORKERS)
    swarmlet("machine", "create", SPARE)  # an agent of this venv, in no swarm
    inventory = write_inventory(swarmlet, tmp_path_factory.mktemp("inventory"))
    first = site(inventory)
    try:
        yield Deployment(swarmlet, inventory, first)
    finally:
        swarmlet("machine", "rm", "--force", *names, check=False)
        shutil.rmtree(inventory.parent, ignore_errors=True)
