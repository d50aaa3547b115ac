"""The swarmlet.swarm.swarm inventory plugin on canned node lists: host names, host variables,
groups, constructed options, filters; and `ansible-inventory` end to end against a fake
manager on a unix socket."""

from __future__ import annotations

import copy
import http.server
import json
import os
import socketserver
import subprocess
import sys
import threading
from pathlib import Path
from unittest import mock

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "collections"))

from ansible.errors import AnsibleError, AnsibleParserError  # noqa: E402
from ansible.inventory.data import InventoryData  # noqa: E402
from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.template import Templar, trust_as_template  # noqa: E402
from ansible_collections.swarmlet.swarm.plugins.inventory import swarm  # noqa: E402
from ansible_collections.swarmlet.swarm.plugins.module_utils._api import (  # noqa: E402
    SwarmletAPIError,
    SwarmletClient,
)


def make_node(node_id, hostname, role="worker", addr="198.18.0.3", leader=False,
              labels=None, availability="active", state="ready", manager_addr=None):
    node = {
        "ID": node_id,
        "Version": {"Index": 3},
        "Spec": {"Labels": labels or {}, "Role": role, "Availability": availability},
        "Description": {"Hostname": hostname,
                        "Platform": {"Architecture": "x86_64", "OS": "linux"},
                        "Resources": {"NanoCPUs": 2000000000, "MemoryBytes": 1 << 30}},
        "Status": {"State": state, "Addr": addr},
    }
    if role == "manager":
        node["ManagerStatus"] = {"Addr": manager_addr or f"{addr}:2377",
                                 "Reachability": "reachable"}
        if leader:
            node["ManagerStatus"]["Leader"] = True
    return node


NODES = [
    make_node("m1id", "m1", "manager", "198.18.0.2", leader=True),
    make_node("m2id", "m2", "manager", "0.0.0.0", manager_addr="198.18.0.5:2377"),
    make_node("w1id", "w1", addr="198.18.0.3", labels={"type": "db", "zone": "a"}),
    make_node("w2id", "w2", addr="198.18.0.4", availability="drain"),
]

DEFAULTS = {
    "plugin": "swarmlet.swarm.swarm",
    "swarmlet_host": "tcp://198.18.0.2:2377",
    "ca_path": None, "client_cert": None, "client_key": None, "tls": None,
    "validate_certs": None, "timeout": 60,
    "hostname_key": "hostname", "verbose_output": True, "filters": [],
    "compose": {}, "groups": {}, "keyed_groups": [], "strict": False,
    "leading_separator": True, "use_extra_vars": False, "cache": False,
}


def _trusted(value):
    """Options read from a config file are trusted templates (ansible-core 2.19)."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: _trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    return value


def run_plugin(nodes=NODES, **options):
    """_populate() a fresh InventoryData with the given options; return it."""
    plugin = swarm.InventoryModule()
    opts = dict(DEFAULTS, **{k: _trusted(v) for k, v in options.items()})
    plugin.get_option = opts.__getitem__
    plugin.inventory = InventoryData()
    plugin.templar = Templar(loader=DataLoader())
    plugin._populate(copy.deepcopy(nodes))
    return plugin.inventory


def group_hosts(inventory, group):
    return sorted(h.name for h in inventory.groups[group].get_hosts())


def host_vars(inventory, name):
    return inventory.get_host(name).get_vars()


# --- pure helpers -------------------------------------------------------------------------------

def test_node_address_prefers_status_addr():
    assert swarm.node_address(NODES[0]) == "198.18.0.2"
    assert swarm.node_address(NODES[2]) == "198.18.0.3"


def test_node_address_of_a_manager_with_0000_is_its_manager_addr():
    assert swarm.node_address(NODES[1]) == "198.18.0.5"
    ipv6 = make_node("x", "x", "manager", "0.0.0.0", manager_addr="[2001:db8::1]:2377")
    assert swarm.node_address(ipv6) == "2001:db8::1"


def test_node_address_keeps_0000_when_nothing_better():
    node = make_node("x", "x", "manager", "0.0.0.0", manager_addr="0.0.0.0:2377")
    assert swarm.node_address(node) == "0.0.0.0"


def test_node_host_vars_of_the_leader():
    assert swarm.node_host_vars(NODES[0]) == {
        "ansible_host": "198.18.0.2",
        "swarmlet_node_id": "m1id",
        "swarmlet_hostname": "m1",
        "swarmlet_role": "manager",
        "swarmlet_availability": "active",
        "swarmlet_state": "ready",
        "swarmlet_addr": "198.18.0.2",
        "swarmlet_labels": {},
        "swarmlet_leader": True,
        "swarmlet_reachability": "reachable",
        "swarmlet_api_uri": "tcp://198.18.0.2:2377",
    }


def test_node_host_vars_of_a_worker():
    got = swarm.node_host_vars(NODES[2])
    assert got["swarmlet_role"] == "worker"
    assert got["swarmlet_labels"] == {"type": "db", "zone": "a"}
    assert got["swarmlet_leader"] is False
    assert got["swarmlet_reachability"] is None
    assert "swarmlet_api_uri" not in got


def test_inventory_names_by_hostname_and_by_id():
    assert swarm.inventory_names(NODES) == {"m1id": "m1", "m2id": "m2", "w1id": "w1",
                                            "w2id": "w2"}
    assert swarm.inventory_names(NODES, "id") == {n["ID"]: n["ID"] for n in NODES}


def test_inventory_names_when_a_hostname_is_shared_the_ready_node_keeps_it():
    old = make_node("oldid", "w1", state="down")
    new = make_node("newid", "w1")
    with mock.patch.object(swarm.display, "warning") as warning:
        assert swarm.inventory_names([old, new]) == {"oldid": "oldid", "newid": "w1"}
    assert "2 nodes have the hostname w1" in warning.call_args[0][0]


# --- hosts and groups ---------------------------------------------------------------------------

def test_one_host_per_node_named_by_hostname():
    inv = run_plugin()
    assert sorted(inv.hosts) == ["m1", "m2", "w1", "w2"]
    assert group_hosts(inv, "manager") == ["m1", "m2"]
    assert group_hosts(inv, "worker") == ["w1", "w2"]
    assert group_hosts(inv, "leader") == ["m1"]
    assert group_hosts(inv, "nonleaders") == ["m2", "w1", "w2"]


def test_hostname_key_id_names_hosts_by_node_id():
    inv = run_plugin(hostname_key="id")
    assert sorted(inv.hosts) == ["m1id", "m2id", "w1id", "w2id"]
    assert group_hosts(inv, "leader") == ["m1id"]
    assert host_vars(inv, "w1id")["swarmlet_hostname"] == "w1"


def test_host_vars_and_verbose_output():
    inv = run_plugin()
    m2 = host_vars(inv, "m2")
    assert m2["ansible_host"] == "198.18.0.5"
    assert m2["swarmlet_leader"] is False
    assert m2["swarmlet_swarm_node_attributes"]["ID"] == "m2id"
    w1 = host_vars(inv, "w1")
    assert w1["ansible_host"] == "198.18.0.3"
    assert w1["swarmlet_labels"] == {"type": "db", "zone": "a"}
    assert w1["swarmlet_swarm_node_attributes"]["Spec"]["Labels"] == {"type": "db", "zone": "a"}


def test_verbose_output_false_leaves_out_the_node_attributes():
    inv = run_plugin(verbose_output=False)
    assert "swarmlet_swarm_node_attributes" not in host_vars(inv, "m1")
    assert host_vars(inv, "m1")["swarmlet_role"] == "manager"


def test_empty_swarm_still_has_the_groups():
    inv = run_plugin(nodes=[])
    assert not inv.hosts
    assert {"manager", "worker", "leader", "nonleaders"} <= set(inv.groups)


# --- constructed --------------------------------------------------------------------------------

def test_keyed_groups_per_label_and_architecture():
    inv = run_plugin(keyed_groups=[{"prefix": "label", "key": "Spec.Labels"},
                                   {"prefix": "arch", "key": "Description.Platform.Architecture"},
                                   {"prefix": "availability", "key": "swarmlet_availability"}])
    assert group_hosts(inv, "label_type_db") == ["w1"]
    assert group_hosts(inv, "label_zone_a") == ["w1"]
    assert group_hosts(inv, "arch_x86_64") == ["m1", "m2", "w1", "w2"]
    assert group_hosts(inv, "availability_drain") == ["w2"]


def test_groups_and_compose_see_node_attributes_and_host_vars():
    inv = run_plugin(
        groups={"databases": "Spec.Labels.type | default('') == 'db'",
                "reachable_managers": "swarmlet_reachability == 'reachable'"},
        compose={"cpus": "Description.Resources.NanoCPUs // 1000000000",
                 "node_role": "swarmlet_role"})
    assert group_hosts(inv, "databases") == ["w1"]
    assert group_hosts(inv, "reachable_managers") == ["m1", "m2"]
    assert host_vars(inv, "w2")["cpus"] == 2
    assert host_vars(inv, "w2")["node_role"] == "worker"


def test_strict_makes_a_bad_expression_fatal():
    run_plugin(compose={"x": "Spec.NoSuchKey.deeper"})  # skipped without strict
    with pytest.raises(AnsibleError, match="Could not set x"):
        run_plugin(compose={"x": "Spec.NoSuchKey.deeper"}, strict=True)


# --- filters ------------------------------------------------------------------------------------

def test_filters_first_match_decides_and_unmatched_nodes_are_included():
    inv = run_plugin(filters=[{"exclude": "swarmlet_availability == 'drain'"},
                              {"include": "swarmlet_role == 'worker'"},
                              {"exclude": "not swarmlet_leader"}])
    assert sorted(inv.hosts) == ["m1", "w1"]


def test_filters_on_raw_attributes_and_inventory_hostname():
    inv = run_plugin(filters=[{"include": "Spec.Labels.type | default('') == 'db'"},
                              {"include": "inventory_hostname == 'm1'"},
                              {"exclude": True}])
    assert sorted(inv.hosts) == ["m1", "w1"]
    assert group_hosts(inv, "nonleaders") == ["w1"]


@pytest.mark.parametrize("bad", [{"include": "x", "exclude": "y"}, {"only": "x"}, "x",
                                 {"include": 3}])
def test_bad_filters_are_rejected(bad):
    with pytest.raises(AnsibleParserError, match=r"filters\[0\]"):
        run_plugin(filters=[bad])


# --- failures -----------------------------------------------------------------------------------

def test_api_failure_is_wrapped_in_the_standard_message():
    plugin = swarm.InventoryModule()
    plugin.get_option = dict(DEFAULTS, ca_path="/nonexistent/ca.pem").__getitem__
    with pytest.raises(AnsibleError) as err:
        plugin._fetch_nodes()
    assert str(err.value).startswith(
        "Unable to fetch hosts from the swarmlet API, this was the original exception: ")
    assert "ca_path /nonexistent/ca.pem is not a file" in str(err.value)


def test_a_bad_certificate_file_is_wrapped_too(tmp_path):
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate\n")
    plugin = swarm.InventoryModule()
    plugin.get_option = dict(DEFAULTS, ca_path=str(junk)).__getitem__
    with pytest.raises(AnsibleError, match="original exception: cannot load the TLS files"):
        plugin._fetch_nodes()


def test_a_non_manager_answer_is_wrapped_too():
    plugin = swarm.InventoryModule()
    plugin.get_option = dict(DEFAULTS, swarmlet_host="unix:///x.sock").__getitem__
    error = SwarmletAPIError("This node is not a swarm manager.", 503)
    with mock.patch.object(SwarmletClient, "get", side_effect=error), \
            pytest.raises(AnsibleError, match="original exception: This node is not a swarm"):
        plugin._fetch_nodes()


def test_verify_file(tmp_path):
    plugin = swarm.InventoryModule()
    for name, ok in [("swarm.yml", True), ("prod.swarm.yaml", True), ("x.docker_swarm.yml", True),
                     ("swarm.json", False), ("inventory.yml", False)]:
        path = tmp_path / name
        path.write_text("plugin: swarmlet.swarm.swarm\n")
        assert plugin.verify_file(str(path)) is ok, name


# --- ansible-inventory end to end, against a fake manager on a unix socket ----------------------

class _Manager(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def fake_manager(tmp_path):
    sock = tmp_path / "manager.sock"
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def address_string(self):
            return "unix"

        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append(self.path)
            body = json.dumps(NODES).encode() if self.path == "/nodes" else b"{}"
            self.send_response(200 if self.path == "/nodes" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = _Manager(str(sock), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield sock, seen
    server.shutdown()
    server.server_close()


def ansible_inventory(config, *args):
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(REPO / "collections"),
           "ANSIBLE_INVENTORY_ENABLED": "swarmlet.swarm.swarm",
           "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}
    exe = str(Path(sys.executable).parent / "ansible-inventory")
    return subprocess.run([exe, "-i", str(config), *args], env=env, capture_output=True,
                          text=True, timeout=120, cwd=str(config.parent))


def test_ansible_inventory_lists_nodes_groups_and_keyed_groups(tmp_path, fake_manager):
    sock, seen = fake_manager
    config = tmp_path / "dev.swarm.yml"
    config.write_text(
        "plugin: swarmlet.swarm.swarm\n"
        f"swarmlet_host: unix://{sock}\n"
        "keyed_groups:\n  - prefix: label\n    key: Spec.Labels\n"
        "filters:\n  - exclude: swarmlet_availability == 'drain'\n")
    proc = ansible_inventory(config, "--list")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert seen == ["/nodes"]
    assert sorted(data["_meta"]["hostvars"]) == ["m1", "m2", "w1"]
    assert data["leader"]["hosts"] == ["m1"]
    assert sorted(data["manager"]["hosts"]) == ["m1", "m2"]
    assert data["worker"]["hosts"] == ["w1"]
    assert data["label_type_db"]["hosts"] == ["w1"]
    # ansible-core 2.19 marks strings that came from outside (not templates) as unsafe
    m2 = data["_meta"]["hostvars"]["m2"]
    assert m2["ansible_host"] in ("198.18.0.5", {"__ansible_unsafe": "198.18.0.5"})
    assert m2["swarmlet_leader"] is False


def test_ansible_inventory_takes_community_docker_option_names(tmp_path, fake_manager):
    """docker_swarm's configuration keys work as they are (aliases): docker_host, tls,
    validate_certs."""
    sock, seen = fake_manager
    config = tmp_path / "moved.swarm.yml"
    config.write_text("plugin: swarmlet.swarm.swarm\n"
                      f"docker_host: unix://{sock}\n"
                      "tls: true\nvalidate_certs: true\n")
    proc = ansible_inventory(config, "--list")
    assert proc.returncode == 0, proc.stderr
    assert seen == ["/nodes"]
    assert sorted(json.loads(proc.stdout)["manager"]["hosts"]) == ["m1", "m2"]


def test_ansible_inventory_refuses_tls_false_to_a_manager_port(tmp_path):
    config = tmp_path / "plain.swarm.yml"
    config.write_text("plugin: swarmlet.swarm.swarm\n"
                      "docker_host: tcp://198.18.0.250:2377\n"
                      "tls_verify: false\n")
    proc = ansible_inventory(config, "--list")
    assert proc.returncode != 0
    assert "validate_certs: false is not supported: swarmlet_host tcp://198.18.0.250:2377" \
        in " ".join(proc.stderr.split()), proc.stderr


def test_ansible_inventory_fails_clearly_when_the_manager_is_unreachable(tmp_path):
    config = tmp_path / "down.swarm.yml"
    config.write_text("plugin: swarmlet.swarm.swarm\n"
                      f"swarmlet_host: unix://{tmp_path}/nobody.sock\n")
    proc = ansible_inventory(config, "--list")
    assert proc.returncode != 0
    assert "Unable to fetch hosts from the swarmlet API" in proc.stderr
