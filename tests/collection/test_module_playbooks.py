"""Each module's playbook (tests/collection/playbooks/) against the cluster site.yml built: the
idempotency ladder (check mode + diff, apply, repeat, repeat in check mode), bad parameters,
and what a user would look at afterwards, asserted inside the playbook. Each leaves the
cluster as it found it; swarm_init goes last (it joins, leaves and removes the spare)."""

from __future__ import annotations

from pathlib import Path

import pytest

from collection.site import Deployment

PLAYBOOKS = Path(__file__).with_name("playbooks")
ORDER = ["swarm_info", "swarm_node", "swarm_service", "inventory_swarm", "swarm_init"]


def test_every_playbook_is_run() -> None:
    assert sorted(p.stem for p in PLAYBOOKS.glob("*.yml")) == sorted(ORDER)


@pytest.mark.parametrize("name", ORDER)
def test_playbook(deployment: Deployment, name: str) -> None:
    run = deployment.playbook(PLAYBOOKS / f"{name}.yml")
    assert run.returncode == 0, run.output[-8000:]
    recap = run.recap()
    assert recap and all(r["failed"] == 0 and r["unreachable"] == 0 for r in recap.values())
