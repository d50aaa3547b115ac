"""The cluster of the Ansible tests (this package; conftest.py makes it once for them all).

One cluster for the Ansible tests, built the way an operator builds one: machines with
nothing of Swarmlet on them, the collection built (`scripts/build-collection.sh`, the agent's
wheels inside), installed with `ansible-galaxy collection install` into an empty collections
path, and `ansible-playbook swarmlet.swarm.site` run from a directory outside the checkout
(only the inventory and the variables there) over real SSH. Nothing resolves from the
checkout: no ansible.cfg of it, ANSIBLE_COLLECTIONS_PATH the installed path alone.

ans-m1 (group managers), ans-w1 and ans-w2 (workers) are the swarm; ans-s1 (group spare)
runs an agent but is in no swarm, for the join/leave/remove cases of swarm_init.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from conftest import REPO, Swarmlet

MANAGER, WORKERS, SPARE = "ans-m1", ["ans-w1", "ans-w2"], "ans-s1"
VENV_BIN = Path(sys.executable).parent
# testinfra's ansible backend runs `ansible-inventory` from PATH: this venv's.
os.environ["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
SITE_VARS = Path(__file__).with_name("site-vars.yml")


@dataclass
class Run:
    returncode: int
    output: str

    def recap(self) -> dict[str, dict[str, int]]:
        """PLAY RECAP as {host: {"ok": n, "changed": n, "failed": n, ...}}."""
        hosts = {}
        for line in self.output.split("PLAY RECAP", 1)[-1].splitlines()[1:]:
            m = re.match(r"^(\S+)\s+:\s+(.*)$", line.strip())
            if m:
                hosts[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)",
                                                                       m.group(2))}
        return hosts


@dataclass
class Installed:
    """The collection installed from its artifact, and the directory site.yml runs in."""
    collections: Path
    workdir: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
        return {**env, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_COLLECTIONS_PATH": str(self.collections),
                "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false"}


@dataclass
class Deployment:
    machines: Swarmlet
    inventory: Path
    installed: Installed
    first_run: Run

    def site(self, *args: str, inventory: Path | None = None) -> Run:
        return site(self.installed, inventory or self.inventory, *args)

    def playbook(self, playbook: Path | str, *args: str, timeout: float = 900) -> Run:
        return ansible_playbook(self.inventory, playbook, *args, timeout=timeout)

    def ip(self, host: str) -> str:
        return self.machines.ip(host)


def ansible_playbook(inventory: Path, playbook: Path | str, *args: str,
                     timeout: float = 900) -> Run:
    env = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(playbook), *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL)
    return Run(proc.returncode, proc.stdout + proc.stderr)


def install_collection(directory: Path) -> Installed:
    """Build the artifact and install it into DIRECTORY/collections, empty until then."""
    subprocess.run([str(REPO / "scripts/build-collection.sh")], check=True, cwd=REPO,
                   capture_output=True)
    artifact = REPO / "dist/swarmlet-swarm-0.1.0.tar.gz"
    installed = Installed(directory / "collections", directory / "run")
    installed.workdir.mkdir(parents=True)
    shutil.copy(SITE_VARS, installed.workdir / SITE_VARS.name)
    subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--offline",
                    "--no-deps", "-p", str(installed.collections), str(artifact)],
                   check=True, cwd=installed.workdir, env=installed.env(),
                   capture_output=True, stdin=subprocess.DEVNULL)
    return installed


def site(installed: Installed, inventory: Path, *args: str, timeout: float = 900) -> Run:
    """`ansible-playbook swarmlet.swarm.site` as a user runs it: the playbook by its name,
    from the installed collection, in a directory with only the inventory and the vars."""
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), "swarmlet.swarm.site",
         "-e", f"@{SITE_VARS.name}", *args],
        cwd=installed.workdir, env=installed.env(), capture_output=True, text=True,
        timeout=timeout, stdin=subprocess.DEVNULL)
    return Run(proc.returncode, proc.stdout + proc.stderr)


def write_inventory(machines: Swarmlet, directory: Path) -> Path:
    """`swarmlet machine inventory` for the swarm, plus the spare in group `spare`, and
    host variables that site.yml applies (a node label)."""
    out = machines("machine", "inventory", "--managers", "1", MANAGER, *WORKERS).stdout
    inventory = yaml.safe_load(out)
    inventory["all"]["children"]["spare"] = {
        "hosts": {SPARE: {"ansible_host": machines.ip(SPARE)}}}
    (directory / "host_vars").mkdir(parents=True, exist_ok=True)
    (directory / "host_vars" / f"{WORKERS[0]}.yml").write_text(
        "swarmlet_node_labels:\n  type: db\n")
    path = directory / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory))
    return path
