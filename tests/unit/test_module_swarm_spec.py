"""swarm_init's and swarm_info's pure cores: the swarm spec options and their comparison,
join tokens and the CA digest (module_utils/_swarm.py), and the trimmed records and filters of
swarm_info (module_utils/_swarm_info.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "collections"))

from ansible_collections.swarmlet.swarm.plugins.module_utils import (  # noqa: E402
    _swarm,
    _swarm_info,
)

from swarmlet.ca.tokens import ca_digest, generate_join_token  # noqa: E402

SPEC = {
    "Name": "default",
    "Labels": {},
    "Orchestration": {"TaskHistoryRetentionLimit": 5},
    "Raft": {"SnapshotInterval": 10000, "KeepOldSnapshots": 0,
             "LogEntriesForSlowFollowers": 500, "ElectionTick": 10, "HeartbeatTick": 1},
    "Dispatcher": {"HeartbeatPeriod": 5000000000},
    "CAConfig": {"NodeCertExpiry": 7776000000000000},
    "TaskDefaults": {},
    "EncryptionConfig": {"AutoLockManagers": False},
}
PEM = b"-----BEGIN CERTIFICATE-----\nMIIBajCCARCgAwIBAgIU\n-----END CERTIFICATE-----\n"


def params(**given):
    p = dict((name, None) for name, _ in _swarm.SPEC_OPTIONS)
    p.update(given)
    return p


# --- the swarm spec -------------------------------------------------------------------------


def test_unset_options_are_not_compared():
    wanted = _swarm.requested_spec_options(params())
    assert wanted == {}
    spec, differences = _swarm.spec_update(SPEC, wanted)
    assert differences == [] and spec == SPEC


def test_same_values_do_not_differ():
    wanted = _swarm.requested_spec_options(params(
        task_history_retention_limit=5, dispatcher_heartbeat_period=5000000000, name="default",
        labels={}, election_tick=10, node_cert_expiry=7776000000000000))
    assert _swarm.spec_update(SPEC, wanted)[1] == []


def test_a_changed_option_is_set_at_its_path_and_reported():
    wanted = _swarm.requested_spec_options(params(task_history_retention_limit=3,
                                                  snapshot_interval=500))
    spec, differences = _swarm.spec_update(SPEC, wanted)
    assert differences == [("task_history_retention_limit", 3, 5),
                           ("snapshot_interval", 500, 10000)]
    assert spec["Orchestration"]["TaskHistoryRetentionLimit"] == 3
    assert spec["Raft"]["SnapshotInterval"] == 500
    assert spec["Raft"]["ElectionTick"] == 10  # the rest of the section stays
    assert SPEC["Orchestration"]["TaskHistoryRetentionLimit"] == 5  # not modified


def test_labels_compare_as_a_whole_and_empty_clears():
    current = dict(SPEC, Labels={"a": "1"})
    assert _swarm.spec_update(current, {"labels": {"a": "1"}})[1] == []
    spec, differences = _swarm.spec_update(current, {"labels": {}})
    assert differences == [("labels", {}, {"a": "1"})] and spec["Labels"] == {}
    spec, differences = _swarm.spec_update(current, {"labels": {"a": "1", "b": "2"}})
    assert spec["Labels"] == {"a": "1", "b": "2"}


def test_a_missing_section_is_created():
    spec, differences = _swarm.spec_update({"Name": "x"}, {"task_history_retention_limit": 1})
    assert spec == {"Name": "x", "Orchestration": {"TaskHistoryRetentionLimit": 1}}
    assert differences == [("task_history_retention_limit", 1, None)]
    assert _swarm.spec_update({}, {"labels": {}})[1] == []


def test_label_values_become_strings_and_bad_ones_are_named():
    assert _swarm.normalize_labels({"a": 1, "b": "x", "c": 1.5}) == {
        "a": "1", "b": "x", "c": "1.5"}
    assert _swarm.normalize_labels(None) is None
    with pytest.raises(ValueError, match="label 'flag' must be a string, got bool"):
        _swarm.normalize_labels({"flag": True})
    with pytest.raises(ValueError, match="label 'x' must be a string, got NoneType"):
        _swarm.normalize_labels({"x": None})


@pytest.mark.parametrize(("given", "message"), [
    ({"dispatcher_heartbeat_period": 0}, "dispatcher_heartbeat_period must be greater than 0"),
    ({"task_history_retention_limit": -1}, "task_history_retention_limit must not be negative"),
    ({"heartbeat_tick": 5, "election_tick": 5}, "election_tick (5) must be greater than"),
    ({"node_cert_expiry": -3}, "node_cert_expiry must be greater than 0"),
])
def test_spec_option_ranges(given, message):
    assert message in _swarm.check_spec_params(params(**given))


def test_good_spec_options_pass():
    assert _swarm.check_spec_params(params(task_history_retention_limit=0,
                                           heartbeat_tick=1, election_tick=10)) is None


def test_init_takes_only_the_heartbeat_period():
    assert _swarm.init_only_spec({"task_history_retention_limit": 2}) is None
    assert _swarm.init_only_spec({"dispatcher_heartbeat_period": 10**9}) == {
        "Dispatcher": {"HeartbeatPeriod": 10**9}}


# --- join tokens ----------------------------------------------------------------------------


def test_ca_digest_is_the_agents():
    assert _swarm.ca_digest(PEM) == ca_digest(PEM)
    assert _swarm.ca_digest(PEM.decode()) == ca_digest(PEM)
    assert len(_swarm.ca_digest(PEM)) == 50


def test_a_token_of_the_ca_matches_and_another_does_not():
    token = generate_join_token(PEM)
    assert _swarm.token_matches_ca(token, PEM)
    assert not _swarm.token_matches_ca(token, PEM + b"\n")
    other = generate_join_token(b"another CA")
    assert not _swarm.token_matches_ca(other, PEM)


def test_parse_join_token():
    token = generate_join_token(PEM)
    digest, secret = _swarm.parse_join_token(token + "\n")
    assert digest == ca_digest(PEM) and len(secret) == 25


@pytest.mark.parametrize(("token", "message"), [
    ("", "expected SWMTKN-1-<CA digest>-<secret>"),
    ("nonsense", "expected SWMTKN-1-<CA digest>-<secret>"),
    ("SWMTKN-2-" + "a" * 50 + "-" + "b" * 25, "unsupported version '2'"),
    ("SWMTKN-1-" + "a" * 49 + "-" + "b" * 25, "malformed CA digest"),
    ("SWMTKN-1-" + "A" * 50 + "-" + "b" * 25, "malformed CA digest"),
    ("SWMTKN-1-" + "a" * 50 + "-" + "b" * 24, "malformed secret"),
])
def test_bad_tokens_are_refused_without_echoing_them(token, message):
    with pytest.raises(ValueError) as exc:
        _swarm.parse_join_token(token)
    assert message in str(exc.value)
    assert "b" * 24 not in str(exc.value)


def test_data_dir_from_config():
    assert _swarm.data_dir_from_config("") == "/var/lib/swarmlet"
    assert _swarm.data_dir_from_config("# c\nadvertise_addr: 1.2.3.4\n") == "/var/lib/swarmlet"
    assert _swarm.data_dir_from_config("data_dir: /srv/s  # here\n") == "/srv/s"
    assert _swarm.data_dir_from_config("data_dir: '/srv/q'\n") == "/srv/q"
    assert _swarm.data_dir_from_config("  data_dir: /nested\n") == "/var/lib/swarmlet"


def test_swarm_facts_censor_the_tokens_only_when_asked():
    inspect = {"ID": "c1", "JoinTokens": {"Worker": "SWMTKN-w", "Manager": "SWMTKN-m"}}
    facts = _swarm.swarm_facts(inspect)
    assert facts["JoinTokens"] == inspect["JoinTokens"] and facts["UnlockKey"] is None
    censored = _swarm.swarm_facts(inspect, censor=True)
    assert censored["JoinTokens"] == {"Worker": _swarm.CENSORED, "Manager": _swarm.CENSORED}
    assert inspect["JoinTokens"]["Worker"] == "SWMTKN-w"
    assert _swarm.swarm_facts(None) == {}


# --- swarm_info -----------------------------------------------------------------------------


def make_node(node_id, hostname, role="worker", labels=None, leader=False, state="ready"):
    n = {"ID": node_id, "Spec": {"Role": role, "Availability": "active",
                                 "Labels": labels or {}},
         "Description": {"Hostname": hostname, "Engine": {"EngineVersion": "20.10"}},
         "Status": {"State": state}}
    if role == "manager":
        n["ManagerStatus"] = {"Reachability": "reachable", "Addr": "1.1.1.1:2377"}
        if leader:
            n["ManagerStatus"]["Leader"] = True
    return n


NODES = [make_node("m1aaa", "manager1", "manager", leader=True),
         make_node("m2bbb", "manager2", "manager"),
         make_node("w1ccc", "worker1", labels={"zone": "a"}),
         make_node("w2ddd", "worker2", labels={"zone": "b", "ssd": ""})]


def pick(filters, allowed=_swarm_info.NODE_FILTERS):
    wanted = _swarm_info.normalize_filters(filters, allowed, "nodes_filters")
    return [n["Description"]["Hostname"] for n in NODES if _swarm_info.node_matches(n, wanted)]


def test_node_filters():
    assert pick(None) == ["manager1", "manager2", "worker1", "worker2"]
    assert pick({"role": "manager"}) == ["manager1", "manager2"]
    assert pick({"name": "worker"}) == ["worker1", "worker2"]
    assert pick({"name": ["manager2", "worker1"]}) == ["manager2", "worker1"]
    assert pick({"id": "w2"}) == ["worker2"]
    assert pick({"label": "zone=a"}) == ["worker1"]
    assert pick({"label": "ssd"}) == ["worker2"]
    assert pick({"role": "worker", "label": "zone"}) == ["worker1", "worker2"]
    assert pick({"role": "manager", "label": "zone"}) == []


def test_an_unknown_filter_is_named():
    with pytest.raises(_swarm_info.FilterError,
                       match="nodes_filters: invalid filter 'membership' "
                             r"\(supported: id, name, role, label, availability\)"):
        pick({"membership": "accepted"})


def test_node_essentials():
    assert _swarm_info.node_essentials(NODES[0]) == {
        "ID": "m1aaa", "Hostname": "manager1", "Status": "ready", "Availability": "active",
        "ManagerStatus": "Leader", "EngineVersion": "20.10"}
    assert _swarm_info.node_essentials(NODES[1])["ManagerStatus"] == "reachable"
    assert _swarm_info.node_essentials(NODES[2])["ManagerStatus"] is None


def service(service_id, name, mode, labels=None, ports=None, status=None):
    s = {"ID": service_id, "Spec": {
        "Name": name, "Labels": labels or {}, "Mode": mode,
        "TaskTemplate": {"ContainerSpec": {"Image": "swarmlet/demo:latest"}}}}
    if ports is not None:
        s["Spec"]["EndpointSpec"] = {"Ports": ports}
    if status:
        s["ServiceStatus"] = status
    return s


SERVICES = [
    service("s1", "web", {"Replicated": {"Replicas": 2}}, {"tier": "front"},
            [{"TargetPort": 80, "PublishedPort": 8080}]),
    service("s2", "agent", {"Global": {}}, status={"RunningTasks": 3, "DesiredTasks": 3}),
    service("s3", "migrate", {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 4}}),
]


def test_service_filters_and_records():
    def names(filters):
        wanted = _swarm_info.normalize_filters(filters, _swarm_info.SERVICE_FILTERS, "f")
        return [s["Spec"]["Name"] for s in SERVICES if _swarm_info.service_matches(s, wanted)]

    assert names({"name": "we"}) == ["web"]
    assert names({"mode": "global"}) == ["agent"]
    assert names({"label": "tier=front"}) == ["web"]
    assert names({"id": ["s2", "s3"]}) == ["agent", "migrate"]
    web, agent, job = (_swarm_info.service_essentials(s) for s in SERVICES)
    assert web == {"ID": "s1", "Name": "web", "Mode": "Replicated", "Replicas": 2,
                   "Image": "swarmlet/demo:latest",
                   "Ports": [{"TargetPort": 80, "PublishedPort": 8080}]}
    assert agent["Mode"] == "Global" and agent["Replicas"] == 3 and agent["Ports"] == []
    assert job["Mode"] == "ReplicatedJob" and job["Replicas"] == 4  # no crash (#1002)


def test_task_filters_and_records():
    names = {"s1": "web", "s2": "agent"}
    hosts = {"m1aaa": "manager1", "w1ccc": "worker1"}
    tasks = [
        {"ID": "t1", "ServiceID": "s1", "Slot": 1, "NodeID": "w1ccc", "DesiredState": "running",
         "Spec": {"ContainerSpec": {"Image": "img"}},
         "Status": {"State": "running", "ContainerStatus": {"ContainerID": "c1"}}},
        {"ID": "t2", "ServiceID": "s1", "Slot": 2, "NodeID": "m1aaa",
         "DesiredState": "shutdown", "Status": {"State": "failed", "Err": "boom"}},
        {"ID": "t3", "ServiceID": "s2", "NodeID": "w1ccc", "DesiredState": "running",
         "Status": {"State": "running"}},
        {"ID": "t4", "ServiceID": "s1", "Slot": 3, "NodeID": "", "DesiredState": "running",
         "Status": {"State": "pending"}},
    ]

    def ids(filters):
        wanted = _swarm_info.normalize_filters(filters, _swarm_info.TASK_FILTERS, "f")
        return [t["ID"] for t in tasks if _swarm_info.task_matches(t, wanted, names, hosts)]

    assert ids({"service": "web"}) == ["t1", "t2", "t4"]
    assert ids({"service": "s2"}) == ["t3"]
    assert ids({"node": "worker1"}) == ["t1", "t3"]
    assert ids({"node": "m1"}) == ["t2"]
    assert ids({"desired-state": "running", "service": "web"}) == ["t1", "t4"]
    assert ids({"name": "web.2"}) == ["t2"]
    assert ids({"name": "agent.w1ccc"}) == ["t3"]
    assert ids({"node": ""}) == []
    first = _swarm_info.task_essentials(tasks[0], names, hosts)
    assert first == {"ID": "t1", "Name": "web.1", "ServiceID": "s1", "ContainerID": "c1",
                     "Image": "img", "Node": "worker1", "DesiredState": "running",
                     "CurrentState": "running", "Error": None}
    assert _swarm_info.task_essentials(tasks[1], names, hosts)["Error"] == "boom"
    assert _swarm_info.task_essentials(tasks[3], names, hosts)["Node"] is None


def test_init_only_options_go_to_the_init_request() -> None:
    params = {"default_addr_pool": ["10.20.0.0/16"], "subnet_size": 26,
              "data_path_port": 9789, "name": None}
    assert _swarm.init_request_fields(params) == {
        "DefaultAddrPool": ["10.20.0.0/16"], "SubnetSize": 26, "DataPathPort": 9789}
    assert _swarm.init_request_fields({}) == {}


def test_signing_ca_and_force_rotate() -> None:
    assert _swarm.signing_ca({}) is None
    assert _swarm.signing_ca({"signing_ca_cert": "C", "signing_ca_key": "K"}) == {
        "SigningCACert": "C", "SigningCAKey": "K"}
    with pytest.raises(ValueError, match="must be given together"):
        _swarm.signing_ca({"signing_ca_cert": "C"})
    assert _swarm.same_ca("PEM\n", "PEM") and not _swarm.same_ca("PEM", "OTHER")
    # ForceRotate 0 on a swarm that never set it is no change; another value is one
    assert _swarm.spec_update({"CAConfig": {}}, {"ca_force_rotate": 0})[1] == []
    assert _swarm.spec_update({"CAConfig": {}}, {"ca_force_rotate": 1})[1] == [
        ("ca_force_rotate", 1, 0)]


def test_ca_force_rotate_given_at_init_goes_with_the_init() -> None:
    assert _swarm.init_only_spec({"ca_force_rotate": 3}) == {"CAConfig": {"ForceRotate": 3}}
