#!/usr/bin/python
# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: swarm_service_info
short_description: Facts about one service of a swarmlet swarm
description:
  - Returns a service's inspect (what C(swarmlet service inspect) prints), or tells that
    there is none.
  - Runs on a manager (or talks to one through O(swarmlet_host)).
  - The swarmlet counterpart of community.docker's docker_swarm_service_info, with its
    option and return values.
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
      - The service, by name, ID or unique ID prefix.
    type: str
    required: true
seealso:
  - module: swarmlet.swarm.swarm_service
  - module: swarmlet.swarm.swarm_info
author:
  - Swarmlet developers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Get the service web
  swarmlet.swarm.swarm_service_info:
    name: web
  register: result

- name: Its replicas, if it exists
  ansible.builtin.debug:
    msg: "{{ result.service.Spec.Mode.Replicated.Replicas if result.exists else 'no web' }}"
"""

RETURN = r"""
exists:
  description: Whether the service exists.
  returned: always
  type: bool
  sample: true
service:
  description:
    - The service's inspect (C(ID), C(Version), C(CreatedAt), C(UpdatedAt), C(Spec),
      C(Endpoint), C(UpdateStatus)...), or null when there is no such service.
  returned: always
  type: dict
  sample: {"ID": "4yrdfjmj4sfz55sx7ygznhthu", "Version": {"Index": 41},
           "Spec": {"Name": "web", "Mode": {"Replicated": {"Replicas": 3}},
                    "TaskTemplate": {"ContainerSpec": {"Image": "swarmlet/demo:latest"}}}}
"""

from ansible_collections.swarmlet.swarm.plugins.module_utils._object_info import run_object_info


def main():
    run_object_info("/services", "service")


if __name__ == "__main__":
    main()
