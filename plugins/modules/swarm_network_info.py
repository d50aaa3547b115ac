#!/usr/bin/python
# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: swarm_network_info
short_description: Facts about one overlay network of a swarmlet swarm
description:
  - Returns a network as C(docker network inspect) shows it (what
    M(swarmlet.swarm.swarm_network) returns), or tells that there is none.
  - Runs on a manager (or talks to one through O(swarmlet_host)), as swarmlet's networks are
    swarm objects.
  - The swarmlet counterpart of community.docker's docker_network_info, with its option and
    return values.
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
      - The network, by name, ID or unique ID prefix.
    type: str
    required: true
notes:
  - Only the swarm's overlay networks are known; a node-local Docker network (C(bridge),
    C(host)) is not found.
seealso:
  - module: swarmlet.swarm.swarm_network
author:
  - Swarmlet developers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Get the network web-back
  swarmlet.swarm.swarm_network_info:
    name: web-back
  register: result

- name: Its subnet
  ansible.builtin.debug:
    msg: "{{ result.network.IPAM.Config[0].Subnet }}"
  when: result.exists
"""

RETURN = r"""
exists:
  description: Whether the network exists.
  returned: always
  type: bool
  sample: true
network:
  description:
    - The network as C(docker network inspect) shows it (Docker's NetworkResource), or null
      when there is no such network.
  returned: always
  type: dict
  sample: {"Name": "web-back", "Id": "3k9fmgk1z7rz6l1xb4j7gxz2v", "Scope": "swarm",
           "Driver": "overlay", "Attachable": true, "Internal": false, "Ingress": false,
           "EnableIPv6": false, "ConfigFrom": {"Network": ""}, "ConfigOnly": false,
           "Containers": {},
           "IPAM": {"Driver": "default", "Options": null,
                    "Config": [{"Subnet": "10.200.7.0/24", "Gateway": "10.200.7.1"}]},
           "Options": {"com.docker.network.driver.overlay.vxlanid_list": "4097"},
           "Labels": {"com.example.app": "demo"}}
"""

from ansible_collections.swarmlet.swarm.plugins.module_utils._network import network_resource
from ansible_collections.swarmlet.swarm.plugins.module_utils._object_info import run_object_info


def main():
    run_object_info("/networks", "network", network_resource)


if __name__ == "__main__":
    main()
