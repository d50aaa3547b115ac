"""swarm init's address pools, data path port and signing CA: the spec core's checks
(spec/swarm.py), the IPAM that carves subnets from the pools, the refusal of a CA rotation
(manager/controlapi/nodes.py) and the CLI's request (cli/swarm.py)."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from swarmlet.ca.authority import RootCA
from swarmlet.cli.main import build_parser
from swarmlet.cli.swarm import init_request
from swarmlet.errors import InvalidArgument, SwarmletError
from swarmlet.manager.allocator import ipam
from swarmlet.manager.controlapi.networks import (
    NetworkDefaults,
    build_network,
    ingress_network,
    network_defaults,
)
from swarmlet.manager.controlapi.nodes import check_no_ca_rotation
from swarmlet.net.spec import parse_entry
from swarmlet.spec.errors import SpecError
from swarmlet.spec.swarm import address_pools, data_path_port, merged_swarm_spec, signing_ca

NET = {"Name": "front"}


def test_pools_and_size_as_docker_checks_them() -> None:
    assert address_pools(None, None) == (["10.0.0.0/8"], 24)
    assert address_pools([" 10.20.0.0/16", "172.28.0.0/14"], 26) == (
        ["10.20.0.0/16", "172.28.0.0/14"], 26)
    for pools, size, words in ((["10.20.0.0/16"], 30, "subnet size is out of range: 30"),
                               (["nonsense"], 24, "invalid base pool 'nonsense'"),
                               (["10.20.0.0/16"], 12, "Subnet size is too small for pool")):
        with pytest.raises(SpecError, match=words):
            address_pools(pools, size)


def test_new_networks_come_from_the_swarms_pools_in_their_size() -> None:
    pools = NetworkDefaults(["10.20.0.0/16", "10.30.0.0/16"], 26)
    ingress = ingress_network([], pools)
    assert ingress["IPAM"]["Configs"][0]["Subnet"] == "10.20.0.0/26"
    front = build_network(NET, [ingress], [], defaults=pools)
    assert front["IPAM"]["Configs"][0]["Subnet"] == "10.20.0.64/26"
    # the host's routes are skipped; a full first pool moves on to the next
    assert ipam.pick_subnet([IPv4Network("10.20.0.0/16")], [], pools[0], 26) == \
        IPv4Network("10.30.0.0/26")
    assert network_defaults({"DefaultAddrPool": ["10.20.0.0/16"], "SubnetSize": 26}) == (
        ["10.20.0.0/16"], 26, 4789)
    assert network_defaults({}) == (["10.0.0.0/8"], 24, 4789)  # made before the fields


def test_the_data_path_port_reaches_each_nodes_vxlan_device() -> None:
    assert data_path_port(None) == data_path_port(0) == 4789
    assert data_path_port(9789) == 9789
    with pytest.raises(SpecError, match=r"not in valid range \(1024-49151\) : 80"):
        data_path_port(80)
    network = build_network(NET, [], [], defaults=NetworkDefaults(["10.0.0.0/8"], 24, 9789))
    entry = {"Network": network, "NodeAddress": "10.0.0.2/24"}
    assert parse_entry(entry).port == 9789
    plain = build_network(NET, [], [])
    assert "swarmlet.network.vxlan.port" not in plain["DriverState"]["Options"]
    assert parse_entry({"Network": plain, "NodeAddress": "10.0.0.2/24"}).port == 4789


def test_a_signing_ca_is_used_at_init_and_never_stored() -> None:
    root = RootCA.create()
    body = {"CAConfig": {"SigningCACert": root.cert_pem.decode(),
                         "SigningCAKey": root.key_pem.decode(), "ForceRotate": 0}}
    assert signing_ca(body) == (root.cert_pem.decode(), root.key_pem.decode())
    assert merged_swarm_spec({}, body)["CAConfig"] == {"ForceRotate": 0}
    with pytest.raises(SpecError, match="must be given together"):
        signing_ca({"CAConfig": {"SigningCACert": root.cert_pem.decode()}})


def test_a_rotation_is_refused_the_same_ca_again_is_not() -> None:
    root, other = RootCA.create(), RootCA.create()
    cluster = {"RootCA": {"CACert": root.cert_pem.decode()}, "Spec": {"CAConfig": {}}}
    same = {"CAConfig": {"SigningCACert": root.cert_pem.decode() + "\n",
                         "SigningCAKey": root.key_pem.decode(), "ForceRotate": 0}}
    check_no_ca_rotation(cluster, same)
    with pytest.raises(InvalidArgument, match="root CA rotation is not supported"):
        check_no_ca_rotation(cluster, {"CAConfig": {
            "SigningCACert": other.cert_pem.decode(), "SigningCAKey": other.key_pem.decode()}})
    with pytest.raises(InvalidArgument, match="ForceRotate cannot change"):
        check_no_ca_rotation(cluster, {"CAConfig": {"ForceRotate": 1}})


def test_swarm_init_flags_make_dockers_init_request(tmp_path) -> None:
    root = RootCA.create()
    (tmp_path / "ca.pem").write_bytes(root.cert_pem)
    (tmp_path / "ca.key").write_bytes(root.key_pem)
    args = build_parser().parse_args([
        "swarm", "init", "--default-addr-pool", "10.20.0.0/16", "--default-addr-pool",
        "10.30.0.0/16", "--default-addr-pool-mask-length", "26", "--data-path-port", "4789",
        "--ca-cert", str(tmp_path / "ca.pem"), "--ca-key", str(tmp_path / "ca.key")])
    body = init_request(args)
    assert body["DefaultAddrPool"] == ["10.20.0.0/16", "10.30.0.0/16"]
    assert (body["SubnetSize"], body["DataPathPort"]) == (26, 4789)
    assert body["Spec"]["CAConfig"]["SigningCACert"] == root.cert_pem.decode()
    plain = init_request(build_parser().parse_args(["swarm", "init"]))
    assert "DefaultAddrPool" not in plain and "CAConfig" not in plain["Spec"]
    with pytest.raises(SwarmletError, match="must be given together"):
        init_request(build_parser().parse_args(["swarm", "init", "--ca-key", "k"]))
    with pytest.raises(SwarmletError, match='invalid argument "x" for "--data-path-port"'):
        build_parser().parse_args(["swarm", "init", "--data-path-port", "x"])
