"""swarm_network's pure core (module_utils/_network.py): the spec the options ask for, the
NetworkResource view community.docker returns, and what differs, as docker_network finds it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "collections"))

from ansible_collections.swarmlet.swarm.plugins.module_utils._network import (  # noqa: E402
    NetworkOptionError,
    check_ipam_config,
    differences,
    network_resource,
    wanted_spec,
)

NETWORK = {
    "ID": "3k9fmgk1z7rz6l1xb4j7gxz2v", "CreatedAt": "t",
    "Spec": {"Name": "back", "Labels": {"app": "demo", "tier": "db"},
             "DriverConfiguration": {"Name": "overlay", "Options": {"mtu": "1400"}},
             "IPAMOptions": {"Driver": {"Name": "default"},
                             "Configs": [{"Subnet": "10.200.7.0/24", "Gateway": "10.200.7.1"}]},
             "Attachable": True, "Ingress": False},
    "DriverState": {"Name": "overlay",
                    "Options": {"com.docker.network.driver.overlay.vxlanid_list": "4097"}},
    "IPAM": {"Driver": {"Name": "default"},
             "Configs": [{"Subnet": "10.200.7.0/24", "Gateway": "10.200.7.1"}]},
}


def params(**given):
    base = {"name": "back", "driver": "overlay", "driver_options": {}, "attachable": None,
            "internal": None, "ipam_config": None, "labels": {}}
    return {**base, **given}


def test_the_resource_is_what_docker_network_inspect_shows():
    resource = network_resource(NETWORK)
    assert resource["Id"] == NETWORK["ID"] and resource["Scope"] == "swarm"
    assert resource["IPAM"]["Config"] == [{"Subnet": "10.200.7.0/24", "Gateway": "10.200.7.1"}]
    assert resource["Options"] == {"mtu": "1400",
                                   "com.docker.network.driver.overlay.vxlanid_list": "4097"}
    assert resource["Attachable"] is True and resource["Internal"] is False


def test_the_same_settings_written_differently_are_no_difference():
    given = params(attachable=True, labels={"app": "demo"}, driver_options={"mtu": 1400},
                   ipam_config=[{"subnet": "10.200.7.5/24", "gateway": "10.200.7.1",
                                 "iprange": "10.200.7.0/24"}])
    assert differences(given, network_resource(NETWORK)) == []


def test_each_differing_setting_is_named():
    given = params(attachable=False, labels={"app": "other"}, driver_options={"mtu": "9000"},
                   ipam_config=[{"subnet": "10.200.8.0/24", "gateway": None, "iprange": None}])
    assert [name for name, _w, _c in differences(given, network_resource(NETWORK))] == [
        "driver_options.mtu", "attachable", "ipam_config[0].subnet", "labels.app"]


def test_the_spec_sent_to_the_agent():
    spec = wanted_spec(params(attachable=True, labels={"n": 1}, driver_options={"x": True},
                              ipam_config=[{"subnet": "10.9.0.0/16", "gateway": "10.9.0.254",
                                            "iprange": None}]))
    assert spec == {"Name": "back", "Labels": {"n": "1"},
                    "DriverConfiguration": {"Name": "overlay", "Options": {"x": "true"}},
                    "Attachable": True,
                    "IPAMOptions": {"Driver": {"Name": "default"},
                                    "Configs": [{"Subnet": "10.9.0.0/16",
                                                 "Gateway": "10.9.0.254"}]}}


@pytest.mark.parametrize(("config", "message"), [
    ({"subnet": "10.1.2.0/33"}, "ipam configuration: invalid subnet 10.1.2.0/33"),
    ({"subnet": "10.1.2.0/24", "gateway": "10.1.3.1"},
     "ipam configuration: subnet 10.1.2.0/24 does not contain gateway 10.1.3.1"),
    ({"subnet": "10.1.2.0/24", "gateway": "nope"}, "ipam configuration: invalid gateway nope"),
    ({"subnet": "10.1.2.0/24", "iprange": "10.1.0.0/16"},
     "ipam configuration: subnet 10.1.2.0/24 does not contain ip range 10.1.0.0/16"),
])
def test_bad_addresses_are_refused_in_the_agents_words_before_it_is_asked(config, message):
    with pytest.raises(NetworkOptionError) as refused:
        check_ipam_config([config])
    assert str(refused.value) == message
