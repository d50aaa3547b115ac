#!/usr/bin/python
# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_config
short_description: Create and remove swarmlet configs, with rolling versions
description:
  - Manages a config of a swarmlet swarm, as community.docker's C(docker_config) manages a Docker
    Swarm config, with the same option names and return values.
  - A config's data cannot change (the agent refuses it). Every config the module creates gets
    the label C(ansible_key), the sha224 of its data, so that a run knows whether the value
    given is the config's value; a different value replaces the config (or, with
    O(rolling_versions), makes a new version).
  - A config's data can be read back, so it is compared with the value itself; the
    C(ansible_key) label is only needed for secrets.
  - Unlike C(docker_config), O(labels) change in place (the agent allows it), without
    making a new config.
  - Unlike C(docker_config), a value can be changed while services use the config. With
    O(rolling_versions=true) a new version C(<name>_v<N>) is created and returned, and
    RV(config_name) is what a C(swarmlet.swarm.swarm_service) task in the same playbook points
    the services at (a rolling update); old versions are removed by a later run once no
    service uses them. Without O(rolling_versions), changing the value of a config in use fails
    with the agent's message, which names the services.
  - Must run against a manager.
version_added: 0.1.0
author:
  - Swarmlet developers (!UNKNOWN)
extends_documentation_fragment:
  - swarmlet.swarm.api
  - swarmlet.swarm.api.attributes
  - swarmlet.swarm.api.actiongroup_swarm
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the name, the labels and, with O(rolling_versions), the versions;
        never the data (V((hidden)), or V((hidden, changed)) when it changes).
  idempotent:
    support: partial
    details:
      - O(force=true) replaces the config (or makes a new version) on every run.
options:
  name:
    description:
      - The name of the config; with O(rolling_versions), the base name of its versions.
      - At most 64 characters C([a-zA-Z0-9-_.]), starting and ending with a letter or digit.
    type: str
    required: true
  state:
    description:
      - V(present) creates the config, or replaces it (a new version) when its value differs.
      - V(absent) removes it; with O(rolling_versions), all its versions. A config that a
        service uses is not removed; the task fails naming the services.
    type: str
    default: present
    choices: [present, absent]
  data:
    description:
      - The value.
      - One of O(data) and O(data_src) is required with O(state=present).
      - Less than 1024000 bytes once decoded, and not empty.
    type: str
  data_is_b64:
    description:
      - O(data) is Base64-encoded (for binary data); it is decoded before use.
    type: bool
    default: false
  data_src:
    description:
      - A file on the host the module runs on whose content is the value (read as bytes).
      - Mutually exclusive with O(data).
    type: path
  labels:
    description:
      - Labels of the config. Unset keeps the current labels; V({}) removes them.
      - Changed in place. The labels C(ansible_key) and C(ansible_version) are the module's
        own and cannot be given.
    type: dict
  force:
    description:
      - Replace the config (or make a new version) even if its value is the same.
    type: bool
    default: false
  rolling_versions:
    description:
      - Keep each value as its own config C(<name>_v<N>) (label C(ansible_version=N)). A new
        value makes version N+1, returned in RV(config_name) and RV(config_id).
      - Versions beyond O(versions_to_keep) are removed, oldest first, once no service uses
        them (RV(in_use) lists those kept for that reason).
    type: bool
    default: false
  versions_to_keep:
    description:
      - With O(rolling_versions), how many versions to keep, the current one included.
      - V(-1) keeps them all; V(0) and V(1) keep only the current one.
    type: int
    default: 5
  template_driver:
    description:
      - Docker's template driver for the config's data. With V(golang) the data is a Go
        template each node renders for each task using the config, as Docker's do
        (C({{.Service.Name}}), C({{.Task.Slot}}), C({{.Node.Hostname}}), C({{env "NAME"}}),
        C({{secret "target"}}), C({{config "target"}})).
      - A change of driver is a change of the config (a new one, as for its data).
    type: str
    choices: [golang]
notes:
  - The agent refuses configs of 1024000 bytes or more (500 KB for secrets, 1000 KB for configs);
    the module says so before sending anything.
  - The C(ansible_key) label is a hash of the value; like community.docker, the module needs
    it to compare a value it cannot read back.
seealso:
  - module: swarmlet.swarm.swarm_service
    description: Give services the configs (O(swarmlet.swarm.swarm_service#module:configs)).
  - name: community.docker.docker_config
    description: The Docker Swarm module whose options and return values this one follows.
    link: https://docs.ansible.com/ansible/latest/collections/community/docker/docker_config_module.html
"""

EXAMPLES = r"""
- name: A config from a value
  swarmlet.swarm.swarm_config:
    name: nginx.conf
    data: |
      server { listen 80; }
    labels:
      app: web

- name: A config from a file on the manager
  swarmlet.swarm.swarm_config:
    name: app.yml
    data_src: /etc/app/app.yml

- name: Versioned, for a service in use
  swarmlet.swarm.swarm_config:
    name: nginx.conf
    data: "{{ lookup('ansible.builtin.template', 'nginx.conf.j2') }}"
    rolling_versions: true
  register: nginx_conf

- name: The service gets the new version at the same path, in a rolling update
  swarmlet.swarm.swarm_service:
    name: web
    configs:
      - config_name: "{{ nginx_conf.config_name }}"
        filename: /etc/nginx/conf.d/default.conf
    wait: true

- name: Rendered by each node for each task (Go template; raw, so Ansible leaves it alone)
  swarmlet.swarm.swarm_config:
    name: app.env
    data: !unsafe |
      host={{.Node.Hostname}} slot={{.Task.Slot}} mode={{env "MODE"}}
    template_driver: golang

- name: Remove the config and all its versions
  swarmlet.swarm.swarm_config:
    name: nginx.conf
    rolling_versions: true
    state: absent
"""

RETURN = r"""
config_id:
  description:
    - The ID of the config (with O(rolling_versions), of its current version).
    - V(null) in check mode for a config that would be created, and after O(state=absent).
  returned: always
  type: str
  sample: 7w3skbb2q0sy4o6pt3hrvyl2g
config_name:
  description:
    - The name of the config, O(name), or with O(rolling_versions) the current version's
      C(<name>_v<N>), the name to give services.
    - V(null) after O(state=absent).
  returned: always
  type: str
  sample: nginx.conf_v2
pruned:
  description:
    - The old versions removed (O(rolling_versions)), and with O(state=absent) every version
      removed.
  returned: always
  type: list
  elements: str
  sample: [nginx.conf_v1]
in_use:
  description:
    - The old versions beyond O(versions_to_keep) kept because services use them, each with
      the names of those services. A later run removes them once the services moved on.
  returned: always
  type: dict
  sample: {nginx.conf_v1: [wordpress]}
diff:
  description:
    - In diff mode, the name, labels and versions before and after; the data is never shown.
  returned: when diff mode is on
  type: dict
  sample:
    before: {name: nginx.conf_v1, labels: {}, data: "(hidden)",
             versions: [nginx.conf_v1]}
    after: {name: nginx.conf_v2, labels: {}, data: "(hidden, changed)",
            versions: [nginx.conf_v1, nginx.conf_v2]}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmlet.swarm.plugins.module_utils._data_objects import (
    CONFIG,
    MODULE_KWARGS,
    argument_spec,
    run_module,
)


def main():
    module = AnsibleModule(argument_spec=argument_spec(CONFIG), **MODULE_KWARGS)
    run_module(module, CONFIG)


if __name__ == "__main__":
    main()
