#!/usr/bin/python
# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: swarm_node
short_description: Manage a node of a swarmlet swarm (role, availability, labels)
description:
  - Promotes or demotes a node, sets its availability, and adds, replaces or removes its
    labels. Options left unset keep their current values.
  - Runs on a manager (or talks to one through O(swarmlet_host)).
  - The swarmlet counterpart of community.docker's docker_node, with its option names,
    return values and messages.
extends_documentation_fragment:
  - swarmlet.swarm.api
  - swarmlet.swarm.api.attributes
  - swarmlet.swarm.api.actiongroup_swarm
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  hostname:
    description:
      - The node, by hostname, ID or unique ID prefix, as it is registered in the swarm.
      - A hostname that several nodes share (a node that left and joined again leaves a
        down node of that name) is ambiguous; give the node ID then.
    type: str
    required: true
  labels:
    description:
      - Labels to set on the node. How they combine with the current labels is
        O(labels_state)'s choice.
      - Values are strings; numbers are turned into strings.
    type: dict
  labels_state:
    description:
      - V(merge) adds the O(labels) given and updates their values; the other labels stay.
      - V(replace) makes the labels exactly O(labels); with O(labels) unset or empty, all
        labels are removed.
    type: str
    default: merge
    choices: [merge, replace]
  labels_to_remove:
    description:
      - Keys of labels to remove. A key that the node does not have is ignored.
      - A key also given in O(labels) keeps the value given there, with a warning.
    type: list
    elements: str
  availability:
    description:
      - V(active) nodes get new tasks; V(pause) nodes keep their tasks but get no new
        ones; V(drain) nodes have their tasks moved to other nodes.
    type: str
    choices: [active, pause, drain]
  role:
    description:
      - Promote the node to V(manager) or demote it to V(worker).
      - The change takes effect on the node within a heartbeat period or two (it gets a
        certificate for its new role, then joins or leaves Raft).
      - Demoting the last manager, or a manager whose removal would lose the Raft quorum,
        fails with the agent's message.
    type: str
    choices: [manager, worker]
notes:
  - Unlike community.docker's docker_node, a node that is down can be updated (its labels
    or availability, for example); the change applies when it comes back.
seealso:
  - module: swarmlet.swarm.swarm_init
  - module: swarmlet.swarm.swarm_info
author:
  - Swarmlet developers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Label a node (other labels stay)
  swarmlet.swarm.swarm_node:
    hostname: worker1
    labels:
      zone: eu-1
      disk: ssd

- name: Make the labels exactly these
  swarmlet.swarm.swarm_node:
    hostname: worker1
    labels:
      zone: eu-2
    labels_state: replace

- name: Remove a label
  swarmlet.swarm.swarm_node:
    hostname: worker1
    labels_to_remove: [disk]

- name: Drain a node before maintenance
  swarmlet.swarm.swarm_node:
    hostname: worker1
    availability: drain

- name: Promote a worker
  swarmlet.swarm.swarm_node:
    hostname: worker2
    role: manager
"""

RETURN = r"""
node:
  description:
    - The node's inspect after the update (in check mode, as it is).
  returned: success
  type: dict
  sample: {"ID": "eqyxypf7g060cnnrofbdd14v7", "Version": {"Index": 12},
           "Spec": {"Labels": {"zone": "eu-1"}, "Role": "worker", "Availability": "active"},
           "Description": {"Hostname": "worker1"},
           "Status": {"State": "ready", "Addr": "198.18.0.9"}}
changes:
  description: The names of the settings that differ (V(role), V(availability), V(labels)).
  returned: success
  type: list
  elements: str
  sample: ["labels"]
diff:
  description: The settings before and after, in diff mode.
  returned: diff mode
  type: dict
  sample: {"before": {"labels": {}}, "after": {"labels": {"zone": "eu-1"}}}
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmlet.swarm.plugins.module_utils._api import SwarmletAPIError
from ansible_collections.swarmlet.swarm.plugins.module_utils._module import (
    Differences,
    api_argument_spec,
    client_for,
    require_manager,
)
from ansible_collections.swarmlet.swarm.plugins.module_utils._node import node_spec_update
from ansible_collections.swarmlet.swarm.plugins.module_utils._swarm import normalize_labels

ATTEMPTS = 5  # a node object also changes with its status (heartbeats): re-read and retry
NO_LEADER_WAIT = 10  # seconds to wait out a swarm without a leader


def get_node(module, client, ref):
    deadline = time.monotonic() + NO_LEADER_WAIT
    while True:
        try:
            node = client.get_or_none(f"/nodes/{ref}")
            break
        except SwarmletAPIError as exc:
            if exc.status == 409:
                module.fail_json(msg=f"{exc.message}: give the node ID")
            # 503: no leader for a moment (an election, a manager joining Raft)
            if exc.status != 503 or time.monotonic() > deadline:
                module.fail_json(msg=exc.message)
        time.sleep(1)
    if node is None:
        module.fail_json(msg=f"Node {ref} is not part of the swarm: no node has that hostname "
                             "or ID.")
    return node


def main():
    argument_spec = dict(
        hostname=dict(type="str", required=True),
        labels=dict(type="dict"),
        labels_state=dict(type="str", default="merge", choices=["merge", "replace"]),
        labels_to_remove=dict(type="list", elements="str"),
        availability=dict(type="str", choices=["active", "pause", "drain"]),
        role=dict(type="str", choices=["manager", "worker"]),
    )
    argument_spec.update(api_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    try:
        labels = normalize_labels(p["labels"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    client = client_for(module)
    require_manager(module, client)
    ref = p["hostname"]

    for attempt in range(ATTEMPTS):
        node = get_node(module, client, ref)
        new_spec, differences, warnings = node_spec_update(
            node, p["role"], p["availability"], labels, p["labels_state"],
            p["labels_to_remove"])
        if not differences:
            break
        try:
            if module.check_mode:  # the agent's plan: its rules apply, nothing is written
                client.dry_run("POST", f"/nodes/{node['ID']}/update", new_spec,
                               version=node["Version"]["Index"])
            else:
                client.post(f"/nodes/{node['ID']}/update", new_spec,
                            version=node["Version"]["Index"])
        except SwarmletAPIError as exc:
            if exc.status == 409 and attempt < ATTEMPTS - 1:
                continue
            module.fail_json(msg=f"Failed to update node {ref}: {exc.message}")
        if not module.check_mode:
            node = get_node(module, client, node["ID"])
        break

    for warning in warnings:
        module.warn(warning)
    changes = Differences()
    for name, wanted, current in differences:
        changes.add(name, wanted, current)
    result = dict(changed=bool(changes), node=node, changes=changes.names)
    if module._diff:
        result["diff"] = changes.diff()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
