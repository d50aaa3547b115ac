#!/usr/bin/python
# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_secret
short_description: Create and remove swarmlet secrets, with rolling versions
description:
  - Manages a secret of a swarmlet swarm, as community.docker's C(docker_secret) manages a Docker
    Swarm secret, with the same option names and return values.
  - A secret's data cannot change (the agent refuses it). Every secret the module creates gets
    the label C(ansible_key), the sha224 of its data, so that a run knows whether the value
    given is the secret's value; a different value replaces the secret (or, with
    O(rolling_versions), makes a new version).
  - Unlike C(docker_secret), O(labels) change in place (the agent allows it), without
    making a new secret.
  - Unlike C(docker_secret), a value can be changed while services use the secret. With
    O(rolling_versions=true) a new version C(<name>_v<N>) is created and returned, and
    RV(secret_name) is what a C(swarmlet.swarm.swarm_service) task in the same playbook points
    the services at (a rolling update); old versions are removed by a later run once no
    service uses them. Without O(rolling_versions), changing the value of a secret in use fails
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
      - O(force=true) replaces the secret (or makes a new version) on every run.
options:
  name:
    description:
      - The name of the secret; with O(rolling_versions), the base name of its versions.
      - At most 64 characters C([a-zA-Z0-9-_.]), starting and ending with a letter or digit.
    type: str
    required: true
  state:
    description:
      - V(present) creates the secret, or replaces it (a new version) when its value differs.
      - V(absent) removes it; with O(rolling_versions), all its versions. A secret that a
        service uses is not removed; the task fails naming the services.
    type: str
    default: present
    choices: [present, absent]
  data:
    description:
      - The value; Ansible never shows it (C(no_log)).
      - One of O(data) and O(data_src) is required with O(state=present).
      - Less than 512000 bytes once decoded, and not empty.
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
      - Labels of the secret. Unset keeps the current labels; V({}) removes them.
      - Changed in place. The labels C(ansible_key) and C(ansible_version) are the module's
        own and cannot be given.
    type: dict
  force:
    description:
      - Replace the secret (or make a new version) even if its value is the same.
    type: bool
    default: false
  rolling_versions:
    description:
      - Keep each value as its own secret C(<name>_v<N>) (label C(ansible_version=N)). A new
        value makes version N+1, returned in RV(secret_name) and RV(secret_id).
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
notes:
  - The agent refuses secrets of 512000 bytes or more (500 KB for secrets, 1000 KB for configs);
    the module says so before sending anything.
  - The C(ansible_key) label is a hash of the value; like community.docker, the module needs
    it to compare a value it cannot read back.
seealso:
  - module: swarmlet.swarm.swarm_service
    description: Give services the secrets (O(swarmlet.swarm.swarm_service#module:secrets)).
  - name: community.docker.docker_secret
    description: The Docker Swarm module whose options and return values this one follows.
    link: https://docs.ansible.com/ansible/latest/collections/community/docker/docker_secret_module.html
"""

EXAMPLES = r"""
- name: A secret from a value (kept out of logs by no_log on data)
  swarmlet.swarm.swarm_secret:
    name: db_password
    data: "{{ vault_db_password }}"
    labels:
      app: wordpress

- name: A binary secret, Base64-encoded
  swarmlet.swarm.swarm_secret:
    name: tls_key
    data: "{{ lookup('ansible.builtin.file', 'site.key') | b64encode }}"
    data_is_b64: true

- name: A secret from a file on the manager
  swarmlet.swarm.swarm_secret:
    name: api_token
    data_src: /etc/app/token

# Rotation: a new value is a new version, the service moves to it in a rolling update, and
# a later run removes the old version once no service uses it.
- name: The password, versioned
  swarmlet.swarm.swarm_secret:
    name: db_password
    data: "{{ vault_db_password }}"
    rolling_versions: true
    versions_to_keep: 2
  register: db_password

- name: The service reads the current version at the same path
  swarmlet.swarm.swarm_service:
    name: wordpress
    secrets:
      - secret_name: "{{ db_password.secret_name }}"
        filename: db_password        # /run/secrets/db_password whatever the version
        mode: "0400"
    wait: true

- name: Remove a secret (fails, naming them, while services use it)
  swarmlet.swarm.swarm_secret:
    name: api_token
    state: absent
"""

RETURN = r"""
secret_id:
  description:
    - The ID of the secret (with O(rolling_versions), of its current version).
    - V(null) in check mode for a secret that would be created, and after O(state=absent).
  returned: always
  type: str
  sample: 7w3skbb2q0sy4o6pt3hrvyl2g
secret_name:
  description:
    - The name of the secret, O(name), or with O(rolling_versions) the current version's
      C(<name>_v<N>), the name to give services.
    - V(null) after O(state=absent).
  returned: always
  type: str
  sample: db_password_v2
pruned:
  description:
    - The old versions removed (O(rolling_versions)), and with O(state=absent) every version
      removed.
  returned: always
  type: list
  elements: str
  sample: [db_password_v1]
in_use:
  description:
    - The old versions beyond O(versions_to_keep) kept because services use them, each with
      the names of those services. A later run removes them once the services moved on.
  returned: always
  type: dict
  sample: {db_password_v1: [wordpress]}
diff:
  description:
    - In diff mode, the name, labels and versions before and after; the data is never shown.
  returned: when diff mode is on
  type: dict
  sample:
    before: {name: db_password_v1, labels: {}, data: "(hidden)",
             versions: [db_password_v1]}
    after: {name: db_password_v2, labels: {}, data: "(hidden, changed)",
            versions: [db_password_v1, db_password_v2]}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmlet.swarm.plugins.module_utils._data_objects import (
    MODULE_KWARGS,
    SECRET,
    argument_spec,
    run_module,
)


def main():
    module = AnsibleModule(argument_spec=argument_spec(SECRET), **MODULE_KWARGS)
    run_module(module, SECRET)


if __name__ == "__main__":
    main()
