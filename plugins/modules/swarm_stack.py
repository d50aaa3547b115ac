#!/usr/bin/python
# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_stack
short_description: Deploy and remove stacks of compose files on a swarmlet swarm
description:
  - Deploys a stack from compose files, as C(swarmlet stack deploy) and community.docker's
    C(docker_stack) do, with the same option names; or removes it.
  - The compose files are read on the host the module runs on, as Docker's CLI reads them
    (YAML anchors and merge keys, C(${VAR}) interpolation from the module's environment and a
    C(.env) file beside the first file), with the files they name (C(env_file),
    C(secrets.*.file), C(configs.*.file)), and sent to the agent in one request. The agent
    validates the whole stack, plans it and applies the plan.
  - Unlike C(docker_stack), the module asks the agent for the plan first, so check mode and
    diff mode show what the deploy would create, update or remove, and the task is changed only
    when the plan has changes; an unchanged service is not written (it keeps its version and
    its tasks).
  - With O(wait=true) the module waits until every service the deploy created or updated has
    converged, and fails with the tasks' errors when one cannot.
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
    details:
      - The agent plans the deploy (the same request with C(dry_run=1)); nothing is written.
  diff_mode:
    support: full
    details:
      - By kind and name, the objects created (V(absent) before, V(present) after), removed,
        and the fields of each object updated.
  idempotent:
    support: full
options:
  name:
    description:
      - The stack's name; its objects are named C(<name>_<key>) and carry the label
        C(com.docker.stack.namespace=<name>).
    type: str
    required: true
  state:
    description:
      - V(present) deploys the stack (creates what is missing, updates what differs).
      - V(absent) removes every service, secret, config and network of the stack.
    type: str
    default: present
    choices: [present, absent]
  compose:
    description:
      - The compose files, merged in order as Docker merges several C(-c) files. Each is the
        path of a file on the host the module runs on, or the compose data itself as a
        dictionary.
      - Relative paths are relative to the module's working directory, so give absolute ones.
        Paths named inside the files (C(env_file), C(secrets.*.file), ...) are relative to
        the directory of the first file given by path (as Docker's working directory).
      - Variables come from the module's environment (the task's C(environment) keyword sets
        them) and a C(.env) file in that directory; inline data is interpolated too (a C($)
        is written C($$)). Inline data needs no PyYAML on the host, files do.
      - Required with O(state=present).
    type: list
    elements: raw
    default: []
  prune:
    description:
      - Remove the services of the stack that the compose files no longer name.
    type: bool
    default: false
  resolve_image:
    description:
      - Docker's C(--resolve-image). The swarm has no registry to ask, so images are used as
        given whatever the value; it is sent for the agent's plan.
      - Unset is V(always), as Docker's.
    type: str
    choices: [always, changed, never]
  with_registry_auth:
    description:
      - Accepted for C(docker_stack) playbooks and ignored, with a warning; swarmlet nodes use
        the images their Docker Engine has.
    type: bool
    default: false
  absent_retries:
    description:
      - With O(state=absent), how many times to ask again while the agent still finds objects
        of the stack (for example a network still used by a task shutting down); the module
        fails when some are left after the last try.
    type: int
    default: 0
  absent_retries_interval:
    description:
      - Seconds between two tries of O(absent_retries).
    type: int
    default: 1
  wait:
    description:
      - After deploying, wait until every service the deploy created or updated has
        converged (every slot runs a task of the new spec, the update completed); fail with
        the tasks' errors if a task fails, an update pauses or rolls back, or
        O(wait_timeout) passes.
      - With O(state=absent), wait until the tasks of the removed services have stopped.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait for each service with O(wait=true).
    type: int
    default: 120
notes:
  - Keys that swarm mode ignores (C(build), C(depends_on), C(container_name), ...) are
    reported as warnings, as Docker reports them, and do not fail the deploy.
  - An unknown key, a wrong type, a variable without a value or a missing file fails the
    task naming the file, the service and the key, before anything is created.
seealso:
  - module: swarmlet.swarm.swarm_stack_info
    description: The stacks, their services and their tasks.
  - name: community.docker.docker_stack
    description: The Docker Swarm module whose options this one follows.
    link: https://docs.ansible.com/ansible/latest/collections/community/docker/docker_stack_module.html
"""

EXAMPLES = r"""
- name: Deploy a stack from a compose file on the manager
  swarmlet.swarm.swarm_stack:
    name: vote
    compose:
      - /srv/vote/docker-compose.yml
    wait: true

- name: The same file with an override, merged as Docker merges several -c files
  swarmlet.swarm.swarm_stack:
    name: vote
    compose:
      - /srv/vote/docker-compose.yml
      - services:
          vote:
            deploy:
              replicas: 4
    prune: true

- name: What a deploy would change (check mode and diff mode)
  swarmlet.swarm.swarm_stack:
    name: vote
    compose: [/srv/vote/docker-compose.yml]
  check_mode: true
  diff: true
  register: planned

- name: Remove the stack
  swarmlet.swarm.swarm_stack:
    name: vote
    state: absent
    absent_retries: 5
"""

RETURN = r"""
plan:
  description:
    - The agent's plan of the deploy (or, with O(state=absent), of the removal), one step per
      network, secret, config and service of the stack, in the order they are written.
    - C(Action) is V(create), V(update), V(remove) or V(unchanged), and C(Diff) lists the
      fields an update changes (C(Path), C(Old), C(New)).
  returned: always
  type: list
  elements: dict
  sample:
    - {Kind: network, Name: vote_back, Action: unchanged, ID: 4vq1m0ppjwbxp2d3l8jkbzhcy}
    - {Kind: service, Name: vote_vote, Action: update, ID: p5d0xn8m8vjk3bjgd94tdyhyb,
       Diff: [{Path: Mode.Replicated.Replicas, Old: 2, New: 4}]}
stack_spec_diff:
  description:
    - The field changes of each service the deploy updates, by service name.
  returned: always
  type: dict
  sample: {vote_vote: [{Path: Mode.Replicated.Replicas, Old: 2, New: 4}]}
stdout:
  description:
    - What C(docker stack deploy) (C(docker stack rm)) prints for the plan, one line each.
  returned: always
  type: str
  sample: "Creating network vote_back\nCreating service vote_vote"
warnings_from_agent:
  description:
    - The agent's warnings about the files, such as C(Ignoring unsupported options) of C(build)
      (also shown as the task's warnings).
  returned: always
  type: list
  elements: str
  sample: ["Ignoring unsupported options: build"]
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmlet.swarm.plugins.module_utils._api import SwarmletAPIError
from ansible_collections.swarmlet.swarm.plugins.module_utils._compose_files import (
    ComposeFileError,
    load_compose_files,
)
from ansible_collections.swarmlet.swarm.plugins.module_utils._module import (
    api_argument_spec,
    client_for,
    require_manager,
)
from ansible_collections.swarmlet.swarm.plugins.module_utils._service_wait import (
    FAILED,
    ConvergeError,
    wait_for_removal,
    wait_for_service,
)
from ansible_collections.swarmlet.swarm.plugins.module_utils._stack import (
    deploy_lines,
    has_changes,
    in_stack,
    plan_diff,
    services_to_wait_for,
    spec_changes,
    stack_objects,
)


class StackManager:
    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.name = module.params["name"]
        self.result = dict(changed=False, plan=[], stack_spec_diff={}, stdout="",
                           warnings_from_agent=[])

    def fail(self, msg):
        self.module.fail_json(msg=msg, **self.result)

    def call(self, method, path, *args, **query):
        try:
            return getattr(self.client, method)(path, *args, **query)
        except SwarmletAPIError as exc:
            self.fail(exc.message)

    def exit(self, plan):
        self.result.update(plan=plan, stack_spec_diff=spec_changes(plan))
        if self.module._diff:
            self.result["diff"] = plan_diff(plan)
        self.module.exit_json(**self.result)

    # --- present ----------------------------------------------------------------------------

    def present(self):
        p = self.module.params
        if not p["compose"]:
            self.fail("compose parameter must be a list containing at least one element")
        for item in p["compose"]:
            if not isinstance(item, (str, dict)):
                self.fail(f"compose element '{item}' must be a string or a dictionary")
        if p["with_registry_auth"]:
            self.module.warn("with_registry_auth is ignored: swarmlet has no registry, nodes "
                             "use the images their Docker Engine has")
        try:
            body = load_compose_files(p["compose"], environ=os.environ, cwd=os.getcwd())
        except ComposeFileError as exc:
            self.fail(str(exc))
        body.update(Name=self.name, Prune=p["prune"], ResolveImage=p["resolve_image"] or
                    "always")
        planned = self.call("post", "/stacks/deploy", body, dry_run=1)
        self.warn(planned.get("Warnings") or [])
        plan = planned.get("Plan") or []
        if self.module.check_mode or not has_changes(plan):
            self.result.update(changed=has_changes(plan), stdout="\n".join(deploy_lines(plan)))
            self.exit(plan)
        before = self.before_deploy()
        applied = self.call("post", "/stacks/deploy", body)
        plan = applied.get("Plan") or []
        self.result.update(changed=has_changes(plan), stdout="\n".join(deploy_lines(plan)))
        if p["wait"]:
            self.wait_for_services(plan, before)
        self.exit(plan)

    def warn(self, warnings):
        self.result["warnings_from_agent"] = list(warnings)
        for warning in warnings:
            self.module.warn(warning)

    def before_deploy(self):
        """What ``wait`` needs from before the deploy: each stack service's UpdateStatus (an
        earlier update's) and the IDs of tasks that had failed already."""
        if not self.module.params["wait"]:
            return {}, set()
        statuses = dict(((s.get("Spec") or {}).get("Name"), s.get("UpdateStatus"))
                        for s in self.call("get", "/services") if in_stack(s, self.name))
        failed = set(t["ID"] for t in self.call("get", "/tasks")
                     if (t.get("Status") or {}).get("State") in FAILED)
        return statuses, failed

    def wait_for_services(self, plan, before):
        statuses, failed = before
        for ref, name in services_to_wait_for(plan):
            try:
                wait_for_service(self.client, ref, self.module.params["wait_timeout"],
                                 known_failed=failed, stale_status=statuses.get(name))
            except ConvergeError as exc:
                self.fail(str(exc))
            except SwarmletAPIError as exc:
                self.fail(f"Cannot follow service {name}: {exc.message}")

    # --- absent -----------------------------------------------------------------------------

    def objects(self):
        """The stack's objects, as the removal steps ``stack rm`` would take."""
        listings = dict((kind, self.call("get", f"/{kind}s"))
                        for kind in ("service", "secret", "config", "network"))
        return stack_objects(listings, self.name)

    def absent(self):
        p = self.module.params
        plan = self.objects()
        if not plan or self.module.check_mode:
            self.result.update(changed=bool(plan), stdout="\n".join(deploy_lines(plan)))
            self.exit(plan)
        removed, errors = [], []
        for attempt in range(max(0, p["absent_retries"]) + 1):
            try:
                answer = self.client.delete(f"/stacks/{self.name}")
                removed += answer.get("Removed") or []
                errors = answer.get("Errors") or []
            except SwarmletAPIError as exc:
                if exc.status != 404:
                    self.fail(f"Cannot remove stack {self.name}: {exc.message}")
            left = self.objects()
            if not left:
                break
            if attempt < p["absent_retries"]:
                time.sleep(p["absent_retries_interval"])
        steps = [dict(r, Action="remove") for r in removed]
        self.result.update(changed=bool(steps), stdout="\n".join(deploy_lines(steps)))
        if left:
            self.result["plan"] = steps
            self.fail(f"Stack {self.name} is not completely removed: " + ", ".join(
                f"{s['Kind']} {s['Name']}" for s in left) + "".join(f"; {e}" for e in errors))
        if p["wait"]:
            for step in steps:
                if step.get("Kind") == "service" and step.get("ID"):
                    try:
                        wait_for_removal(self.client, step["ID"], step.get("Name", ""),
                                         p["wait_timeout"])
                    except (ConvergeError, SwarmletAPIError) as exc:
                        self.fail(str(exc))
        self.exit(steps)


def argument_spec():
    spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        compose=dict(type="list", elements="raw", default=[]),
        prune=dict(type="bool", default=False),
        resolve_image=dict(type="str", choices=["always", "changed", "never"]),
        with_registry_auth=dict(type="bool", default=False),
        absent_retries=dict(type="int", default=0),
        absent_retries_interval=dict(type="int", default=1),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=120),
    )
    spec.update(api_argument_spec())
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    client = client_for(module)
    require_manager(module, client)
    manager = StackManager(module, client)
    if module.params["state"] == "present":
        manager.present()
    else:
        manager.absent()


if __name__ == "__main__":
    main()
