"""An Ansible inventory of machines: reachable over SSH as root with the tool's key."""

from __future__ import annotations

import shlex
from typing import Any

from swarmlet.errors import SwarmletError
from swarmlet.machine.ssh import client_options
from swarmlet.machine.store import Machine, MachineStore


def build_inventory(store: MachineStore, machines: list[Machine], managers: int) -> dict[str, Any]:
    """The first `managers` machines in group `managers`, the rest in `workers`."""
    if managers < 0:
        raise SwarmletError("--managers must be 0 or more")
    if managers > len(machines):
        raise SwarmletError(
            f"--managers {managers} asks for more managers than the {len(machines)} machine(s) "
            "in the inventory"
        )

    def hosts(group: list[Machine]) -> dict[str, Any]:
        return {m.name: {"ansible_host": m.ip} for m in group}

    return {
        "all": {
            "vars": {
                "ansible_user": "root",
                # Root already, and the machines have no sudo: site.yml's `become: true`
                # (for real hosts reached as a sudoer) must not run it here.
                "ansible_become": False,
                "ansible_ssh_private_key_file": str(store.key_path),
                "ansible_ssh_common_args": shlex.join(client_options(store)),
                # Machines share the host's filesystem: modules run on its system Python.
                "ansible_python_interpreter": "/usr/bin/python3",
            },
            "children": {
                "managers": {"hosts": hosts(machines[:managers])},
                "workers": {"hosts": hosts(machines[managers:])},
            },
        }
    }

