"""The Engine API's swarm part without a swarm: Docker's request shapes translated to
swarmlet's (api/engine/swarm_shapes.py), the node filters, and managers' certificates
naming their address."""

from __future__ import annotations

import base64
import ipaddress
import json

import pytest
from cryptography import x509

from swarmlet.api.engine.filters import parse_filters
from swarmlet.api.engine.swarm_shapes import (
    NODE_FILTERS,
    init_settings,
    join_settings,
    node_matcher,
    node_spec,
    swarm_spec,
    tls_info,
)
from swarmlet.ca.authority import RootCA, names_address
from swarmlet.ca.node import make_csr, new_key
from swarmlet.spec.errors import SpecError
from swarmlet.spec.swarm import merged_swarm_spec
from swarmlet.transport.errors import HttpError

CURRENT = {
    "Name": "default", "Labels": {},
    "Orchestration": {"TaskHistoryRetentionLimit": 5},
    "Raft": {"SnapshotInterval": 10000, "KeepOldSnapshots": 0,
             "LogEntriesForSlowFollowers": 500, "ElectionTick": 10, "HeartbeatTick": 1},
    "Dispatcher": {"HeartbeatPeriod": 5_000_000_000},
    "CAConfig": {"NodeCertExpiry": 7_776_000_000_000_000},
    "TaskDefaults": {}, "EncryptionConfig": {"AutoLockManagers": False},
}
# What `docker swarm init` sends as its Spec: Go's zero values (opts.go ToSpec).
CLI_INIT_SPEC = {
    "Labels": None, "Orchestration": {}, "Raft": {"ElectionTick": 0, "HeartbeatTick": 0},
    "Dispatcher": {}, "CAConfig": {}, "TaskDefaults": {},
    "EncryptionConfig": {"AutoLockManagers": False},
}


def test_the_clis_init_spec_keeps_every_default():
    assert merged_swarm_spec(CURRENT, swarm_spec(CLI_INIT_SPEC)) == CURRENT


def test_the_whole_spec_sent_back_changes_only_what_the_user_changed():
    # `docker swarm update --task-history-limit 0`: the spec it read, one field changed
    sent = json.loads(json.dumps(CURRENT))
    sent["Orchestration"]["TaskHistoryRetentionLimit"] = 0  # a meaningful zero: kept
    assert merged_swarm_spec(CURRENT, swarm_spec(sent))["Orchestration"] == {
        "TaskHistoryRetentionLimit": 0}
    sent = {**CURRENT, "Name": "", "Raft": {**CURRENT["Raft"], "KeepOldSnapshots": 3,
                                            "SnapshotInterval": 0}}
    merged = merged_swarm_spec(CURRENT, swarm_spec(sent))
    assert merged["Name"] == "default"
    assert merged["Raft"] == {**CURRENT["Raft"], "KeepOldSnapshots": 3}


@pytest.mark.parametrize("field,value", [("ForceRotate", 1), ("SigningCACert", "PEM"),
                                         ("ExternalCAs", [{"Protocol": "cfssl"}])])
def test_what_swarmlet_cannot_do_is_refused_naming_the_field(field, value):
    with pytest.raises(HttpError) as err:
        swarm_spec({**CURRENT, "CAConfig": {**CURRENT["CAConfig"], field: value}})
    assert err.value.status == 400 and f"CAConfig.{field}" in err.value.message
    # Their zero values are what every client sends: nothing asked, nothing refused
    zeros = {"ForceRotate": 0, "SigningCACert": "", "ExternalCAs": []}
    assert swarm_spec({"CAConfig": {field: zeros[field]}}) == {}


def test_a_wrong_type_still_meets_swarmlets_check():
    with pytest.raises(SpecError, match="Raft"):
        merged_swarm_spec(CURRENT, swarm_spec({"Raft": "fast"}))


def test_a_node_spec_replaces_the_labels_as_dockers_does():
    assert node_spec({"Name": "", "Role": "worker", "Availability": "drain"}) == {
        "Role": "worker", "Availability": "drain", "Labels": {}}
    assert node_spec({"Labels": {"a": "1"}, "Role": "", "Availability": ""}) == {
        "Labels": {"a": "1"}}


def test_init_request_of_the_cli():
    body = {"ListenAddr": "0.0.0.0:2377", "AdvertiseAddr": "", "DataPathAddr": "",
            "DataPathPort": 0, "DefaultAddrPool": [], "ForceNewCluster": False,
            "Spec": CLI_INIT_SPEC, "AutoLockManagers": True, "SubnetSize": 24}
    settings = init_settings(body)
    assert settings["advertise_addr"] is None and settings["listen_addr"] == "0.0.0.0:2377"
    assert settings["spec"]["EncryptionConfig"] == {"AutoLockManagers": True}
    assert merged_swarm_spec(CURRENT, settings["spec"])["Raft"] == CURRENT["Raft"]


def test_init_settings_swarmlet_lacks_are_refused():
    with pytest.raises(HttpError) as err:
        init_settings({"DataPathAddr": "198.18.0.9"})
    assert err.value.status == 400 and "DataPathAddr" in err.value.message


def test_init_settings_pass_the_pools_and_port_on_go_zeros_as_defaults():
    """The node's init checks them (Docker's texts): the facade only reads Go's zeros."""
    given = init_settings({"DataPathPort": 7789, "SubnetSize": 26,
                           "DefaultAddrPool": ["10.20.0.0/16"]})
    assert given["pools"] == (["10.20.0.0/16"], 26) and given["data_path_port"] == 7789
    zeros = init_settings({"DataPathPort": 0, "SubnetSize": 0, "DefaultAddrPool": []})
    assert zeros["pools"] == (None, None) and zeros["data_path_port"] is None


def test_join_request_of_the_cli():
    assert join_settings({"ListenAddr": "0.0.0.0:2377", "AdvertiseAddr": "",
                          "DataPathAddr": "", "RemoteAddrs": ["198.18.0.2:2377"],
                          "JoinToken": "SWMTKN-1-x", "Availability": ""}) == {
        "token": "SWMTKN-1-x", "remote_addrs": ["198.18.0.2:2377"], "advertise_addr": None,
        "listen_addr": "0.0.0.0:2377", "availability": "active"}


NODES = [
    {"ID": "abc123", "Spec": {"Role": "manager", "Labels": {"zone": "a"}},
     "Description": {"Hostname": "eng-1", "Engine": {"Labels": {"ssd": "yes"}}}},
    {"ID": "abd456", "Spec": {"Role": "worker", "Labels": {"zone": "b", "gpu": ""}},
     "Description": {"Hostname": "eng-2", "Engine": {"Labels": {}}}},
    {"ID": "xyz789", "Spec": {"Role": "worker", "Labels": {}, "Name": "edge"},
     "Description": {"Hostname": "box", "Engine": {}}},
]


def matching(filters: dict[str, list[str]]) -> list[str]:
    matches = node_matcher(parse_filters(json.dumps(filters), NODE_FILTERS))
    return [n["ID"] for n in NODES if matches(n)]


@pytest.mark.parametrize("filters,ids", [
    ({}, ["abc123", "abd456", "xyz789"]),
    ({"id": ["ab"]}, ["abc123", "abd456"]),
    ({"id": ["abc", "xyz"]}, ["abc123", "xyz789"]),
    ({"name": ["eng-"]}, ["abc123", "abd456"]),
    ({"name": ["edg"]}, ["xyz789"]),
    ({"role": ["MANAGER"]}, ["abc123"]),
    ({"role": ["worker"], "name": ["eng"]}, ["abd456"]),
    ({"node.label": ["zone=b"]}, ["abd456"]),
    ({"node.label": ["zone"]}, ["abc123", "abd456"]),
    ({"node.label": ["zone", "gpu"]}, ["abd456"]),
    ({"label": ["ssd=yes"]}, ["abc123"]),
    ({"membership": ["accepted"]}, ["abc123", "abd456", "xyz789"]),
    ({"membership": ["pending"]}, []),
])
def test_node_filters_as_dockers(filters, ids):
    assert matching(filters) == ids


@pytest.mark.parametrize("filters,message", [
    ({"role": ["boss"]}, "Invalid role filter: 'boss'"),
    ({"membership": ["maybe"]}, "Invalid membership filter: 'maybe'"),
    ({"colour": ["red"]}, "Invalid filter 'colour'"),
])
def test_bad_node_filters_are_400(filters, message):
    with pytest.raises(HttpError) as err:
        matching(filters)
    assert err.value.status == 400 and err.value.message == message


@pytest.fixture(scope="module")
def root() -> RootCA:
    return RootCA.create()


def test_tls_info_names_the_issuer(root):
    info = tls_info(root.cert_pem.decode())
    subject = x509.Name.from_rfc4514_string("CN=swarm-ca")
    assert base64.b64decode(info["CertIssuerSubject"]) == subject.public_bytes()
    assert info["TrustRoot"] == root.cert_pem.decode() and info["CertIssuerPublicKey"]


def test_a_manager_certificate_names_its_address(root):
    key = new_key()
    cert = root.sign_csr(make_csr(key), "m1", "manager", "c1", addresses=["198.18.0.7"])
    names = x509.load_pem_x509_certificate(cert).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("198.18.0.7")]
    assert names_address(cert, "198.18.0.7") and not names_address(cert, "198.18.0.8")
    worker = root.sign_csr(make_csr(new_key()), "w1", "worker", "c1")
    assert not names_address(worker, "198.18.0.7")
