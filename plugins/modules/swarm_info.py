#!/usr/bin/python
# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: swarm_info
short_description: Facts about a swarmlet swarm, and lists of its nodes, services and tasks
description:
  - Tells whether the agent answers, whether this node is in a swarm and whether it is a
    manager; these three facts are returned even when the module fails.
  - On a manager, returns the swarm (its inspect, with the join tokens) and, on request,
    the lists of nodes, services and tasks, with Docker's filters.
  - The swarmlet counterpart of community.docker's docker_swarm_info; its facts
    RV(can_talk_to_docker), RV(docker_swarm_active) and RV(docker_swarm_manager) are
    returned too, beside swarmlet's names.
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
  nodes:
    description:
      - List the nodes (see RV(nodes)).
    type: bool
    default: false
  nodes_filters:
    description:
      - Only the nodes that match, with Docker's C(node ls) filters. A value is a string or
        a list of strings; the values of one filter are alternatives, and a node must match
        every filter given.
      - C(id) (ID prefix), C(name) (hostname prefix), C(role) (V(manager) or V(worker)),
        C(label) (C(key) or C(key=value)), C(availability).
    type: dict
  services:
    description:
      - List the services (see RV(services)).
    type: bool
    default: false
  services_filters:
    description:
      - Only the services that match; C(id) (ID prefix), C(name) (name prefix), C(label)
        (C(key) or C(key=value)), C(mode) (V(replicated) or V(global)).
    type: dict
  tasks:
    description:
      - List the tasks (see RV(tasks)).
    type: bool
    default: false
  tasks_filters:
    description:
      - Only the tasks that match; C(service) (service name, ID or ID prefix), C(node)
        (hostname, ID or ID prefix), C(desired-state) (V(running), V(shutdown),
        V(accepted)...), C(id) (ID prefix), C(name) (task name prefix, such as C(web.1)).
    type: dict
  unlock_key:
    description:
      - Return RV(swarm_unlock_key), for compatibility with community.docker; it is always
        null as the agent has no autolock.
    type: bool
    default: false
  verbose_output:
    description:
      - Return the full objects in RV(nodes), RV(services) and RV(tasks) instead of the
        trimmed records.
    type: bool
    default: false
notes:
  - Filters are applied by the module, with Docker's rules.
seealso:
  - module: swarmlet.swarm.swarm_init
  - module: swarmlet.swarm.swarm_node
author:
  - Swarmlet developers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Is this host a swarm manager?
  swarmlet.swarm.swarm_info:
  ignore_errors: true
  register: result

- name: Inform about the result
  ansible.builtin.debug:
    msg: "Active: {{ result.swarm_active }}, manager: {{ result.swarm_manager }}"

- name: The workers and the running tasks of service web
  swarmlet.swarm.swarm_info:
    nodes: true
    nodes_filters:
      role: worker
    tasks: true
    tasks_filters:
      service: web
      desired-state: running
  register: result

- name: Full records of the services whose names start with web
  swarmlet.swarm.swarm_info:
    services: true
    services_filters:
      name: web
    verbose_output: true
"""

RETURN = r"""
can_talk_to_swarmlet:
  description: Whether the agent answered. Returned even when the module fails.
  returned: both on success and on error
  type: bool
swarm_active:
  description: Whether this node is in a swarm. Returned even when the module fails.
  returned: both on success and on error
  type: bool
swarm_manager:
  description: Whether this node is a manager. Returned even when the module fails.
  returned: both on success and on error
  type: bool
can_talk_to_docker:
  description: RV(can_talk_to_swarmlet) under community.docker's name.
  returned: both on success and on error
  type: bool
docker_swarm_active:
  description: RV(swarm_active) under community.docker's name.
  returned: both on success and on error
  type: bool
docker_swarm_manager:
  description: RV(swarm_manager) under community.docker's name.
  returned: both on success and on error
  type: bool
swarm_facts:
  description: The swarm's inspect, with its C(JoinTokens).
  returned: always
  type: dict
  sample: {"ID": "5kaqwxzjgpfxco7de1s3ex2l9", "Spec": {"Name": "default"},
           "JoinTokens": {"Worker": "SWMTKN-1-...", "Manager": "SWMTKN-1-..."}}
swarm_unlock_key:
  description: Always null (the agent has no autolock).
  returned: When O(unlock_key=true).
  type: str
  sample: null
nodes:
  description:
    - The nodes; each record has C(ID), C(Hostname), C(Status), C(Availability),
      C(ManagerStatus) (C(Leader), the reachability, or null for a worker) and
      C(EngineVersion). The full node inspects with O(verbose_output=true).
  returned: When O(nodes=true)
  type: list
  elements: dict
  sample:
    - {"ID": "1biros2tqujd0onwdlbo4e1cy", "Hostname": "manager1", "Status": "ready",
       "Availability": "active", "ManagerStatus": "Leader",
       "EngineVersion": "20.10.24+dfsg1"}
services:
  description:
    - The services; each record has C(ID), C(Name), C(Mode) (C(Replicated), C(Global),
      C(ReplicatedJob), C(GlobalJob)), C(Replicas) (for a global service, the number of
      tasks it wants), C(Image) and C(Ports). The full service inspects with
      O(verbose_output=true).
  returned: When O(services=true)
  type: list
  elements: dict
  sample:
    - {"ID": "4yrdfjmj4sfz55sx7ygznhthu", "Name": "web", "Mode": "Replicated",
       "Replicas": 2, "Image": "swarmlet/demo:latest",
       "Ports": [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080,
                  "PublishMode": "ingress"}]}
tasks:
  description:
    - The tasks; each record has C(ID), C(Name) (such as C(web.1)), C(ServiceID),
      C(ContainerID), C(Image), C(Node) (hostname), C(DesiredState), C(CurrentState) and
      C(Error). The full task objects with O(verbose_output=true).
  returned: When O(tasks=true)
  type: list
  elements: dict
  sample:
    - {"ID": "4xm227dwst28cl1qvzd6fyrvp", "Name": "web.1",
       "ServiceID": "4yrdfjmj4sfz55sx7ygznhthu", "ContainerID": null,
       "Image": "swarmlet/demo:latest", "Node": "manager1", "DesiredState": "running",
       "CurrentState": "running", "Error": null}
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmlet.swarm.plugins.module_utils._api import SwarmletAPIError
from ansible_collections.swarmlet.swarm.plugins.module_utils._module import (
    NOT_A_MANAGER,
    api_argument_spec,
    connect,
)
from ansible_collections.swarmlet.swarm.plugins.module_utils._swarm_info import (
    NODE_FILTERS,
    SERVICE_FILTERS,
    TASK_FILTERS,
    FilterError,
    node_essentials,
    node_hostname,
    node_matches,
    normalize_filters,
    service_essentials,
    service_matches,
    task_essentials,
    task_matches,
)

NO_LEADER_WAIT = 10  # seconds to wait out a swarm without a leader


def main():
    argument_spec = dict(
        nodes=dict(type="bool", default=False),
        nodes_filters=dict(type="dict"),
        services=dict(type="bool", default=False),
        services_filters=dict(type="dict"),
        tasks=dict(type="bool", default=False),
        tasks_filters=dict(type="dict"),
        unlock_key=dict(type="bool", default=False, no_log=False),
        verbose_output=dict(type="bool", default=False),
    )
    argument_spec.update(api_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    facts = dict(can_talk_to_swarmlet=False, swarm_active=False, swarm_manager=False)

    def with_docker_names():
        """The three facts also under community.docker's docker_swarm_info names."""
        return dict(facts, can_talk_to_docker=facts["can_talk_to_swarmlet"],
                    docker_swarm_active=facts["swarm_active"],
                    docker_swarm_manager=facts["swarm_manager"])

    def fail(msg):
        module.fail_json(msg=msg, **with_docker_names())

    try:
        client = connect(p)
        info = client.local_info()
        if info is None:  # a remote manager, reached with a manager's client certificate
            client.get("/_ping")
    except SwarmletAPIError as exc:
        fail(exc.message)
    facts["can_talk_to_swarmlet"] = True
    if info is None:
        facts.update(swarm_active=True, swarm_manager=True)
    else:
        facts["swarm_active"] = info.get("LocalNodeState") == "active"
        facts["swarm_manager"] = facts["swarm_active"] and bool(info.get("ControlAvailable"))
    if not facts["swarm_manager"]:
        fail(NOT_A_MANAGER)
    try:
        filters = dict(
            nodes=normalize_filters(p["nodes_filters"], NODE_FILTERS, "nodes_filters"),
            services=normalize_filters(p["services_filters"], SERVICE_FILTERS,
                                       "services_filters"),
            tasks=normalize_filters(p["tasks_filters"], TASK_FILTERS, "tasks_filters"))
    except FilterError as exc:
        fail(str(exc))

    def get(path):
        deadline = time.monotonic() + NO_LEADER_WAIT
        while True:
            try:
                return client.get(path)
            except SwarmletAPIError as exc:
                # 503: no leader for a moment (an election, a manager joining Raft)
                if exc.status != 503 or time.monotonic() > deadline:
                    fail(exc.message)
            time.sleep(1)

    result = dict(changed=False, swarm_facts=get("/swarm"), **with_docker_names())
    if p["unlock_key"]:
        result["swarm_unlock_key"] = None
    verbose = p["verbose_output"]
    all_nodes = get("/nodes") if p["nodes"] or p["tasks"] else []
    all_services = get("/services") if p["services"] or p["tasks"] else []
    if p["nodes"]:
        found = [n for n in all_nodes if node_matches(n, filters["nodes"])]
        found.sort(key=lambda n: (node_hostname(n), n.get("ID", "")))
        result["nodes"] = found if verbose else [node_essentials(n) for n in found]
    if p["services"]:
        found = [s for s in all_services if service_matches(s, filters["services"])]
        found.sort(key=lambda s: ((s.get("Spec") or {}).get("Name", ""), s.get("ID", "")))
        result["services"] = found if verbose else [service_essentials(s) for s in found]
    if p["tasks"]:
        names = dict((s["ID"], (s.get("Spec") or {}).get("Name", "")) for s in all_services)
        hosts = dict((n["ID"], node_hostname(n)) for n in all_nodes)
        found = [t for t in get("/tasks") if task_matches(t, filters["tasks"], names, hosts)]
        found.sort(key=lambda t: (t.get("CreatedAt", ""), t.get("ID", "")))
        result["tasks"] = found if verbose else [task_essentials(t, names, hosts)
                                                 for t in found]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
