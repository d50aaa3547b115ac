# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# Ansible's layout: the imports follow DOCUMENTATION and EXAMPLES.

from __future__ import annotations

DOCUMENTATION = r"""
name: swarm
short_description: Nodes of a swarmlet swarm as an Ansible inventory
author:
  - Swarmlet developers (!UNKNOWN)
description:
  - Reads the nodes of a swarm from a manager's API (C(GET /nodes)) and makes one host per node,
    with its address in C(ansible_host), its role, availability, state, labels and leadership as
    host variables, and the groups C(manager), C(worker), C(leader) and C(nonleaders).
  - The inventory hostname is the node's hostname (O(hostname_key=hostname), the default) or
    its node ID (O(hostname_key=id), as in community.docker's C(docker_swarm) plugin).
  - O(compose), O(groups) and O(keyed_groups) are evaluated against the node's attributes as the
    API returns them (C(Spec.Labels), C(Description.Platform.Architecture), ...) and the host
    variables this plugin sets (C(swarmlet_labels), C(swarmlet_role), ...).
  - Uses a YAML configuration file whose name ends with V(swarm.yml) or V(swarm.yaml).
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
notes:
  - The plugin runs on the controller, which is usually not a node of the swarm, so it talks to
    a manager's cluster port over mutual TLS with a client certificate issued by the swarm's CA
    (C(swarmlet swarm ca client-cert --out DIR) on a manager writes C(ca.pem), C(cert.pem) and
    C(key.pem)). On a manager, V(unix:///run/swarmlet/swarmlet.sock) works too (root only).
  - Host names of managers are not checked against their certificates (nodes are addressed by
    IP); trust comes from the swarm's root CA alone.
  - 'Host variables of every node: C(ansible_host), C(swarmlet_node_id), C(swarmlet_hostname),
    C(swarmlet_role), C(swarmlet_availability), C(swarmlet_state), C(swarmlet_addr),
    C(swarmlet_labels), C(swarmlet_leader), C(swarmlet_reachability) (V(null) on workers),
    C(swarmlet_api_uri) (managers only: V(tcp://ADDR:PORT) of its API, ready for the modules''
    O(swarmlet_host)), and C(swarmlet_swarm_node_attributes) (the whole node, with
    O(verbose_output)).'
  - Two nodes can share a hostname (a machine that left the swarm and joined it again, while
    the old node is still listed as down). With O(hostname_key=hostname) the node that is
    ready keeps the hostname and the other is named by its node ID, with a warning.
options:
  plugin:
    description:
      - The name of this plugin. It must be V(swarmlet.swarm.swarm) for this plugin to
        recognize the file as its own.
    type: str
    required: true
    choices: [swarmlet.swarm.swarm]
  swarmlet_host:
    description:
      - The manager to ask, V(tcp://MANAGER:2377) (its cluster port, over mutual TLS with
        O(ca_path), O(client_cert) and O(client_key)), or V(unix:///run/swarmlet/swarmlet.sock)
        when the controller is itself a manager.
      - The aliases are the names of community.docker's C(docker_swarm) plugin.
    type: str
    required: true
    aliases: [host, docker_host, docker_url]
    env:
      - name: SWARMLET_HOST
  ca_path:
    description:
      - The swarm's root CA certificate (PEM) to verify the manager with.
      - Required with a V(tcp://) O(swarmlet_host).
      - The aliases are community.docker's names.
    type: path
    aliases: [ca_cert, tls_ca_cert, cacert_path]
    env:
      - name: SWARMLET_CA_PATH
  client_cert:
    description:
      - A client certificate issued by the swarm's CA
        (C(swarmlet swarm ca client-cert --out DIR) on a manager).
      - The aliases are community.docker's names.
    type: path
    aliases: [tls_client_cert, cert_path]
    env:
      - name: SWARMLET_CLIENT_CERT
  client_key:
    description:
      - The private key of O(client_cert).
      - The aliases are community.docker's names.
    type: path
    aliases: [tls_client_key, key_path]
    env:
      - name: SWARMLET_CLIENT_KEY
  tls:
    description:
      - community.docker's option, accepted so that its configurations move over with few
        edits. A V(tcp://) O(swarmlet_host) is always reached over mutual TLS, verified
        against O(ca_path); V(false) with such a host fails rather than connect another way.
    type: bool
  validate_certs:
    description:
      - community.docker's option, accepted so that its configurations move over with few
        edits. The manager's certificate is always verified against O(ca_path); V(false)
        with a V(tcp://) O(swarmlet_host) fails rather than skip the check.
    type: bool
    aliases: [tls_verify]
  timeout:
    description:
      - Seconds to wait for the manager's answer.
    type: int
    default: 60
  hostname_key:
    description:
      - What names a node in the inventory.
      - V(hostname) is the node's hostname (C(Description.Hostname)), the name its operators
        know it by and the one a static inventory of the same machines uses.
      - V(id) is the node ID, as community.docker's C(docker_swarm) plugin names hosts.
    type: str
    choices: [hostname, id]
    default: hostname
  verbose_output:
    description:
      - Set the host variable C(swarmlet_swarm_node_attributes) to the whole node as the API
        returns it (C(ID), C(Spec), C(Description), C(Status), C(ManagerStatus), ...).
    type: bool
    default: true
  filters:
    description:
      - Which nodes become hosts. A list of conditions, each a dictionary with a single key,
        C(include) or C(exclude), whose value is a Jinja2 conditional evaluated against the
        node's attributes and its host variables (see the notes).
      - The first condition that is true for a node decides; a node that matches none of them
        is included.
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
---
# swarm.yml: every node of the swarm, through a manager's cluster port
plugin: swarmlet.swarm.swarm
swarmlet_host: tcp://198.18.0.2:2377
ca_path: /etc/swarmlet-client/ca.pem
client_cert: /etc/swarmlet-client/cert.pem
client_key: /etc/swarmlet-client/key.pem

---
# prod.swarm.yml: groups per node label (label_type_db, ...), per architecture, and per
# availability; drained nodes left out
plugin: swarmlet.swarm.swarm
swarmlet_host: tcp://manager1.example.com:2377
ca_path: certs/ca.pem
client_cert: certs/cert.pem
client_key: certs/key.pem
keyed_groups:
  - prefix: label
    key: Spec.Labels
  - prefix: arch
    key: Description.Platform.Architecture
  - prefix: availability
    key: swarmlet_availability
groups:
  reachable_managers: swarmlet_role == 'manager' and swarmlet_reachability == 'reachable'
compose:
  ansible_user: "'admin'"
  cpus: Description.Resources.NanoCPUs // 1000000000
filters:
  - exclude: swarmlet_availability == 'drain'

---
# ids.swarm.yml: hosts named by node ID, as community.docker.docker_swarm names them, and a
# smaller host variable set
plugin: swarmlet.swarm.swarm
swarmlet_host: tcp://manager1.example.com:2377
ca_path: certs/ca.pem
client_cert: certs/cert.pem
client_key: certs/key.pem
hostname_key: id
verbose_output: false
"""

import os

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.parsing.utils.addresses import parse_address
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display
from ansible.utils.unsafe_proxy import wrap_var
from ansible_collections.swarmlet.swarm.plugins.module_utils._api import SwarmletAPIError
from ansible_collections.swarmlet.swarm.plugins.module_utils._module import connect

display = Display()

GROUPS = ("manager", "worker", "leader", "nonleaders")
# The options connect() reads: the modules' connection options, community.docker's aliases too.
CONNECTION_OPTIONS = ("swarmlet_host", "ca_path", "client_cert", "client_key", "tls",
                      "validate_certs", "timeout")
UNSPECIFIED_ADDRS = ("", "0.0.0.0", "::")


def _host_part(addr):
    """The host of HOST:PORT (IPv6 in brackets allowed); '' when it cannot be parsed."""
    try:
        host, _port = parse_address(addr, allow_ranges=False)
    except Exception:
        return ""
    return host or ""


def node_address(node):
    """The address Ansible reaches a node at: Status.Addr; for a manager whose Status.Addr is
    unset or 0.0.0.0, the host part of ManagerStatus.Addr (moby#35437)."""
    addr = (node.get("Status") or {}).get("Addr") or ""
    manager_addr = (node.get("ManagerStatus") or {}).get("Addr") or ""
    if addr in UNSPECIFIED_ADDRS and manager_addr:
        host = _host_part(manager_addr)
        if host and host not in UNSPECIFIED_ADDRS:
            return host
    return addr


def node_host_vars(node):
    """The flat host variables of one node (without swarmlet_swarm_node_attributes)."""
    spec = node.get("Spec") or {}
    status = node.get("Status") or {}
    manager = node.get("ManagerStatus")
    role = spec.get("Role") or ("manager" if manager else "worker")
    host_vars = {
        "swarmlet_node_id": node.get("ID"),
        "swarmlet_hostname": (node.get("Description") or {}).get("Hostname"),
        "swarmlet_role": role,
        "swarmlet_availability": spec.get("Availability"),
        "swarmlet_state": status.get("State"),
        "swarmlet_addr": status.get("Addr"),
        "swarmlet_labels": dict(spec.get("Labels") or {}),
        "swarmlet_leader": bool(manager and manager.get("Leader")),
        "swarmlet_reachability": manager.get("Reachability") if manager else None,
    }
    addr = node_address(node)
    if addr:
        host_vars["ansible_host"] = addr
    if manager and manager.get("Addr"):
        host_vars["swarmlet_api_uri"] = "tcp://" + manager["Addr"]
    return host_vars


def inventory_names(nodes, hostname_key="hostname"):
    """{node ID: inventory hostname}. With hostname_key=hostname, when several nodes share a
    hostname the ready one (else the first listed) keeps it and the others are named by ID."""
    names = {}
    if hostname_key == "id":
        for node in nodes:
            names[node["ID"]] = node["ID"]
        return names
    by_hostname = {}
    for node in nodes:
        hostname = (node.get("Description") or {}).get("Hostname") or node["ID"]
        by_hostname.setdefault(hostname, []).append(node)
    for hostname, same in by_hostname.items():
        ready = [n for n in same if (n.get("Status") or {}).get("State") == "ready"]
        keeper = (ready or same)[0]
        for node in same:
            names[node["ID"]] = hostname if node is keeper else node["ID"]
        if len(same) > 1:
            others = ", ".join(n["ID"] for n in same if n is not keeper)
            display.warning(
                f"swarmlet.swarm.swarm: {len(same)} nodes have the hostname {hostname}: node "
                f"{keeper['ID']} is named {hostname}, the others by their node ID ({others})")
    return names


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """One host per swarm node, grouped by role and leadership."""

    NAME = "swarmlet.swarm.swarm"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("swarm.yml", "swarm.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        want_cache = self.get_option("cache")
        cache_key = self.get_cache_key(path) if want_cache else None
        nodes = None
        update_cache = want_cache and not cache  # --flush-cache or meta: refresh_inventory
        if want_cache and cache:
            try:
                nodes = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if nodes is None:
            nodes = self._fetch_nodes()
        if update_cache:
            self._cache[cache_key] = nodes
        self._populate(nodes)

    def _fetch_nodes(self):
        try:
            for option in ("ca_path", "client_cert", "client_key"):
                path = self.get_option(option)
                if path and not os.path.isfile(path):
                    raise SwarmletAPIError(f"{option} {path} is not a file")
            client = connect({name: self.get_option(name) for name in CONNECTION_OPTIONS})
            nodes = client.get("/nodes")
            if not isinstance(nodes, list):
                raise SwarmletAPIError(f"GET /nodes returned {type(nodes).__name__}, not a list")
            return nodes
        except Exception as exc:
            message = exc.message if isinstance(exc, SwarmletAPIError) else to_native(exc)
            raise AnsibleError(
                "Unable to fetch hosts from the swarmlet API, this was the original exception: "
                f"{message}") from exc

    def _populate(self, nodes):
        for group in GROUPS:
            self.inventory.add_group(group)
        filters = self._parse_filters(self.get_option("filters"))
        names = inventory_names(nodes, self.get_option("hostname_key"))
        strict = self.get_option("strict")
        verbose = self.get_option("verbose_output")
        for raw in nodes:
            node = wrap_var(raw)
            host_vars = wrap_var(node_host_vars(raw))
            if verbose:
                host_vars["swarmlet_swarm_node_attributes"] = node
            name = wrap_var(names[raw["ID"]])
            variables = dict(node, **host_vars)
            variables["inventory_hostname"] = name
            if not self._included(filters, variables, name):
                continue
            self.inventory.add_host(name)
            for var, value in host_vars.items():
                self.inventory.set_variable(name, var, value)
            role = host_vars["swarmlet_role"]
            if role in ("manager", "worker"):
                self.inventory.add_child(role, name)
            self.inventory.add_child("leader" if host_vars["swarmlet_leader"] else "nonleaders",
                                     name)
            # the node's attributes and the host variables, as in the filters
            self._set_composite_vars(self.get_option("compose"), variables, name,
                                     strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, name,
                                              strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name,
                                           strict=strict)

    # --- filters: [{include: COND} | {exclude: COND}, ...], the first match decides -------------

    @staticmethod
    def _parse_filters(filters):
        parsed = []
        for index, entry in enumerate(filters or []):
            if not isinstance(entry, dict) or len(entry) != 1 or \
                    next(iter(entry)) not in ("include", "exclude"):
                raise AnsibleParserError(
                    f"filters[{index}] must be a dictionary with one key, include or exclude, "
                    f"whose value is a Jinja2 conditional; got {entry!r}")
            (kind, condition), = entry.items()
            if not isinstance(condition, (bool, str)):
                raise AnsibleParserError(
                    f"filters[{index}].{kind} must be a Jinja2 conditional (a string) or a "
                    "boolean; "
                    f"got {condition!r}")
            parsed.append((kind, condition))
        return parsed

    def _included(self, filters, variables, name):
        for kind, condition in filters:
            try:
                matched = self._evaluate_condition(condition, variables)
            except Exception as exc:
                raise AnsibleParserError(
                    f"Could not evaluate the filter {kind}: {condition!r} for node {name}: "
                    f"{to_native(exc)}") from exc
            if matched:
                return kind == "include"
        return True

    def _evaluate_condition(self, condition, variables):
        if isinstance(condition, bool):  # include: true / exclude: true
            return condition
        self.templar.available_variables = variables
        if hasattr(self.templar, "evaluate_conditional"):  # ansible-core 2.19+
            return bool(self.templar.evaluate_conditional(condition))
        result = self.templar.template("{{ (" + condition + ") | bool }}")
        return boolean(result, strict=False)
