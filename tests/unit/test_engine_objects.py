"""The Engine API's secrets, configs and networks in Docker's shapes (api/engine/data.py,
network_shape.py): requests translated to swarmlet's specs, swarm networks as Docker's
NetworkResource, and Docker's filters."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

from swarmlet.api.engine import network_shape as shape
from swarmlet.api.engine.data import FILTERS, data_spec, matches
from swarmlet.api.engine.filters import parse_filters
from swarmlet.manager.allocator.network_objects import new_network
from swarmlet.manager.controlapi.kinds import CONFIG, SECRET
from swarmlet.spec.engine.objects import DataBody, NetworkCreateBody
from swarmlet.spec.errors import SpecError
from swarmlet.spec.validate import checked
from swarmlet.transport.errors import HttpError


def _filters(raw: str, keys=FILTERS):
    return parse_filters(raw, keys)


def test_a_docker_secret_spec_becomes_swarmlets_and_drivers_are_refused():
    body = {"Name": "db", "Labels": {}, "Data": "cHc=", "Driver": None, "Templating": None}
    assert data_spec(SECRET, checked(DataBody, body, "secret spec")) == {
        "Name": "db", "Labels": {}, "Data": "cHc="}
    with pytest.raises(HttpError) as err:
        data_spec(SECRET, {"Name": "db", "Data": "cHc=", "Driver": {"Name": "vault"}})
    assert err.value.status == 400 and "Driver" in err.value.message
    with pytest.raises(HttpError) as err:
        data_spec(SECRET, {"Name": "s", "Data": "cHc=", "Templating": {"Name": "golang"}})
    assert "Templating" in err.value.message
    # a config's template driver goes on to the control API (which takes golang)
    assert data_spec(CONFIG, {"Name": "c", "Data": "cHc=", "Templating": {"Name": "golang"}}
                     )["Templating"] == {"Name": "golang"}
    with pytest.raises(SpecError):  # a field Docker knows, with the wrong type
        checked(DataBody, {"Name": "db", "Labels": {"a": 1}}, "secret spec")


def _secret(object_id, name, labels=None):
    return {"ID": object_id, "Spec": {"Name": name, "Labels": labels or {}}}


@pytest.mark.parametrize(("raw", "expected"), [
    ('{"name": ["app"]}', ["abc1", "abd2"]),  # name: a prefix
    ('{"names": ["app"]}', ["abc1"]),  # names: exact
    ('{"id": ["abd"]}', ["abd2"]),
    ('{"label": ["com.docker.stack.namespace=web"]}', ["abd2"]),
    ('{"label": ["com.docker.stack.namespace"]}', ["abd2", "zz3"]),
    ('{"label": ["com.docker.stack.namespace"], "name": ["other"]}', ["zz3"]),
    ('{"name": {"app_": true}}', ["abd2"]),  # the older form of filters
])
def test_secret_filters(raw, expected):
    secrets = [_secret("abc1", "app"),
               _secret("abd2", "app_key", {"com.docker.stack.namespace": "web"}),
               _secret("zz3", "other", {"com.docker.stack.namespace": "db"})]
    assert [s["ID"] for s in secrets if matches(_filters(raw), s)] == expected


def test_an_unknown_secret_filter_is_refused():
    with pytest.raises(HttpError) as err:
        _filters('{"driver": ["x"]}')
    assert err.value.status == 400 and "driver" in err.value.message


def _network(**kw):
    net = new_network("n1" * 10, kw.pop("name", "front"), IPv4Network("10.0.3.0/24"),
                      IPv4Address("10.0.3.1"), 4099, **kw)
    net["CreatedAt"] = "2026-12-06T10:00:00.000000001Z"
    return net


def test_a_swarm_network_in_dockers_shape():
    out = shape.resource(_network(labels={"a": "b"}, attachable=True))
    assert out == {
        "Name": "front", "Id": "n1" * 10, "Created": "2026-12-06T10:00:00.000000001Z",
        "Scope": "swarm", "Driver": "overlay", "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": None,
                 "Config": [{"Subnet": "10.0.3.0/24", "Gateway": "10.0.3.1"}]},
        "Internal": False, "Attachable": True, "Ingress": False,
        "ConfigFrom": {"Network": ""}, "ConfigOnly": False, "Containers": {},
        "Options": {"com.docker.network.driver.overlay.vxlanid_list": "4099"},
        "Labels": {"a": "b"}}


def test_the_agents_docker_copies_are_recognised():
    assert shape.is_swarm_copy({"Name": "swarmlet-m1-front",
                                "Labels": {"swarmlet.network.id": "x"}})
    assert not shape.is_swarm_copy({"Name": "bridge", "Labels": None})


CLI_BODY = {"Name": "front", "CheckDuplicate": True, "Driver": "overlay", "Scope": "",
            "EnableIPv6": False, "IPAM": {"Driver": "default", "Options": {},
                                          "Config": [{"Subnet": "10.9.0.0/24"}]},
            "Internal": False, "Attachable": True, "Ingress": False, "ConfigOnly": False,
            "ConfigFrom": None, "Options": {}, "Labels": {"com.docker.stack.namespace": "s"}}


def test_the_clis_overlay_request_becomes_a_network_spec():
    body = checked(NetworkCreateBody, CLI_BODY, "network create")
    assert shape.is_overlay_request(body)
    assert shape.network_spec(body) == {
        "Name": "front", "Labels": {"com.docker.stack.namespace": "s"},
        "DriverConfiguration": {"Name": "overlay"}, "Attachable": True,
        "IPAMOptions": {"Configs": [{"Subnet": "10.9.0.0/24"}]}}
    assert not shape.is_overlay_request({"Name": "b", "Driver": "bridge"})
    assert not shape.is_overlay_request({"Name": "b"})  # Docker's default: bridge


@pytest.mark.parametrize(("change", "field"), [
    ({"Internal": True}, "Internal"),
    ({"EnableIPv6": True}, "EnableIPv6"),
    ({"Scope": "local"}, "Scope"),
    ({"ConfigOnly": True}, "ConfigOnly"),
    ({"IPAM": {"Driver": "dhcp"}}, "IPAM.Driver"),
    ({"IPAM": {"Config": [{"Subnet": "10.9.0.0/24", "IPRange": "10.9.0.0/25"}]}},
     "IPAM.Config.IPRange"),
])
def test_what_an_overlay_cannot_honour_is_refused_by_name(change, field):
    with pytest.raises(HttpError) as err:
        shape.network_spec({**CLI_BODY, **change})
    assert err.value.status == 400 and err.value.message.startswith(field)


LOCAL = {"Name": "bridge", "Id": "b" * 64, "Driver": "bridge", "Scope": "local", "Labels": {}}


@pytest.mark.parametrize(("raw", "names"), [
    ('{"driver": ["overlay"]}', ["front"]),
    ('{"scope": ["swarm"]}', ["front"]),
    ('{"scope": ["local"]}', ["bridge"]),
    ('{"name": ["ro"]}', ["front"]),  # a regular expression found in the name
    ('{"name": ["^br"]}', ["bridge"]),
    ('{"id": ["n1n1"]}', ["front"]),
    ('{"type": ["builtin"]}', ["bridge"]),
    ('{"type": ["custom"]}', ["front"]),
    ('{"label": ["a=b"]}', ["front"]),
    ('{"dangling": ["true"]}', ["front"]),
    ('{"dangling": ["false"]}', ["bridge"]),
])
def test_network_filters(raw, names):
    filters = parse_filters(raw, shape.FILTERS)
    shape.check_values(filters)
    networks = [(shape.resource(_network(labels={"a": "b"})), True), (LOCAL, False)]
    assert [n["Name"] for n, dangling in networks
            if shape.matches(filters, n, dangling)] == names


def test_bad_network_filter_values_are_refused():
    for raw in ('{"dangling": ["maybe"]}', '{"type": ["odd"]}'):
        with pytest.raises(HttpError) as err:
            shape.check_values(parse_filters(raw, shape.FILTERS))
        assert err.value.status == 400


def test_the_local_copy_of_a_swarm_network_for_connect():
    copies = [{"Id": "d1", "Name": "swarmlet-m1-front",
               "Labels": {"swarmlet.network.id": "abcdef123"}},
              {"Id": "d2", "Name": "bridge", "Labels": {}}]
    assert shape.local_copy(copies, "front", "abcdef123", "m1")["Id"] == "d1"
    assert shape.local_copy(copies, "front", None, "m1")["Id"] == "d1"  # a worker: by name
    assert shape.local_copy(copies, "abcdef", None, "m1")["Id"] == "d1"  # by ID prefix
    assert shape.local_copy(copies, "back", None, "m1") is None
    assert shape.local_copy(copies, "bridge", None, "m1") is None
