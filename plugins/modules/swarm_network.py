#!/usr/bin/python
# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: swarm_network
short_description: Create or remove an overlay network of a swarmlet swarm
description:
  - Creates a swarm-scoped overlay network, or removes one.
  - A network's settings cannot be changed once it exists (the agent, like Docker, has no
    network update). When the network exists with other settings, the module fails and
    names them, unless O(force=true); then it removes the network and creates it again,
    which the agent refuses while a service, a task or a container uses it.
  - Runs on a manager (or talks to one through O(swarmlet_host)).
  - The swarmlet counterpart of community.docker's docker_network, for its swarm options,
    with its option names, comparisons and return value.
extends_documentation_fragment:
  - swarmlet.swarm.api
  - swarmlet.swarm.api.attributes
  - swarmlet.swarm.api.actiongroup_swarm
attributes:
  check_mode:
    support: full
    details:
      - A creation is planned by the agent (C(?dry_run=1)), which checks the settings and
        chooses the subnet; a removal is checked by the agent too (a network in use fails).
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  name:
    description:
      - The network's name (a DNS name component of up to 63 characters).
    type: str
    required: true
    aliases: [network_name]
  state:
    description:
      - V(present) creates the network if no network has that name.
      - V(absent) removes it; a network in use by a service, a task or a container cannot
        be removed (the agent's message names the user).
    type: str
    default: present
    choices: [present, absent]
  driver:
    description:
      - The network driver. Swarmlet's managers make V(overlay) networks only; another
        driver is refused with the agent's message.
    type: str
    default: overlay
  driver_options:
    description:
      - Driver options, kept with the network. Compared as a subset with the network's
        options (an option the network has beyond these is no difference).
      - V(encrypted) is refused (swarmlet programs no IPsec between nodes).
    type: dict
    default: {}
  scope:
    description:
      - The network's scope. Swarmlet's networks are all swarm-scoped; the option exists
        for playbooks written for community.docker.
    type: str
    choices: [swarm]
  attachable:
    description:
      - Whether standalone containers (C(docker run --network)) may join the network.
      - Left unset, it is not compared; a new network is then not attachable.
    type: bool
  internal:
    description:
      - V(true) is refused with the agent's message, as swarmlet's overlay networks always
        reach out through their nodes. V(false) is accepted.
    type: bool
  ipam_config:
    description:
      - The network's subnet. Without it, the manager chooses the lowest free /24 of
        10.0.0.0/8 that no host route or resolver overlaps.
      - Swarmlet's networks have one IPv4 subnet; more entries are refused with the agent's
        message.
      - Each given key is compared with the network's, with addresses normalised.
    type: list
    elements: dict
    suboptions:
      subnet:
        description: The subnet in CIDR notation, such as V(10.200.7.0/24).
        type: str
        required: true
      gateway:
        description:
          - The gateway address, inside the subnet. Default the subnet's first address.
        type: str
      iprange:
        description:
          - The range addresses are taken from. Swarmlet's managers allocate from the whole
            subnet, so only a range equal to the subnet is accepted.
        type: str
  labels:
    description:
      - Labels of the network. Compared as a subset (a label the network has beyond these
        is no difference; adding or changing one is).
    type: dict
    default: {}
  force:
    description:
      - With O(state=present), remove a network whose settings differ and create it again
        with these. A network whose settings are the ones asked for is left alone (unlike
        docker_network's C(force), which always recreates).
      - If the new network cannot be created, the old settings are created again and the
        module fails with the agent's message.
    type: bool
    default: false
notes:
  - Unlike docker_network, a difference never silently removes and recreates the network
    (which would fail for a network services use, as community.docker issue 14 reports);
    it fails, naming the settings, unless O(force=true).
  - There are no C(connected)/C(appends) options. Services join networks with
    M(swarmlet.swarm.swarm_service)'s O(swarmlet.swarm.swarm_service#module:networks);
    standalone containers with C(docker run --network) on an attachable network.
  - C(ipam_driver), C(ipam_driver_options), C(enable_ipv6), C(ingress), C(config_only) and
    C(config_from) of docker_network do not exist here; the module rejects them as unknown
    options.
seealso:
  - module: swarmlet.swarm.swarm_network_info
  - module: swarmlet.swarm.swarm_service
author:
  - Swarmlet developers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: An overlay network with a subnet chosen by the manager
  swarmlet.swarm.swarm_network:
    name: web-net

- name: An attachable network with its own subnet and a label
  swarmlet.swarm.swarm_network:
    name: web-back
    attachable: true
    ipam_config:
      - subnet: 10.200.7.0/24
        gateway: 10.200.7.1
    labels:
      com.example.app: demo

- name: Change the subnet of a network no service uses (remove and create it again)
  swarmlet.swarm.swarm_network:
    name: web-back
    ipam_config:
      - subnet: 10.200.8.0/24
    force: true

- name: Remove a network
  swarmlet.swarm.swarm_network:
    name: web-back
    state: absent
"""

RETURN = r"""
network:
  description:
    - The network as C(docker network inspect) shows it (Docker's NetworkResource).
    - Null after a removal, and in check mode for a network that would be created (see
      RV(diff) for the planned settings and subnet).
  returned: success
  type: dict
  sample: {"Name": "web-back", "Id": "3k9fmgk1z7rz6l1xb4j7gxz2v", "Scope": "swarm",
           "Driver": "overlay", "Attachable": true, "Internal": false, "Ingress": false,
           "IPAM": {"Driver": "default", "Options": null,
                    "Config": [{"Subnet": "10.200.7.0/24", "Gateway": "10.200.7.1"}]},
           "Options": {"com.docker.network.driver.overlay.vxlanid_list": "4097"},
           "Labels": {"com.example.app": "demo"}}
actions:
  description: What was done (or would be, in check mode).
  returned: success
  type: list
  elements: str
  sample: ["Removed network web-back", "Created network web-back with driver overlay"]
changes:
  description: The settings that differed, such as V(ipam_config[0].subnet) or V(labels.app).
  returned: success
  type: list
  elements: str
  sample: ["ipam_config[0].subnet"]
diff:
  description:
    - The network's settings (in the module's option names) before and after, in diff
      mode. For a creation, the subnet and gateway are the ones the manager plans to take.
  returned: diff mode
  type: dict
  sample: {"before": {}, "after": {"name": "web-net", "driver": "overlay", "scope": "swarm",
           "attachable": false, "internal": false, "driver_options": {}, "labels": {},
           "ipam_config": [{"subnet": "10.0.3.0/24", "gateway": "10.0.3.1",
                            "iprange": "10.0.3.0/24"}]}}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmlet.swarm.plugins.module_utils._api import SwarmletAPIError
from ansible_collections.swarmlet.swarm.plugins.module_utils._calls import patiently
from ansible_collections.swarmlet.swarm.plugins.module_utils._module import (
    api_argument_spec,
    client_for,
    require_manager,
)
from ansible_collections.swarmlet.swarm.plugins.module_utils._network import (
    INTERNAL_REFUSED,
    NetworkOptionError,
    cannot_change,
    check_ipam_config,
    differences,
    network_resource,
    settings,
    wanted_settings,
    wanted_spec,
)


class NetworkManager:
    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.p = module.params
        self.actions = []
        self.changes = []

    def call(self, method, *args, **query):
        return patiently(method, *args, **query)

    def find(self):
        """The network of that exact name (not an ID or ID prefix), or None."""
        for network in self.call(self.client.get, "/networks"):
            if (network.get("Spec") or {}).get("Name") == self.p["name"]:
                return network
        return None

    def remove(self, network):
        name = self.p["name"]
        if self.module.check_mode:  # the agent's checks (in use?) without the removal
            self.call(self.client.dry_run, "DELETE", f"/networks/{network['ID']}")
        else:
            self.call(self.client.delete, f"/networks/{network['ID']}")
        self.actions.append(f"Removed network {name}")

    def create(self, spec):
        """The created network's NetworkResource; in check mode None and the agent's plan
        of it (its NetworkResource)."""
        if self.module.check_mode:
            plan = self.call(self.client.dry_run, "POST", "/networks/create", spec)
            created, planned = None, network_resource(plan.get("Spec"))
        else:
            network_id = self.call(self.client.post, "/networks/create", spec)["ID"]
            created = network_resource(self.call(self.client.get, f"/networks/{network_id}"))
            planned = created
        self.actions.append(f"Created network {spec['Name']} with driver "
                            f"{spec['DriverConfiguration']['Name']}")
        return created, planned

    def recreate(self, old):
        """Remove ``old`` and create the network asked for; if that fails, ``old`` again."""
        try:
            self.remove(old)
        except SwarmletAPIError as exc:
            self.module.fail_json(msg=f"Cannot remove network {self.p['name']} to create it "
                                      f"again: {exc.message}", changes=self.changes)
        if self.module.check_mode:  # the new one cannot be planned beside the old name
            self.actions.append(f"Created network {self.p['name']} with driver "
                                f"{self.p['driver']}")
            return None
        try:
            return self.create(wanted_spec(self.p))[0]
        except SwarmletAPIError as exc:
            spec = old["Spec"]
            restore = {k: spec[k] for k in ("Name", "Labels", "DriverConfiguration",
                                            "Attachable", "IPAMOptions") if k in spec}
            try:
                self.call(self.client.post, "/networks/create", restore)
                again = "the network was created again with its previous settings"
            except SwarmletAPIError as exc2:
                again = f"creating it again with its previous settings failed too: {exc2.message}"
            self.module.fail_json(msg=f"Cannot create network {self.p['name']}: {exc.message} "
                                      f"({again})", changed=True, actions=self.actions)

    def run(self):
        existing = self.find()
        current = network_resource(existing)
        before = settings(current)
        result = dict(changed=False, network=current, changes=[])
        if self.p["state"] == "absent":
            after = {}
            if existing is not None:
                self.remove(existing)
                result.update(changed=True, network=None)
        elif existing is None:
            created, planned = self.create(wanted_spec(self.p))
            after = wanted_settings(self.p, planned)
            result.update(changed=True, network=created)
        else:
            found = differences(self.p, current)
            names = [name for name, _wanted, _current in found]
            self.changes = names
            if found and not self.p["force"]:
                self.module.fail_json(msg=cannot_change(self.p["name"], names), changes=names)
            after = before
            if found:
                result.update(changed=True, changes=names, network=self.recreate(existing))
                after = settings(result["network"]) if result["network"] else \
                    wanted_settings(self.p)
        result["actions"] = self.actions
        if self.module._diff:
            result["diff"] = {"before": before, "after": after}
        return result


def main():
    argument_spec = dict(
        name=dict(type="str", required=True, aliases=["network_name"]),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        driver=dict(type="str", default="overlay"),
        driver_options=dict(type="dict", default={}),
        scope=dict(type="str", choices=["swarm"]),
        attachable=dict(type="bool"),
        internal=dict(type="bool"),
        ipam_config=dict(type="list", elements="dict", options=dict(
            subnet=dict(type="str", required=True),
            gateway=dict(type="str"),
            iprange=dict(type="str"),
        )),
        labels=dict(type="dict", default={}),
        force=dict(type="bool", default=False),
    )
    argument_spec.update(api_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    try:
        check_ipam_config(p["ipam_config"])
        wanted_spec(p)  # option values of the wrong type
    except NetworkOptionError as exc:
        module.fail_json(msg=str(exc))
    if p["state"] == "present" and p["internal"]:
        module.fail_json(msg=INTERNAL_REFUSED)
    client = client_for(module)
    require_manager(module, client)
    try:
        result = NetworkManager(module, client).run()
    except SwarmletAPIError as exc:
        module.fail_json(msg=exc.message)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
