#!/usr/bin/python
# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: swarm_node_info
short_description: Facts about the nodes of a swarmlet swarm
description:
  - Returns the inspect of nodes (what C(swarmlet node inspect) prints) of the ones named,
    every node, or the node the module runs on.
  - Runs on a manager (or talks to one through O(swarmlet_host)).
  - The swarmlet counterpart of community.docker's docker_node_info, with its options and
    return value.
extends_documentation_fragment:
  - swarmlet.swarm.api
  - swarmlet.swarm.api.attributes
  - swarmlet.swarm.api.actiongroup_swarm
attributes:
  check_mode:
    support: full
    details:
      - The module only reads; it never reports a change.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  name:
    description:
      - The nodes, by hostname, ID or unique ID prefix; one name or a list.
      - A name no node has is skipped (as docker_node_info does). A hostname that several
        nodes share (a node that left and joined again leaves a down node of that name)
        fails; give the node ID then.
      - Unset or empty, every node of the swarm, down ones included.
      - Ignored with O(self=true).
    type: list
    elements: str
  self:
    description:
      - V(true) returns the node of the agent the module talks to (the host it runs on
        with the default O(swarmlet_host)); O(name) is then ignored.
      - Needs the agent's unix socket; with a V(tcp://) O(swarmlet_host) it fails.
    type: bool
    default: false
seealso:
  - module: swarmlet.swarm.swarm_node
  - module: swarmlet.swarm.swarm_info
author:
  - Swarmlet developers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Every node
  swarmlet.swarm.swarm_node_info:
  register: result

- name: Two nodes
  swarmlet.swarm.swarm_node_info:
    name: [worker1, worker2]
  register: result

- name: The node this task runs on
  swarmlet.swarm.swarm_node_info:
    self: true
  register: result

- name: Its labels
  ansible.builtin.debug:
    msg: "{{ result.nodes[0].Spec.Labels }}"
"""

RETURN = r"""
nodes:
  description:
    - The nodes' inspects, in the order named (every node sorted by hostname when
      O(name) is unset); names no node has are skipped.
  returned: always
  type: list
  elements: dict
  sample:
    - {"ID": "eqyxypf7g060cnnrofbdd14v7", "Version": {"Index": 12},
       "Spec": {"Labels": {"zone": "eu-1"}, "Role": "worker", "Availability": "active"},
       "Description": {"Hostname": "worker1"},
       "Status": {"State": "ready", "Addr": "198.18.0.9"}}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmlet.swarm.plugins.module_utils._api import SwarmletAPIError
from ansible_collections.swarmlet.swarm.plugins.module_utils._calls import (
    get_or_none,
    patiently,
)
from ansible_collections.swarmlet.swarm.plugins.module_utils._module import (
    api_argument_spec,
    client_for,
    require_manager,
)
from ansible_collections.swarmlet.swarm.plugins.module_utils._node import node_hostname


def find_nodes(module, client):
    p = module.params
    if p["self"]:
        info = client.local_info()
        if info is None:
            module.fail_json(msg="self=true needs the agent of this host (its unix socket), "
                                 f"not {client.host}: name the node instead")
        return [patiently(client.get, f"/nodes/{info['NodeID']}")]
    if not p["name"]:
        nodes = patiently(client.get, "/nodes")
        return sorted(nodes, key=lambda n: (node_hostname(n), n.get("ID", "")))
    found, seen = [], set()
    for ref in p["name"]:
        try:
            node = get_or_none(client, f"/nodes/{ref}")
        except SwarmletAPIError as exc:
            if exc.status == 409:
                module.fail_json(msg=f"{exc.message}: give the node ID")
            raise
        if node is not None and node["ID"] not in seen:
            seen.add(node["ID"])
            found.append(node)
    return found


def main():
    argument_spec = dict(
        name=dict(type="list", elements="str"),
        self=dict(type="bool", default=False),
    )
    argument_spec.update(api_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    client = client_for(module)
    require_manager(module, client)
    try:
        nodes = find_nodes(module, client)
    except SwarmletAPIError as exc:
        module.fail_json(msg=exc.message)
    module.exit_json(changed=False, nodes=nodes)


if __name__ == "__main__":
    main()
