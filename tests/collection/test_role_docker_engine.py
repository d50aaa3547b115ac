"""Where the agent role looks for Docker Engine, and when it installs Debian's docker.io:
its docker.yml run on this controller (local connection, check mode: nothing is installed),
with the dockerd paths and the docker-ce package made up by the test."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from collection.site import VENV_BIN
from conftest import REPO

PLAYBOOK = """\
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: /usr/bin/python3  # the one with Debian's apt bindings
  tasks:
    - ansible.builtin.include_role:
        name: swarmlet.swarm.agent
        tasks_from: docker.yml
"""
INSTALL = "swarmlet.swarm.agent : Install Docker Engine (Debian's docker.io)"


def docker_tasks(tmp_path: Path, dockerd_paths: list[str], docker_ce: str) -> dict[str, dict]:
    """Run docker.yml with _agent_dockerd_paths and `dpkg-query` answering DOCKER_CE for the
    docker-ce package; the results by task name."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "dpkg-query").write_text(f"#!/bin/sh\nprintf %s '{docker_ce}'\n")
    (fake / "dpkg-query").chmod(0o755)
    playbook = tmp_path / "docker.yml"
    playbook.write_text(PLAYBOOK)
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
           "ANSIBLE_STDOUT_CALLBACK": "json", "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", str(playbook), "--check",
         "-e", "_agent_manager=supervised",
         "-e", json.dumps({"_agent_dockerd_paths": dockerd_paths})],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return {t["task"]["name"]: t["hosts"]["localhost"]
            for t in json.loads(proc.stdout)["plays"][0]["tasks"]}


@pytest.mark.parametrize("where", ["usr/bin", "usr/sbin"])  # docker-ce's, Debian's
def test_an_existing_dockerd_is_kept(tmp_path: Path, where: str) -> None:
    dockerd = tmp_path / where / "dockerd"
    dockerd.parent.mkdir(parents=True)
    dockerd.touch()
    tasks = docker_tasks(tmp_path, ["/nonexistent/dockerd", str(dockerd)], "not-installed")
    assert tasks[INSTALL].get("skipped") is True, tasks[INSTALL]


def test_docker_ce_package_is_not_replaced(tmp_path: Path) -> None:
    """docker-ce installed but its dockerd elsewhere than the paths looked at."""
    tasks = docker_tasks(tmp_path, ["/nonexistent/dockerd"], "installed")
    assert tasks[INSTALL].get("skipped") is True, tasks[INSTALL]


def test_docker_io_installed_when_no_engine(tmp_path: Path) -> None:
    tasks = docker_tasks(tmp_path, ["/nonexistent/dockerd"], "not-installed")
    assert not tasks[INSTALL].get("skipped"), tasks[INSTALL]
    assert not tasks[INSTALL].get("failed"), tasks[INSTALL]
