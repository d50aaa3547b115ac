"""Each module's playbook (tests/collection/playbooks/) against the cluster site.yml built: the
idempotency ladder (check mode + diff, apply, repeat, repeat in check mode), bad parameters,
and what a user would look at afterwards, asserted inside the playbook. Each leaves the
cluster as it found it; swarm_init goes last (it joins, leaves and removes the spare).

swarm_secret runs with -v and a random marker (`-e secret_marker=...`) its secret values are
made of: neither the marker nor the values (nor their Base64) may appear in the output."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest

from collection.site import Deployment

PLAYBOOKS = Path(__file__).with_name("playbooks")
ORDER = ["swarm_info", "swarm_node", "swarm_service", "swarm_secret", "swarm_network",
         "swarm_stack", "inventory_swarm", "module_defaults", "swarm_init"]
# Playbooks given a random secret_marker and run with -v, whose output must not hold it.
WITH_SECRETS = ("swarm_secret",)


def plaintexts(marker: str) -> list[str]:
    """The values swarm_secret.yml makes of the marker, as text and as Base64."""
    values = [marker, f"{marker}-one", f"{marker}-two"]
    return values + [base64.b64encode(v.encode()).decode() for v in values]


def test_every_playbook_is_run() -> None:
    assert sorted(p.stem for p in PLAYBOOKS.glob("*.yml")) == sorted(ORDER)


@pytest.mark.parametrize("name", ORDER)
def test_playbook(deployment: Deployment, name: str) -> None:
    marker = f"sectest-{secrets.token_hex(16)}"
    args = ("-v", "-e", f"secret_marker={marker}") if name in WITH_SECRETS else ()
    run = deployment.playbook(PLAYBOOKS / f"{name}.yml", *args)
    leaked = [value for value in plaintexts(marker) if value in run.output] if args else []
    # the output is shown only when nothing leaked
    assert not leaked, f"{len(leaked)} secret value(s) in the -v output of {name}.yml"
    assert run.returncode == 0, run.output[-8000:]
    recap = run.recap()
    assert recap and all(r["failed"] == 0 and r["unreachable"] == 0 for r in recap.values())
    if args:
        assert "TASK [" in run.output and "ok: [" in run.output  # the -v output was read
