"""The node's view of its overlays: names, MACs, and the entries each overlay needs, from the
assignments' "Networks" (pure)."""

from __future__ import annotations

import pytest

from swarmlet.errors import SwarmletError
from swarmlet.net import names
from swarmlet.net.spec import ZERO_MAC, OverlaySpec, Peer, parse_entry, parse_networks, vni_of
from swarmlet.worker.containers import create_body

LOCAL = "198.18.0.2"


def network(vni: str = "4097", name: str = "backend", net_id: str = "n1") -> dict:
    return {"ID": net_id, "Spec": {"Name": name, "DriverConfiguration": {"Name": "overlay"}},
            "DriverState": {"Name": "overlay", "Options": {names.VNI_OPTION: vni}},
            "IPAM": {"Configs": [{"Subnet": "10.0.1.0/24", "Gateway": "10.0.1.1"}]}}


def entry(**kw) -> dict:
    return {"Network": network(**kw), "NodeAddress": "10.0.1.2/24",
            "Peers": [{"IP": "10.0.1.5", "NodeAddr": "198.18.0.3"},
                      {"IP": "10.0.1.3", "NodeAddr": "198.18.0.3"},
                      {"IP": "10.0.1.6", "NodeAddr": "198.18.0.4"}]}


def test_names_fit_linux_and_are_ours():
    assert names.bridge_name(4097) == "swlb-4097"
    assert names.vxlan_name(16777215) == "swlx-16777215"
    assert len(names.vxlan_name(16777215)) <= names.IFNAMSIZ
    eid = "3f" * 32
    assert len(names.host_veth(eid)) == len(names.peer_veth(eid)) == names.IFNAMSIZ
    assert names.host_veth(eid) != names.peer_veth(eid)
    assert names.vni_of_bridge("swlb-4097") == 4097
    assert names.vni_of_bridge("swlx-4097") is None
    assert names.vni_of_vxlan("swlx-12") == 12
    assert names.vni_of_bridge("swlb-abc") is None
    assert names.vni_of_bridge("docker0") is None


def test_mac_follows_dockers_rule():
    assert names.mac_of("10.0.1.5") == "02:42:0a:00:01:05"
    assert names.mac_of("10.0.1.5/24") == "02:42:0a:00:01:05"
    assert names.mac_of("10.255.0.254") == "02:42:0a:ff:00:fe"


def test_driver_and_docker_names_per_machine():
    assert names.driver_name("ovl-a") == "swarmlet-ovl-a"
    assert names.driver_name(None) == "swarmlet"
    assert str(names.plugin_socket("swarmlet-ovl-a")) == "/run/docker/plugins/swarmlet-ovl-a.sock"
    assert names.docker_network_name("ovl-a", "backend") == "swarmlet-ovl-a-backend"
    assert names.docker_network_name(None, "back end!") == "swarmlet-back_end_"


def test_parse_entry():
    spec = parse_entry(entry())
    assert (spec.network_id, spec.name, spec.vni) == ("n1", "backend", 4097)
    assert (spec.bridge, spec.vxlan, spec.gateway, spec.prefixlen) == (
        "swlb-4097", "swlx-4097", "10.0.1.2", 24)
    assert spec.peers[0] == Peer("10.0.1.3", "198.18.0.3")


def test_fdb_has_one_entry_per_remote_mac_and_one_flood_entry_per_node():
    spec = parse_entry(entry())
    assert spec.fdb(LOCAL) == {
        ("02:42:0a:00:01:05", "198.18.0.3"), ("02:42:0a:00:01:03", "198.18.0.3"),
        ("02:42:0a:00:01:06", "198.18.0.4"),
        (ZERO_MAC, "198.18.0.3"), (ZERO_MAC, "198.18.0.4")}
    assert spec.neighbours(LOCAL) == {"10.0.1.5": "02:42:0a:00:01:05",
                                      "10.0.1.3": "02:42:0a:00:01:03",
                                      "10.0.1.6": "02:42:0a:00:01:06"}


def test_peers_on_this_node_and_its_own_address_are_not_remote():
    spec = OverlaySpec("n1", "backend", 4097, "10.0.1.2/24",
                       (Peer("10.0.1.2", "198.18.0.3"), Peer("10.0.1.9", LOCAL)))
    assert spec.fdb(LOCAL) == {("02:42:0a:00:01:02", "198.18.0.3"), (ZERO_MAC, "198.18.0.3")}
    assert spec.neighbours(LOCAL) == {}


def test_vni_from_driver_state():
    assert vni_of(network(vni="4096,4097")) == 4096
    with pytest.raises(SwarmletError, match="has no VXLAN ID"):
        vni_of(network(vni=""))
    with pytest.raises(SwarmletError, match="out of range"):
        vni_of(network(vni="16777216"))


def test_bad_entries_are_skipped_not_fatal():
    bad_addr = {**entry(net_id="n2", vni="4098"), "NodeAddress": "10.0.2.2"}
    bad_peer = entry(net_id="n3", vni="4099")
    bad_peer["Peers"].append({"IP": "nonsense", "NodeAddr": "198.18.0.9"})
    wanted = parse_networks([entry(), bad_addr, {"Network": network(vni="x")}, bad_peer])
    assert sorted(wanted) == [4097, 4099]
    assert len(wanted[4099].peers) == 3


def task(**extra) -> dict:
    return {"ID": "t1", "ServiceID": "s1", "Slot": 1, "ServiceAnnotations": {"Name": "web"},
            "Spec": {"ContainerSpec": {"Image": "swarmlet/demo:latest"}}, **extra}


def test_container_networking_args():
    plain = create_body(task(), "node1")  # Docker's default bridge, as before overlays
    assert plain["HostConfig"]["NetworkMode"] == "default" and "NetworkingConfig" not in plain
    body = create_body(task(), "node1", [("swarmlet-a-backend", "10.0.1.5/24"),
                                         ("swarmlet-a-front", "10.0.2.5/24")])
    assert body["HostConfig"]["NetworkMode"] == "swarmlet-a-backend"
    assert body["NetworkingConfig"] == {"EndpointsConfig": {
        "swarmlet-a-backend": {"DriverOpts": {names.OPT_ADDRESS: "10.0.1.5/24"}}}}
