#!/usr/bin/python
# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: swarm_init
short_description: Create, update, join or leave a swarmlet swarm; remove a down node
description:
  - Initializes a new swarm on this node, or updates the settings of the swarm it manages
    (O(state=present)).
  - Joins this node to a swarm (O(state=join)). A node that is already in the swarm the
    join token belongs to is left as it is; a node in another swarm makes the task fail
    (community.docker's docker_swarm reports such a node as joined).
  - Makes this node leave its swarm (O(state=absent)).
  - Removes a node that is down from the swarm, on a manager (O(state=remove)); a manager
    can be demoted and removed in one go with O(force=true).
  - The swarmlet counterpart of community.docker's docker_swarm, with its option names,
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
    support: partial
    details:
      - O(rotate_worker_token=true), O(rotate_manager_token=true) and O(force=true) with
        O(state=present) change the swarm on every run.
options:
  state:
    description:
      - V(present) initializes a swarm with this node as its first manager, or, on a
        manager, updates the swarm settings given (unset ones are left as they are).
      - V(join) joins the swarm of O(join_token) through O(remote_addrs).
      - V(absent) makes this node leave its swarm (a manager needs O(force=true)).
      - V(remove) removes the node O(node_id), which must be down, from the swarm. Run it
        on a manager.
    type: str
    default: present
    choices: [present, join, absent, remove]
  advertise_addr:
    description:
      - The address other nodes reach this node at, C(<ip>[:port]).
      - Only used when the swarm is initialized or joined; never compared afterwards.
      - Default is the agent's configured address, else the address that routes to the
        manager joined, else this host's only global IPv4 address.
    type: str
  listen_addr:
    description:
      - Where a manager listens for the cluster API, C(<ip>[:port]).
      - Only used when the swarm is initialized or joined; never compared afterwards.
      - Default is the agent's configured listen address (V(0.0.0.0:2377)).
    type: str
  force:
    description:
      - With O(state=present) on a manager, force a new single-manager cluster from this
        node's state (C(swarmlet swarm init --force-new-cluster)); always changes.
      - With O(state=absent), leave even if this node is a manager.
      - With O(state=remove), demote the node first if it is a manager (Docker refuses to
        remove a manager).
    type: bool
    default: false
  node_id:
    description:
      - The node to remove with O(state=remove), by ID, unique ID prefix or hostname.
      - Required with O(state=remove).
    type: str
  down_timeout:
    description:
      - With O(state=remove), how many seconds to wait for the node to be marked down
        before failing. A node that stopped is marked down after three dispatcher heartbeat
        periods (15 seconds by default).
      - V(0) checks once.
    type: int
    default: 25
  join_token:
    description:
      - The worker or manager join token of the swarm to join (C(SWMTKN-1-...)).
      - Required with O(state=join).
      - Its CA digest tells which swarm it belongs to; a node already in that swarm is
        left unchanged, a node in another swarm fails the task.
    type: str
  remote_addrs:
    description:
      - Addresses of managers of the swarm to join, C(<ip>[:port]) (port 2377 by default).
      - Required with O(state=join).
    type: list
    elements: str
  availability:
    description:
      - With O(state=join), the availability the node joins with (C(swarmlet swarm join
        --availability)); unset means V(active).
      - A node already in the swarm keeps its availability if it is a worker (the task
        warns; set it with M(swarmlet.swarm.swarm_node) on a manager); a manager updates
        its own node.
    type: str
    choices: [active, pause, drain]
  name:
    description:
      - The name of the swarm.
    type: str
  labels:
    description:
      - User-defined labels of the swarm (labels of nodes are set with
        M(swarmlet.swarm.swarm_node)).
      - Unset keeps the current labels; V({}) removes them all. The set given replaces the
        current one.
    type: dict
  task_history_retention_limit:
    description:
      - How many ended tasks are kept per slot (C(Orchestration.TaskHistoryRetentionLimit)).
    type: int
  dispatcher_heartbeat_period:
    description:
      - The nodes' heartbeat period in nanoseconds (C(Dispatcher.HeartbeatPeriod)); a node
        silent for three periods is marked down.
      - Given at initialization, it is the period of the new swarm. The agent's managers
        read a changed period when they start.
    type: int
  snapshot_interval:
    description:
      - Raft log entries between snapshots (C(Raft.SnapshotInterval)). Stored in the swarm
        spec for compatibility; the agent's Raft store does not use it.
    type: int
  keep_old_snapshots:
    description:
      - Old Raft snapshots to keep (C(Raft.KeepOldSnapshots)). Stored in the swarm spec for
        compatibility; the agent's Raft store does not use it.
    type: int
  log_entries_for_slow_followers:
    description:
      - Raft log entries kept for slow followers (C(Raft.LogEntriesForSlowFollowers)).
        Stored in the swarm spec for compatibility; the agent's Raft store does not use it.
    type: int
  heartbeat_tick:
    description:
      - Raft heartbeat ticks (C(Raft.HeartbeatTick)). Stored in the swarm spec for
        compatibility; the agent's Raft store does not use it.
    type: int
  election_tick:
    description:
      - Raft election ticks, more than O(heartbeat_tick) (C(Raft.ElectionTick)). Stored in
        the swarm spec for compatibility; the agent's Raft store does not use it.
    type: int
  node_cert_expiry:
    description:
      - Validity of node certificates in nanoseconds (C(CAConfig.NodeCertExpiry)).
    type: int
  autolock_managers:
    description:
      - Lock the managers (C(swarmlet swarm init --autolock), C(swarm update
        --autolock)). Each manager keeps its keys sealed with the swarm's unlock key,
        which it does not store, and a manager that starts again waits locked until
        C(swarmlet swarm unlock) gives it the key.
      - The new unlock key is returned in RV(swarm_facts.UnlockKey) when the swarm was just
        created with it or autolock was just turned on. Keep it in a vault.
      - Unset leaves the setting as it is; V(false) turns autolock off.
    type: bool
  default_addr_pool:
    description:
      - Address pools (CIDRs) the subnets of new overlay networks are carved from, the first
        one first (C(swarmlet swarm init --default-addr-pool)). Used only when the swarm is
        created, as community.docker's; default V(10.0.0.0/8).
    type: list
    elements: str
  subnet_size:
    description:
      - Prefix length of the subnets carved from O(default_addr_pool)
        (C(--default-addr-pool-mask-length)); default V(24), at most V(29). Used only when
        the swarm is created.
    type: int
  data_path_port:
    description:
      - UDP port of the overlays' VXLAN traffic (C(--data-path-port)), 1024 to 49151;
        default V(4789). Used only when the swarm is created; every node's VXLAN devices use
        it.
    type: int
  signing_ca_cert:
    description:
      - PEM contents of a root CA certificate for the swarm, with O(signing_ca_key). Given
        when the swarm is created, it signs every node certificate and the join tokens pin
        its digest. The key must be ECDSA.
      - On an existing swarm the same certificate is no change; another one fails (root CA
        rotation is not supported).
    type: str
  signing_ca_key:
    description:
      - PEM contents of the key of O(signing_ca_cert). Never stored in the swarm's spec nor
        returned.
    type: str
  ca_force_rotate:
    description:
      - Docker's counter that forces a root CA rotation. Root CA rotation is not supported,
        so the value the swarm has (V(0) unless set at init) is no change and another fails.
    type: int
  rotate_worker_token:
    description:
      - Replace the worker join token with a new one (nodes already joined stay).
      - Changes the swarm on every run while set.
    type: bool
    default: false
  rotate_manager_token:
    description:
      - Replace the manager join token with a new one (nodes already joined stay).
      - Changes the swarm on every run while set.
    type: bool
    default: false
notes:
  - community.docker's C(data_path_addr), C(data_path_port), C(default_addr_pool),
    C(subnet_size), C(signing_ca_cert), C(signing_ca_key) and C(ca_force_rotate) are not
    supported by the agent.
  - O(state=join) and O(state=absent) act on the node the module runs on and need the
    local agent (the default O(swarmlet_host)).
seealso:
  - module: swarmlet.swarm.swarm_node
  - module: swarmlet.swarm.swarm_info
author:
  - Swarmlet developers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Initialize a swarm on the first manager
  swarmlet.swarm.swarm_init:
    state: present
    advertise_addr: 192.168.1.10
  register: swarm

- name: Join the workers
  swarmlet.swarm.swarm_init:
    state: join
    join_token: "{{ hostvars[groups['managers'][0]].swarm.swarm_facts.JoinTokens.Worker }}"
    remote_addrs: ["{{ hostvars[groups['managers'][0]].ansible_host }}:2377"]

- name: Keep fewer ended tasks and label the swarm
  swarmlet.swarm.swarm_init:
    state: present
    task_history_retention_limit: 3
    labels:
      env: production

- name: Rotate the worker join token
  swarmlet.swarm.swarm_init:
    state: present
    rotate_worker_token: true

- name: Leave the swarm
  swarmlet.swarm.swarm_init:
    state: absent

- name: Remove a node that is down (demoting it first if it is a manager)
  swarmlet.swarm.swarm_init:
    state: remove
    node_id: mnrl2gixgrmxqxlr5vimsc4oq
    force: true
"""

RETURN = r"""
swarm_facts:
  description:
    - The swarm as its inspect shows it after the change (in check mode, as it is), with
      its C(ID), C(Spec), C(JoinTokens) and C(TLSInfo).
    - Empty when this node is not a manager of a swarm afterwards (a worker, or a node that
      left).
  returned: success
  type: dict
  contains:
    JoinTokens:
      description:
        - The join tokens, C(Worker) and C(Manager).
        - Both are V(VALUE_SPECIFIED_IN_NO_LOG_PARAMETER) when O(join_token) was given.
      returned: when this node is a manager
      type: dict
      sample: {"Worker": "SWMTKN-1-...", "Manager": "SWMTKN-1-..."}
    UnlockKey:
      description:
        - The swarm's unlock key (C(SWMKEY-1-...)) when O(autolock_managers=true) and the
          swarm was just created or autolock was just turned on; V(null) otherwise, as
          community.docker's docker_swarm returns it.
      returned: when this node is a manager
      type: str
      sample: null
  sample: {"ID": "5kaqwxzjgpfxco7de1s3ex2l9", "Spec": {"Name": "default"},
           "JoinTokens": {"Worker": "SWMTKN-1-...", "Manager": "SWMTKN-1-..."}}
node_id:
  description: The ID of this node in its swarm (after initializing or joining).
  returned: when O(state) is V(present) or V(join) and this node is in a swarm
  type: str
  sample: 1biros2tqujd0onwdlbo4e1cy
actions:
  description: What was done, in community.docker's words.
  returned: success
  type: list
  elements: str
  sample: ["New Swarm cluster created: 5kaqwxzjgpfxco7de1s3ex2l9"]
changes:
  description: The names of the settings that differ (with O(state=present) on a manager).
  returned: success
  type: list
  elements: str
  sample: ["task_history_retention_limit", "rotate_worker_token"]
diff:
  description: The settings before and after, in diff mode.
  returned: diff mode
  type: dict
  sample: {"before": {"task_history_retention_limit": 5},
           "after": {"task_history_retention_limit": 3}}
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmlet.swarm.plugins.module_utils._api import SwarmletAPIError
from ansible_collections.swarmlet.swarm.plugins.module_utils._module import (
    Differences,
    api_argument_spec,
    client_for,
)
from ansible_collections.swarmlet.swarm.plugins.module_utils._node import is_manager
from ansible_collections.swarmlet.swarm.plugins.module_utils._swarm import (
    check_spec_params,
    data_dir_from_config,
    init_only_spec,
    init_request_fields,
    parse_join_token,
    requested_spec_options,
    same_ca,
    signing_ca,
    spec_update,
    swarm_facts,
    token_matches_ca,
)

AGENT_CONFIG = "/etc/swarmlet/swarmlet.yml"
CA_FILE = "certificates/swarm-root-ca.crt"
NOT_LOCAL = "state={0} acts on the node the module runs on: use the local agent (swarmlet_host)"
POLL = 1.0


class SwarmInit:
    """The four states of swarm_init over one agent; each method records changes, actions
    and differences, then __call__ returns them."""

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.check_mode = module.check_mode
        self.differences = Differences()
        self.results = dict(changed=False, actions=[], changes=[], swarm_facts={})
        self.wanted = {}
        self.signing_ca = None
        self.info = self.call(client.local_info)

    def __call__(self):
        getattr(self, "state_" + self.params["state"])()
        self.results["changes"] = self.differences.names
        if self.module._diff:
            self.results["diff"] = self.differences.diff()
        self.module.exit_json(**self.results)

    # --- helpers -------------------------------------------------------------------------

    def fail(self, msg, **extra):
        self.module.fail_json(msg=msg, **extra)

    def call(self, func, *args, prefix="", **kwargs):
        try:
            return func(*args, **kwargs)
        except SwarmletAPIError as exc:
            self.fail(prefix + exc.message)

    def changed(self, action):
        self.results["changed"] = True
        self.results["actions"].append(action)

    def inspect_swarm(self, timeout=15):
        """GET /swarm, waiting out the moment a new manager has no leader yet (503)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.client.get("/swarm")
            except SwarmletAPIError as exc:
                if exc.status != 503 or time.monotonic() > deadline:
                    self.fail(exc.message)
            time.sleep(POLL)

    def set_facts(self, inspect):
        self.results["swarm_facts"] = swarm_facts(
            inspect, censor=bool(self.params.get("join_token")))

    def add_unlock_key(self, created):
        """community.docker's rule: the unlock key, when autolock was asked for and the swarm
        is new or autolock was just turned on."""
        if not self.params.get("autolock_managers") or self.check_mode:
            return
        if created or "autolock_managers" in self.differences.names:
            answer = self.call(self.client.get, "/swarm/unlockkey")
            self.results["swarm_facts"]["UnlockKey"] = answer.get("UnlockKey") or None

    def local(self):
        if self.info is None:
            self.fail(NOT_LOCAL.format(self.params["state"]))
        return self.info

    def refresh_info(self):
        self.info = self.call(self.client.local_info)
        return self.info

    # --- state=present ---------------------------------------------------------------------

    def state_present(self):
        error = check_spec_params(self.params)
        if error:
            self.fail(error)
        try:
            self.wanted = requested_spec_options(self.params)
            self.signing_ca = signing_ca(self.params)
        except ValueError as exc:
            self.fail(str(exc))
        info = self.info
        if info is None:  # a remote manager, through its cluster port
            self.update_swarm()
            return
        if info.get("LocalNodeState") != "active":
            self.init_swarm(force_new_cluster=False)
        elif not info.get("ControlAvailable"):
            self.fail(f"This node is a worker of swarm {info.get('ClusterID')}: state=present "
                      "initializes a swarm, or updates one from a manager. Run it on a "
                      "manager, or make this node leave its swarm first (state=absent).")
        elif self.params["force"]:
            self.init_swarm(force_new_cluster=True)
        else:
            self.update_swarm()
        if self.info and self.info.get("NodeID"):
            self.results["node_id"] = self.info["NodeID"]

    def init_swarm(self, force_new_cluster):
        if force_new_cluster:
            self.differences.add("force_new_cluster", True, False)
        else:
            self.differences.add("state", "present", "absent")
        if self.check_mode:
            self.changed("New Swarm cluster created")
            return
        body = {"AdvertiseAddr": self.params["advertise_addr"],
                "ListenAddr": self.params["listen_addr"],
                "ForceNewCluster": force_new_cluster}
        spec = init_only_spec(self.wanted)
        if not force_new_cluster:
            body.update(init_request_fields(self.params))
            if self.signing_ca:
                spec = dict(spec or {}, CAConfig=dict((spec or {}).get("CAConfig") or {},
                                                      **self.signing_ca))
        if spec and not force_new_cluster:
            body["Spec"] = spec
        self.call(self.client.post, "/swarm/init", body,
                  prefix="Can not create a new Swarm Cluster: ")
        if not self.refresh_info() or not self.info.get("ControlAvailable"):
            self.fail("Swarm not created or other error!")
        inspect = self.inspect_swarm()
        new_spec, differences = spec_update(inspect.get("Spec"), self.wanted)
        if differences:
            self.call(self.client.post, "/swarm/update", new_spec,
                      version=inspect["Version"]["Index"],
                      prefix="Swarm created, but its settings could not be set: ")
            inspect = self.inspect_swarm()
        self.set_facts(inspect)
        self.add_unlock_key(created=True)
        self.changed(f"New Swarm cluster created: {inspect.get('ID')}")

    def update_swarm(self):
        inspect = self.inspect_swarm()
        new_spec, differences = spec_update(inspect.get("Spec"), self.wanted)
        for name, wanted, current in differences:
            self.differences.add(name, wanted, current)
        trust_root = (inspect.get("TLSInfo") or {}).get("TrustRoot")
        if self.signing_ca and not same_ca(self.signing_ca["SigningCACert"], trust_root):
            # another root CA: the agent refuses the rotation with its message
            self.differences.add("signing_ca_cert", "(another certificate)", "(the swarm's)")
            new_spec = dict(new_spec, CAConfig=dict(new_spec.get("CAConfig") or {},
                                                    **self.signing_ca))
        rotate = {}
        for option, query in (("rotate_worker_token", "rotateWorkerToken"),
                              ("rotate_manager_token", "rotateManagerToken")):
            if self.params[option]:
                self.differences.add(option, True, False)
                rotate[query] = "true"
        if not self.differences:
            self.set_facts(inspect)
            self.results["actions"].append("No modification")
            return
        if self.check_mode:  # the agent's plan: its rules apply (a refusal fails here too)
            self.call(self.client.dry_run, "POST", "/swarm/update", new_spec,
                      version=inspect["Version"]["Index"], **rotate,
                      prefix="Can not update a Swarm Cluster: ")
        else:
            for attempt in range(3):
                try:
                    self.client.post("/swarm/update", new_spec,
                                     version=inspect["Version"]["Index"], **rotate)
                    break
                except SwarmletAPIError as exc:
                    if exc.status != 409 or attempt == 2:
                        self.fail(f"Can not update a Swarm Cluster: {exc.message}")
                inspect = self.inspect_swarm()  # written meanwhile: apply to the new version
                new_spec = spec_update(inspect.get("Spec"), self.wanted)[0]
            inspect = self.inspect_swarm()
        self.set_facts(inspect)
        self.add_unlock_key(created=False)
        self.changed("Swarm cluster updated")

    # --- state=join --------------------------------------------------------------------------

    def state_join(self):
        try:
            parse_join_token(self.params["join_token"])
        except ValueError as exc:
            self.fail(str(exc))
        info = self.local()
        joined = False
        if info.get("LocalNodeState") == "active":
            self.check_same_swarm(info)
            self.results["actions"].append("This node is already part of a swarm.")
        else:
            self.differences.add("joined", True, False)
            if not self.check_mode:
                self.call(self.client.post, "/swarm/join", {
                    "JoinToken": self.params["join_token"],
                    "RemoteAddrs": self.params["remote_addrs"],
                    "AdvertiseAddr": self.params["advertise_addr"],
                    "ListenAddr": self.params["listen_addr"],
                    "Availability": self.params["availability"]},
                    prefix="Can not join the Swarm Cluster: ")
                info = self.refresh_info()
            self.changed("New node is added to swarm cluster")
            joined = not self.check_mode  # the node joined with the availability asked for
        if info.get("NodeID"):
            self.results["node_id"] = info["NodeID"]
        if self.params["availability"] and not joined:
            self.join_availability(info)
        if info.get("ControlAvailable"):
            self.set_facts(self.inspect_swarm())

    def local_ca(self, info):
        """This node's root CA certificate (PEM): the swarm's trust root on a manager, the
        certificate the agent keeps in its data directory on a worker."""
        if info.get("ControlAvailable"):
            return self.inspect_swarm().get("TLSInfo", {}).get("TrustRoot")
        try:
            with open(AGENT_CONFIG) as config:
                data_dir = data_dir_from_config(config.read())
        except OSError:
            data_dir = data_dir_from_config("")
        path = data_dir.rstrip("/") + "/" + CA_FILE
        try:
            with open(path, "rb") as ca_file:
                return ca_file.read()
        except OSError as exc:
            self.module.warn(f"Could not check that this node's swarm is the one the join "
                             f"token belongs to: cannot read {path} ({exc.strerror}).")
            return None

    def check_same_swarm(self, info):
        ca_pem = self.local_ca(info)
        if ca_pem and not token_matches_ca(self.params["join_token"], ca_pem):
            self.fail(f"This node is already part of another swarm (cluster "
                      f"{info.get('ClusterID')}): the join token belongs to a different "
                      "swarm (its CA digest does not match this node's root CA). Make the "
                      "node leave its swarm first (state=absent), or check the token.")

    def join_availability(self, info):
        wanted = self.params["availability"]
        if not info.get("NodeID"):  # check mode: not joined yet
            if wanted != "active":
                self.differences.add("availability", wanted, "active")
            return
        if not info.get("ControlAvailable"):
            self.module.warn(f"availability={wanted} was not applied: this node is a worker, "
                             "and only a manager can update nodes. Set it with "
                             "swarmlet.swarm.swarm_node on a manager.")
            return
        for attempt in range(10):
            node = self.node_or_none(info["NodeID"], wait=True)
            current = (node or {}).get("Spec", {}).get("Availability")
            if node is None or current == wanted:
                return
            if attempt == 0:
                self.differences.add("availability", wanted, current)
            if self.check_mode:
                self.changed(f"Node availability set to {wanted}")
                return
            try:
                self.client.post(f"/nodes/{node['ID']}/update",
                                 dict(node["Spec"], Availability=wanted),
                                 version=node["Version"]["Index"])
                self.changed(f"Node availability set to {wanted}")
                return
            except SwarmletAPIError as exc:
                if exc.status != 409:
                    self.fail(f"Joined, but could not set availability: {exc.message}")
        self.fail("Joined, but could not set availability: the node kept changing")

    def node_or_none(self, ref, wait=False):
        deadline = time.monotonic() + (15 if wait else 0)
        while True:
            try:
                return self.client.get_or_none(f"/nodes/{ref}")
            except SwarmletAPIError as exc:
                if exc.status == 409:
                    self.fail(f"{exc.message}: give the node ID")
                if exc.status != 503 or time.monotonic() > deadline:
                    self.fail(exc.message)
            time.sleep(POLL)

    # --- state=absent ------------------------------------------------------------------------

    def state_absent(self):
        info = self.local()
        if info.get("LocalNodeState") != "active":
            self.results["actions"].append("This node is not part of a swarm.")
            return
        self.differences.add("joined", False, True)
        if not self.check_mode:
            query = {"force": "true"} if self.params["force"] else {}
            self.call(self.client.post, "/swarm/leave", None,
                      prefix="This node can not leave the Swarm Cluster: ", **query)
        self.changed("Node has left the swarm cluster")

    # --- state=remove ------------------------------------------------------------------------

    def state_remove(self):
        info = self.info
        if info is not None and not (info.get("LocalNodeState") == "active"
                                     and info.get("ControlAvailable")):
            self.fail("This node is not a manager. state=remove removes a node through a "
                      "manager of its swarm: run it on one.")
        ref = self.params["node_id"]
        node = self.node_or_none(ref)
        if node is not None and is_manager(node) and not self.params["force"]:
            self.fail(f"Can not remove node {ref}: it is a manager. Demote it first "
                      "(swarmlet.swarm.swarm_node with role=worker), or set force=true "
                      "to demote and remove it.")
        node = self.wait_down(ref) if node is not None else None
        if node is None:
            self.results["actions"].append(f"Node {ref} is not part of the swarm.")
            return
        if is_manager(node):
            self.demote(node)
        self.differences.add("joined", False, True)
        if not self.check_mode:
            self.call(self.client.delete, f"/nodes/{node['ID']}", force="true",
                      prefix="Can not remove the node from the Swarm Cluster: ")
        self.changed("Node is removed from swarm cluster.")

    def wait_down(self, ref):
        """The node once it is down; None if there is no such node. Fails after
        down_timeout seconds."""
        deadline = time.monotonic() + max(self.params["down_timeout"], 0)
        while True:
            node = self.node_or_none(ref)
            state = (node or {}).get("Status", {}).get("State")
            if node is None or state == "down":
                return node
            if time.monotonic() >= deadline:
                self.fail(f"Can not remove the node. The status of node {ref} is {state} "
                          f"and not down (waited {self.params['down_timeout']} s).")
            time.sleep(POLL)

    def demote(self, node):
        self.differences.add("role", "worker", node["Spec"].get("Role"))
        self.results["actions"].append("Node is demoted to worker.")
        if self.check_mode:
            return
        if node["Spec"].get("Role") == "manager":
            for attempt in range(3):
                try:
                    self.client.post(f"/nodes/{node['ID']}/update",
                                     dict(node["Spec"], Role="worker"),
                                     version=node["Version"]["Index"])
                    break
                except SwarmletAPIError as exc:
                    if exc.status != 409 or attempt == 2:
                        self.fail(f"Can not demote node {node['ID']} before removing it: "
                                  f"{exc.message}")
                node = self.node_or_none(node["ID"]) or node
        deadline = time.monotonic() + 30
        while node and node.get("ManagerStatus"):  # the leader takes it out of Raft
            if time.monotonic() > deadline:
                self.fail(f"Node {node['ID']} was demoted but is still a Raft member after "
                          "30 s; try again later.")
            time.sleep(POLL)
            node = self.node_or_none(node["ID"])


def main():
    argument_spec = dict(
        state=dict(type="str", default="present",
                   choices=["present", "join", "absent", "remove"]),
        advertise_addr=dict(type="str"),
        listen_addr=dict(type="str"),
        force=dict(type="bool", default=False),
        node_id=dict(type="str"),
        down_timeout=dict(type="int", default=25),
        join_token=dict(type="str", no_log=True),
        remote_addrs=dict(type="list", elements="str"),
        availability=dict(type="str", choices=["active", "pause", "drain"]),
        name=dict(type="str"),
        labels=dict(type="dict"),
        task_history_retention_limit=dict(type="int"),
        dispatcher_heartbeat_period=dict(type="int"),
        snapshot_interval=dict(type="int"),
        keep_old_snapshots=dict(type="int"),
        log_entries_for_slow_followers=dict(type="int"),
        heartbeat_tick=dict(type="int"),
        election_tick=dict(type="int"),
        node_cert_expiry=dict(type="int"),
        rotate_worker_token=dict(type="bool", default=False, no_log=False),
        rotate_manager_token=dict(type="bool", default=False, no_log=False),
        autolock_managers=dict(type="bool"),
        default_addr_pool=dict(type="list", elements="str"),
        subnet_size=dict(type="int"),
        data_path_port=dict(type="int"),
        signing_ca_cert=dict(type="str"),
        signing_ca_key=dict(type="str", no_log=True),
        ca_force_rotate=dict(type="int"),
    )
    argument_spec.update(api_argument_spec())
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[
            ("state", "join", ["remote_addrs", "join_token"]),
            ("state", "remove", ["node_id"]),
        ],
        supports_check_mode=True,
    )
    SwarmInit(module, client_for(module))()


if __name__ == "__main__":
    main()
