"""Placement constraints: SwarmKit's syntax, its error texts and how values compare."""

from __future__ import annotations

import pytest

from swarmlet.errors import SwarmletError
from swarmlet.manager.scheduler import parse_constraints
from swarmlet.spec.constraints import node_matches

NODE = {
    "ID": "n1abc",
    "Spec": {"Role": "worker", "Availability": "active",
             "Labels": {"type": "db", "Zone": "eu-1"}},
    "Description": {"Hostname": "worker-1",
                    "Platform": {"OS": "linux", "Architecture": "x86_64"},
                    "Engine": {"Labels": {"disk": "ssd"}}},
    "Status": {"State": "ready", "Addr": "10.0.3.7"},
}


def matches(*exprs: str, node: dict = NODE) -> bool:
    return node_matches(parse_constraints(list(exprs)), node)


@pytest.mark.parametrize("expr", [
    "node.id==n1abc", "node.hostname==worker-1", "node.role==worker", "node.role!=manager",
    "node.platform.os==linux", "node.platform.arch==x86_64", "node.labels.type==db",
    "node.labels.type!=web", "engine.labels.disk==ssd", "node.ip==10.0.3.7",
    "node.ip==10.0.0.0/16", "node.ip!=192.168.0.0/16",
])
def test_each_key_matches_the_node(expr: str) -> None:
    assert matches(expr)


@pytest.mark.parametrize("expr", [
    "node.id==other", "node.hostname!=worker-1", "node.role==manager",
    "node.labels.type==web", "engine.labels.disk!=ssd", "node.ip==10.0.3.8",
    "node.ip!=10.0.3.0/24",
])
def test_each_key_can_fail(expr: str) -> None:
    assert not matches(expr)


def test_keys_are_case_insensitive_values_too_label_names_not() -> None:
    assert matches("NODE.Role==WORKER", "Node.Labels.type==DB", "ENGINE.LABELS.disk==SSD")
    assert matches("node.labels.Zone==EU-1")
    assert not matches("node.labels.zone==eu-1")  # the label is "Zone"
    assert matches("node.labels.zone!=eu-1")


def test_missing_attribute_is_empty() -> None:
    bare = {"ID": "x", "Spec": {}}
    assert not matches("node.labels.type==db", node=bare)
    assert matches("node.labels.type!=db", "node.hostname!=a", "engine.labels.x!=y", node=bare)
    assert not matches("node.platform.os==linux", node=bare)
    assert matches("node.ip!=10.0.0.0/8", node=bare)  # no address: not within anything


def test_all_constraints_must_hold() -> None:
    assert matches("node.role==worker", "node.labels.type==db")
    assert not matches("node.role==worker", "node.labels.type==web")
    assert matches()


def test_spaces_around_key_and_value_are_trimmed() -> None:
    [c] = parse_constraints([" node.labels.type  ==  db "])
    assert (c.key, c.operator, c.value, str(c)) == ("node.labels.type", "==", "db",
                                                   "node.labels.type==db")


def test_matching_is_exact_not_glob() -> None:
    assert not matches("node.hostname==worker-*")
    assert matches("node.hostname!=worker-*")


@pytest.mark.parametrize(("expr", "message"), [
    ("node.labels.type=db", "constraint expected one operator from ==, !="),
    ("node.labels.type>db", "constraint expected one operator from ==, !="),
    ("node.labels.type", "constraint expected one operator from ==, !="),
    ("==db", "key '' is invalid"),
    ("n==db", "key 'n' is invalid"),
    ("node.labels.ty pe==db", "key 'node.labels.ty pe' is invalid"),
    ("node.labels.a!=b==c", "key 'node.labels.a!=b' is invalid"),  # '==' goes first
    ("node.labels.type==", "value '' is invalid"),
    ("node.labels.type==a<b", "value 'a<b' is invalid"),
    ("node.labels.type==caf\u00e9", "value 'caf\u00e9' is invalid"),
])
def test_bad_input_is_refused_in_dockers_words(expr: str, message: str) -> None:
    with pytest.raises(SwarmletError) as err:
        parse_constraints([expr])
    assert str(err.value) == message


def test_unknown_key_is_refused_and_the_known_ones_listed() -> None:
    with pytest.raises(SwarmletError, match=r"^key 'node.name' is invalid: constraint keys "
                                            r"are node.id, node.hostname, .*engine.labels"):
        parse_constraints(["node.name==x"])
    with pytest.raises(SwarmletError, match=r"key 'node\.labels\.' is invalid"):
        parse_constraints(["node.labels.==x"])


def test_node_ip_wants_an_address_or_subnet() -> None:
    with pytest.raises(SwarmletError, match=r"node\.ip wants an IP address or a CIDR subnet"):
        parse_constraints(["node.ip==web-1"])
