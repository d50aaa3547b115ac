"""One swarm of local machines for every test of the Docker Engine API
(tests/integration/test_docker_*.py), made for the first of those modules and removed after
the last (fixtures engine_swarm and client_certs in tests/conftest.py), driven by real Docker
clients — the docker CLIs on this machine, the docker SDK, community.docker's modules —
through /run/swarmlet/docker.sock inside a machine, or over the cluster port with TLS."""

from __future__ import annotations

import shlex
from pathlib import Path

from swarm_cluster import Cluster

MANAGER, MANAGER2, WORKER = "eng-1", "eng-2", "eng-3"
NODES = [MANAGER, MANAGER2, WORKER]
ENGINE_SOCKET = "unix:///run/swarmlet/docker.sock"
IMAGE = "swarmlet/demo:latest"
# Debian's docker.io CLI, and a newer one where this machine has it.
DOCKER_CLIS = [path for path in ("/usr/bin/docker", "/usr/local/bin/docker")
               if Path(path).exists()]
# The newest alone, for tests whose requests and answers are the same with either CLI (both
# speak API 1.41 here, the newer one after negotiating down): both CLIs run the tests of
# version negotiation and those whose output differs between them (errors, stack deploy,
# info, TLS).
NEWEST_CLI = DOCKER_CLIS[-1:]


def cli_version(docker: str) -> str:
    import subprocess

    out = subprocess.run([docker, "version", "--format", "{{.Client.Version}}"],
                         capture_output=True, text=True).stdout
    return out.strip()


class EngineCluster(Cluster):
    def docker(self, machine: str, args: str, check: bool = True, docker: str | None = None,
               env: str = ""):
        """A docker CLI inside `machine`, talking to its engine socket; the completed
        process (stdout, stderr, returncode)."""
        binary = docker or DOCKER_CLIS[0]
        command = (f"env DOCKER_HOST={ENGINE_SOCKET} DOCKER_CLI_HINTS=false {env} "
                   f"{binary} {args}")
        return self.run(machine, command, check)

    def python(self, machine: str, script: str, check: bool = True):
        """A Python script (this venv's: the docker SDK) inside `machine`."""
        import sys

        return self.run(machine, f"{sys.executable} -c {shlex.quote(script)}", check)
