"""IPAM as pure functions: subnets from 10.0.0.0/8 around what the host and other networks
use, VNIs from 4096, addresses lowest first never the network, gateway or broadcast."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

from swarmlet.manager.allocator import ipam
from swarmlet.manager.controlapi.host_networks import parse_resolvers, parse_routes

RESOLVER = [IPv4Network("10.255.255.53/32")]


def net(text: str) -> IPv4Network:
    return IPv4Network(text)


def test_the_first_subnet_is_10_0_0_0_24():
    assert ipam.pick_subnet([], RESOLVER) == net("10.0.0.0/24")


def test_subnets_in_use_are_skipped_lowest_free_first():
    used = [net("10.0.0.0/24"), net("10.0.1.0/24"), net("10.0.3.0/24")]
    assert ipam.pick_subnet(used, []) == net("10.0.2.0/24")


def test_host_routes_and_resolvers_are_skipped_whatever_their_size():
    host = [net("10.0.0.0/23"), net("10.0.2.128/25"), *RESOLVER]
    assert ipam.pick_subnet([], host) == net("10.0.3.0/24")
    # A wide route (a /16 of the pool) pushes past all of it.
    assert ipam.pick_subnet([], [net("10.0.0.0/16")]) == net("10.1.0.0/24")


def test_the_resolver_subnet_is_never_chosen():
    everything_but_the_end = [net("10.0.0.0/9"), net("10.128.0.0/10"), net("10.192.0.0/11"),
                              net("10.224.0.0/12"), net("10.240.0.0/13"),
                              net("10.248.0.0/14"), net("10.252.0.0/15"),
                              net("10.254.0.0/16"), net("10.255.0.0/17"),
                              net("10.255.128.0/18"), net("10.255.192.0/19"),
                              net("10.255.224.0/20"), net("10.255.240.0/21"),
                              net("10.255.248.0/22"), net("10.255.252.0/23"),
                              net("10.255.254.0/24")]
    with pytest.raises(ipam.IpamError, match="non-overlapping IPv4 address pool"):
        ipam.pick_subnet(everything_but_the_end, RESOLVER)
    assert ipam.pick_subnet(everything_but_the_end, []) == net("10.255.255.0/24")


def test_a_full_pool_is_an_error():
    with pytest.raises(ipam.IpamError):
        ipam.pick_subnet([net("10.0.0.0/8")], [])


def test_vnis_start_at_4096_and_skip_those_in_use():
    assert ipam.pick_vni([]) == 4096
    assert ipam.pick_vni([4096, 4097, 4099]) == 4098


def test_addresses_skip_network_gateway_broadcast_and_in_use_lowest_first():
    subnet = net("10.0.1.0/24")
    pool = ipam.SubnetAddresses(subnet, IPv4Address("10.0.1.1"),
                                [IPv4Address("10.0.1.2"), IPv4Address("10.0.1.4")])
    assert [pool.allocate() for _ in range(3)] == ["10.0.1.3/24", "10.0.1.5/24", "10.0.1.6/24"]


def test_a_gateway_elsewhere_in_the_subnet_is_reserved_and_1_is_handed_out():
    pool = ipam.SubnetAddresses(net("10.0.9.0/24"), IPv4Address("10.0.9.254"))
    assert pool.allocate() == "10.0.9.1/24"
    addresses = [pool.allocate() for _ in range(252)]
    assert "10.0.9.254/24" not in addresses and "10.0.9.255/24" not in addresses
    with pytest.raises(ipam.IpamError, match="no addresses available"):
        pool.allocate()


def test_every_address_of_a_small_subnet_once():
    pool = ipam.SubnetAddresses(net("10.0.2.0/29"), IPv4Address("10.0.2.1"))
    got = [pool.allocate() for _ in range(5)]
    assert got == [f"10.0.2.{i}/29" for i in range(2, 7)]
    with pytest.raises(ipam.IpamError):
        pool.allocate()


def test_addresses_outside_the_subnet_do_not_count():
    pool = ipam.SubnetAddresses(net("10.0.1.0/24"), IPv4Address("10.0.1.1"),
                                [IPv4Address("10.0.2.2")])
    assert pool.allocate() == "10.0.1.2/24"


def test_subnet_and_gateway_parsing_with_docker_messages():
    assert ipam.parse_subnet("10.9.0.0/16") == net("10.9.0.0/16")
    with pytest.raises(ipam.IpamError) as exc:
        ipam.parse_subnet("10.9.0.1/16")
    assert str(exc.value) == "ipam configuration: invalid subnet 10.9.0.1/16"
    with pytest.raises(ipam.IpamError, match="invalid subnet nonsense"):
        ipam.parse_subnet("nonsense")
    assert ipam.parse_gateway("10.9.0.7", net("10.9.0.0/16")) == IPv4Address("10.9.0.7")
    with pytest.raises(ipam.IpamError) as exc:
        ipam.parse_gateway("10.8.0.1", net("10.9.0.0/16"))
    assert str(exc.value) == ("ipam configuration: subnet 10.9.0.0/16 does not contain "
                              "gateway 10.8.0.1")
    with pytest.raises(ipam.IpamError, match="invalid gateway x"):
        ipam.parse_gateway("x", net("10.9.0.0/16"))


def test_address_of_and_network_config():
    assert ipam.address_of("10.0.1.5/24") == IPv4Address("10.0.1.5")
    assert ipam.address_of("10.0.1.5") == IPv4Address("10.0.1.5")
    assert ipam.address_of("junk") is None
    network = {"IPAM": {"Configs": [{"Subnet": "10.0.4.0/24", "Gateway": "10.0.4.1"}]}}
    assert ipam.network_config(network) == (net("10.0.4.0/24"), IPv4Address("10.0.4.1"))
    assert ipam.network_config({}) is None


def test_host_routes_and_resolvers_are_parsed():
    routes = ('[{"dst":"default","gateway":"198.18.0.1"},{"dst":"198.18.0.0/24"},'
              '{"dst":"10.0.0.0/24","dev":"br0"},{"dst":"10.7.7.7"}]')
    assert parse_routes(routes) == [net("198.18.0.0/24"), net("10.0.0.0/24"),
                                    net("10.7.7.7/32")]
    assert parse_routes("garbage") == []
    resolv = "# comment\nnameserver 10.255.255.53\nnameserver ::1\nsearch example\n"
    assert parse_resolvers(resolv) == RESOLVER
