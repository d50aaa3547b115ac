"""The agent role's variables were renamed swarmlet_agent_* -> agent_*: an old name still set
stops the role before it does anything, naming the new one (needs no machine: check mode on
the controller, which fails at the preflight)."""

from __future__ import annotations

from pathlib import Path

from collection.site import ansible_playbook


def test_old_variable_names_are_refused_with_the_new_ones(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                         "      ansible_python_interpreter: /usr/bin/python3\n"
                         "      swarmlet_agent_log_level: debug\n")
    playbook = tmp_path / "agent.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n"
                        "  roles: [swarmlet.swarm.agent]\n")
    run = ansible_playbook(inventory, playbook, "--check", "-e", "swarmlet_agent_wheels=/x")
    assert run.returncode == 2, run.output[-3000:]
    assert ("The agent role's variables were renamed: swarmlet_agent_log_level -> "
            "agent_log_level, swarmlet_agent_wheels -> agent_wheels.") in run.output, \
        run.output[-3000:]
    assert "TASK [swarmlet.swarm.agent : Look for dockerd]" not in run.output
