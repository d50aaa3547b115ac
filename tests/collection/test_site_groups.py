"""site.yml's first play, which needs no machine: the swarm's hosts come from the groups
`managers`/`workers` or the inventory plugin's `manager`/`worker`, and an inventory with
neither fails saying what it needs."""

from __future__ import annotations

from pathlib import Path

import yaml

from collection.site import ansible_playbook
from conftest import REPO

SITE = REPO / "playbooks/site.yml"


def gathered(tmp_path: Path, groups: dict[str, list[str]]) -> str:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {
        group: {"hosts": dict.fromkeys(hosts)} for group, hosts in groups.items()}}}))
    # --tags selects no task of the role or the modules: only the first play runs
    run = ansible_playbook(inventory, SITE, "--tags", "no_such_tag")
    return run.output if run.returncode == 0 else f"rc={run.returncode}\n{run.output}"


def test_static_group_names(tmp_path: Path) -> None:
    out = gathered(tmp_path, {"managers": ["m1", "m2"], "workers": ["w1"]})
    assert "managers: m1, m2; workers: w1" in out, out


def test_plugin_group_names(tmp_path: Path) -> None:
    out = gathered(tmp_path, {"manager": ["m1"], "worker": ["w1", "w2"], "leader": ["m1"]})
    assert "managers: m1; workers: w1, w2" in out, out


def test_both_pairs_combined_a_manager_listed_as_worker_is_a_manager(tmp_path: Path) -> None:
    out = gathered(tmp_path, {"managers": ["m1"], "manager": ["m1", "m2"],
                              "worker": ["w1", "m2"]})
    assert "managers: m1, m2; workers: w1" in out, out


def test_no_manager_fails_naming_the_groups(tmp_path: Path) -> None:
    out = gathered(tmp_path, {"nodes": ["n1"]})
    assert out.startswith("rc=2"), out
    assert "site.yml needs at least one host in group `managers` (or `manager`" in out, out
    assert "the inventory has the groups all, nodes, ungrouped" in out, out
