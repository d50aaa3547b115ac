"""The Docker Engine API's own plumbing, with the real docker CLIs: version negotiation,
/info's swarm part, and what is not about the swarm going to dockerd (docs/docker-api.md)."""

from __future__ import annotations

import json

import pytest
from engine_cluster import DOCKER_CLIS, MANAGER, WORKER, cli_version


@pytest.mark.parametrize("docker", DOCKER_CLIS, ids=cli_version)
def test_info_shows_the_swarm_and_ps_goes_to_dockerd(engine_swarm, docker):
    info = json.loads(engine_swarm.docker(MANAGER, "info --format '{{json .Swarm}}'",
                                          docker=docker).stdout)
    assert info["LocalNodeState"] == "active"
    assert info["ControlAvailable"] is True
    assert info["Nodes"] == 3 and info["Managers"] == 2
    version = engine_swarm.docker(MANAGER, "version --format '{{.Server.APIVersion}}'",
                                  docker=docker).stdout.strip()
    assert version == "1.41"
    worker = json.loads(engine_swarm.docker(WORKER, "info --format '{{json .Swarm}}'",
                                            docker=docker).stdout)
    assert worker["LocalNodeState"] == "active" and worker["ControlAvailable"] is False
    ps = engine_swarm.docker(MANAGER, "ps --format '{{.Names}}'", docker=docker)
    assert ps.returncode == 0
