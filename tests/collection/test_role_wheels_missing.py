"""The agent's wheels not on the controller (a collection built without them, a wrong path):
the role stops at its preflight saying where to get them, before touching the host (no
machine: check mode on the controller)."""

from __future__ import annotations

from pathlib import Path

from collection.site import ansible_playbook


def test_missing_wheels_stop_the_role_with_the_way_out(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                         "      ansible_python_interpreter: /usr/bin/python3\n")
    playbook = tmp_path / "agent.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n"
                        "  roles: [swarmlet.swarm.agent]\n")
    run = ansible_playbook(inventory, playbook, "--check",
                           "-e", f"agent_wheels={tmp_path}/none.tar")
    assert run.returncode == 2, run.output[-3000:]
    assert f"agent_wheels: {tmp_path}/none.tar not found on the controller" in run.output, \
        run.output[-3000:]
    assert "Build the collection with `make collection`" in run.output, run.output[-3000:]
    assert "TASK [swarmlet.swarm.agent : Look for dockerd]" not in run.output
