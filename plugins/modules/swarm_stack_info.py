#!/usr/bin/python
# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_stack_info
short_description: The stacks of a swarmlet swarm, their services and their tasks
description:
  - Lists the stacks (the values of the services' label C(com.docker.stack.namespace)) as
    community.docker's C(docker_stack_info) does, each with its services; with O(tasks=true)
    also their tasks, in the shape of C(docker_stack_task_info).
  - Reads only; must run against a manager.
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
    details:
      - The module only reads; it never reports a change.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  name:
    description:
      - Only this stack. A stack that does not exist gives empty lists.
    type: str
  tasks:
    description:
      - Also list the tasks of the stacks (RV(tasks)), as C(docker stack ps) does.
    type: bool
    default: false
seealso:
  - module: swarmlet.swarm.swarm_stack
  - name: community.docker.docker_stack_info
    description: The Docker module whose RV(results) this one returns.
    link: https://docs.ansible.com/ansible/latest/collections/community/docker/docker_stack_info_module.html
  - name: community.docker.docker_stack_task_info
    description: The Docker module whose task list RV(tasks) follows.
    link: https://docs.ansible.com/ansible/latest/collections/community/docker/docker_stack_task_info_module.html
"""

EXAMPLES = r"""
- name: Every stack
  swarmlet.swarm.swarm_stack_info:
  register: info

- name: One stack with its tasks
  swarmlet.swarm.swarm_stack_info:
    name: vote
    tasks: true
  register: vote

- name: Every task of the stack runs
  ansible.builtin.assert:
    that: vote.tasks | rejectattr('DesiredState', 'ne', 'Running')
          | rejectattr('CurrentState', 'eq', 'Running') | list | length == 0
"""

RETURN = r"""
results:
  description:
    - One entry per stack, as C(docker stack ls --format '{{json .}}') prints it (and
      C(docker_stack_info) returns it), with C(Name) and C(Services), the number of its services
      as a string.
  returned: always
  type: list
  elements: dict
  sample: [{Name: vote, Services: "5"}]
stacks:
  description:
    - One entry per stack, with its services (C(ID), C(Name), C(Mode), C(Replicas), C(Image),
      C(Ports)).
  returned: always
  type: list
  elements: dict
  sample:
    - Name: vote
      Services:
        - {ID: p5d0xn8m8vjk3bjgd94tdyhyb, Name: vote_vote, Mode: Replicated, Replicas: 2,
           Image: "vote:latest", Ports: []}
tasks:
  description:
    - With O(tasks=true), the tasks of the stacks as C(docker stack ps --format '{{json .}}')
      shows them (and C(docker_stack_task_info) returns them), with full IDs, and
      C(CurrentState) without the "... ago" that would change from one run to the next.
  returned: when O(tasks=true)
  type: list
  elements: dict
  sample:
    - {ID: 7wqv6m02ugkwx2y5d0bq5j3wz, Name: vote_vote.1, Image: "vote:latest", Node: m1,
       DesiredState: Running, CurrentState: Running, Error: "", Ports: ""}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmlet.swarm.plugins.module_utils._api import SwarmletAPIError
from ansible_collections.swarmlet.swarm.plugins.module_utils._module import (
    api_argument_spec,
    client_for,
    require_manager,
)
from ansible_collections.swarmlet.swarm.plugins.module_utils._stack import (
    NAMESPACE_LABEL,
    stack_summaries,
    stack_task,
)
from ansible_collections.swarmlet.swarm.plugins.module_utils._swarm_info import (
    service_essentials,
)


def main():
    argument_spec = dict(name=dict(type="str"), tasks=dict(type="bool", default=False))
    argument_spec.update(api_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    client = client_for(module)
    require_manager(module, client)
    name = module.params["name"]
    try:
        services = [s for s in client.get("/services")
                    if NAMESPACE_LABEL in ((s.get("Spec") or {}).get("Labels") or {})]
        if name is not None:
            services = [s for s in services
                        if s["Spec"]["Labels"][NAMESPACE_LABEL] == name]
        services.sort(key=lambda s: (s["Spec"].get("Name", ""), s.get("ID", "")))
        result = dict(changed=False, results=stack_summaries(services))
        result["stacks"] = [
            dict(Name=summary["Name"], Services=[
                service_essentials(s) for s in services
                if s["Spec"]["Labels"][NAMESPACE_LABEL] == summary["Name"]])
            for summary in result["results"]]
        if module.params["tasks"]:
            names = dict((s["ID"], s["Spec"].get("Name", "")) for s in services)
            hosts = dict((n["ID"], (n.get("Description") or {}).get("Hostname") or n["ID"])
                         for n in client.get("/nodes"))
            tasks = [t for t in client.get("/tasks") if t.get("ServiceID") in names]
            tasks.sort(key=lambda t: (names[t["ServiceID"]], t.get("Slot") or 0,
                                      t.get("NodeID") or "", t.get("CreatedAt") or ""))
            result["tasks"] = [stack_task(t, names, hosts) for t in tasks]
    except SwarmletAPIError as exc:
        module.fail_json(msg=exc.message)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
