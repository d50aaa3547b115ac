"""The control API's network rules, pure: network creation (subnets, gateways, VNIs, names),
a service's networks and endpoint, published port conflicts, with Docker's messages."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from swarmlet.errors import DomainError
from swarmlet.manager.controlapi.networks import build_network, ingress_network
from swarmlet.manager.controlapi.service_networks import check_service_networks
from swarmlet.net import ipsec
from swarmlet.spec.errors import SpecError
from swarmlet.spec.service import normalise_spec

HOST = [IPv4Network("198.18.0.0/24"), IPv4Network("10.255.255.53/32")]


def message(func, *args, **kwargs) -> str:
    with pytest.raises(DomainError) as exc:
        func(*args, **kwargs)
    return exc.value.message


def stored(network: dict, index: int = 1) -> dict:
    return {**network, "Version": {"Index": index}, "CreatedAt": "t"}


@pytest.fixture
def existing() -> list[dict]:
    ingress = stored(ingress_network(HOST))
    backend = stored(build_network({"Name": "backend"}, [ingress], HOST))
    return [ingress, backend]


def test_ingress_is_10_0_0_0_24_vni_4096(existing):
    ingress = existing[0]
    assert ingress["Spec"]["Name"] == "ingress" and ingress["Spec"]["Ingress"] is True
    assert ingress["IPAM"]["Configs"] == [{"Subnet": "10.0.0.0/24", "Gateway": "10.0.0.1"}]
    assert ingress["DriverState"] == {
        "Name": "overlay", "Options": {"com.docker.network.driver.overlay.vxlanid_list": "4096"}}


def test_networks_get_the_next_subnet_and_vni(existing):
    backend = existing[1]
    assert backend["IPAM"]["Configs"] == [{"Subnet": "10.0.1.0/24", "Gateway": "10.0.1.1"}]
    assert backend["Spec"]["IPAMOptions"]["Configs"] == backend["IPAM"]["Configs"]
    assert backend["DriverState"]["Options"][
        "com.docker.network.driver.overlay.vxlanid_list"] == "4097"
    assert backend["Spec"]["DriverConfiguration"] == {"Name": "overlay"}
    assert len(backend["ID"]) == 25


def test_host_routes_are_skipped_for_automatic_subnets(existing):
    third = build_network({"Name": "third"}, existing, [IPv4Network("10.0.2.0/23")])
    assert third["IPAM"]["Configs"][0]["Subnet"] == "10.0.4.0/24"


def test_a_given_subnet_and_gateway(existing):
    net = build_network({"Name": "mine", "Attachable": True, "Labels": {"a": "b"},
                         "IPAMOptions": {"Configs": [{"Subnet": "10.9.0.0/16",
                                                      "Gateway": "10.9.0.254"}]}},
                        existing, HOST)
    assert net["IPAM"]["Configs"] == [{"Subnet": "10.9.0.0/16", "Gateway": "10.9.0.254"}]
    assert net["Spec"]["Attachable"] is True and net["Spec"]["Labels"] == {"a": "b"}


@pytest.mark.parametrize(("extra", "refusal"), [
    ({"Internal": True}, "internal networks are not supported"),
    ({"IPv6Enabled": True}, "IPv6 is not supported"),
    ({"IPAMOptions": {"Configs": [{"Subnet": "10.9.0.0/16", "Range": "10.9.1.0/24"}]}},
     "ipam configuration: an ip-range other than the whole subnet is not supported"),
])
def test_settings_swarmlet_lacks_are_refused_not_dropped(existing, extra, refusal):
    assert message(build_network, {"Name": "mine", **extra}, existing, HOST).startswith(refusal)


def test_settings_that_ask_for_nothing_are_accepted(existing):
    net = build_network({"Name": "mine", "Internal": False, "IPv6Enabled": False,
                         "IPAMOptions": {"Configs": [{"Subnet": "10.9.0.0/16",
                                                      "Range": "10.9.0.0/16"}]}},
                        existing, HOST)
    assert net["IPAM"]["Configs"] == [{"Subnet": "10.9.0.0/16", "Gateway": "10.9.0.1"}]


@pytest.mark.parametrize("value", ["", "true", "false", "1"])
def test_an_encrypted_overlay_is_refused_naming_the_network_and_the_kernel(existing, value,
                                                                            monkeypatch):
    monkeypatch.setattr(ipsec, "missing_esp_support", lambda: ("esp4", "rfc4106(gcm(aes))"))
    monkeypatch.setattr(ipsec, "kernel_release", lambda: "6.18.44")
    spec = {"Name": "secure", "DriverConfiguration": {"Options": {"encrypted": value}}}
    with pytest.raises(SpecError) as refused:
        build_network(spec, existing, HOST)
    assert refused.value.message == (
        "network secure: --opt encrypted needs IPsec ESP (XFRM, esp4 and rfc4106(gcm(aes)) in "
        "the kernel), which this swarm's kernel lacks (Linux 6.18.44 on this manager has no "
        "esp4, rfc4106(gcm(aes))): refused rather than left unencrypted")
    assert refused.value.field == "DriverConfiguration.Options"


def test_an_encrypted_overlay_is_refused_on_a_kernel_with_esp_too(existing, monkeypatch):
    monkeypatch.setattr(ipsec, "missing_esp_support", lambda: ())
    spec = {"Name": "secure", "DriverConfiguration": {"Name": "overlay",
                                                      "Options": {"encrypted": "true"}}}
    text = message(build_network, spec, existing, HOST)
    assert text.startswith("network secure: --opt encrypted: swarmlet does not program IPsec "
                           "between nodes yet")
    assert text.endswith("refused rather than left unencrypted")


def test_other_driver_options_are_kept_in_the_spec(existing):
    options = {"com.docker.network.driver.mtu": "1400"}
    net = build_network({"Name": "opts", "DriverConfiguration": {"Options": options}},
                        existing, HOST)
    assert net["Spec"]["DriverConfiguration"] == {"Name": "overlay", "Options": options}


@pytest.mark.parametrize(("spec", "expected"), [
    ({"Name": "x", "DriverConfiguration": {"Name": "bridge"}},
     "only overlay driver is currently supported"),
    ({"Name": "backend"}, "network with name backend already exists"),
    ({"Name": "BACKEND"}, "network with name BACKEND already exists"),
    ({"Name": "x", "IPAMOptions": {"Configs": [{"Subnet": "10.0.1.128/25"}]}},
     "Pool overlaps with other one on this address space"),
    ({"Name": "x", "IPAMOptions": {"Configs": [{"Subnet": "10.0.0.0/8"}]}},
     "Pool overlaps with other one on this address space"),
    ({"Name": "x", "IPAMOptions": {"Configs": [{"Subnet": "10.9.0.0/16",
                                                "Gateway": "10.8.0.1"}]}},
     "ipam configuration: subnet 10.9.0.0/16 does not contain gateway 10.8.0.1"),
    ({"Name": "x", "IPAMOptions": {"Configs": [{"Subnet": "10.9.0.0/31"}]}},
     "ipam configuration: subnet 10.9.0.0/31 is too small"),
    ({"Name": "x", "IPAMOptions": {"Configs": [{"Subnet": "banana"}]}},
     "ipam configuration: invalid subnet banana"),
    ({"Name": "x", "IPAMOptions": {"Configs": [{"Gateway": "10.9.0.1"}]}},
     "ipam configuration: invalid subnet "),
    ({"Name": ""}, "meta: name must be provided"),
    ({"Name": "bad name"}, "name must be valid as a DNS name component"),
    ({"Name": "x", "Ingress": True}, None),
    ({"Name": "x", "Ingress": True, "Attachable": True}, "ingress network cannot be attachable"),
])
def test_refusals(existing, spec, expected):
    if expected is None:  # a second ingress network
        assert message(build_network, spec, existing, HOST).startswith(
            f"ingress network ({existing[0]['ID']}) is already present")
    else:
        assert message(build_network, spec, existing, HOST) == expected


def spec(networks=(), ports=None, mode=None) -> dict:
    raw: dict = {"Name": "web", "TaskTemplate": {"ContainerSpec": {"Image": "img"},
                                                  "Networks": [{"Target": n}
                                                               for n in networks]}}
    if ports is not None or mode is not None:
        raw["EndpointSpec"] = {"Mode": mode or "vip", "Ports": ports or []}
    return normalise_spec(raw)


def test_endpoint_defaults_and_network_refs_are_normalised():
    s = spec(["backend"], [{"TargetPort": 80}])
    assert s["EndpointSpec"] == {"Mode": "vip", "Ports": [
        {"TargetPort": 80, "Protocol": "tcp", "PublishMode": "ingress"}]}
    assert s["TaskTemplate"]["Networks"] == [{"Target": "backend", "Aliases": []}]
    assert spec()["EndpointSpec"] == {"Mode": "vip"}
    assert "Networks" not in spec()["TaskTemplate"]


@pytest.mark.parametrize(("ports", "mode", "expected"), [
    ([{"TargetPort": 80}], "dnsrr",
     "EndpointSpec: port published with ingress mode can't be used with dnsrr mode"),
    ([{"TargetPort": 80, "PublishedPort": 8080}, {"TargetPort": 81, "PublishedPort": 8080}],
     None, "EndpointSpec: duplicate published ports provided"),
    ([], "rr", 'invalid resolution mode: "rr"'),
    ([{"TargetPort": 80, "Protocol": "icmp"}], None, 'invalid protocol: "icmp"'),
])
def test_endpoint_refusals(ports, mode, expected):
    assert message(spec, ports=ports, mode=mode) == expected


def test_dnsrr_with_host_ports_and_same_port_other_protocol_are_fine():
    spec(ports=[{"TargetPort": 80, "PublishMode": "host", "PublishedPort": 80}], mode="dnsrr")
    spec(ports=[{"TargetPort": 53, "PublishedPort": 53},
                {"TargetPort": 53, "PublishedPort": 53, "Protocol": "udp"}])


def test_service_networks_become_ids_and_unknown_or_ingress_are_refused(existing):
    _, backend = existing
    checked = check_service_networks(spec(["backend", backend["ID"]]), existing, [])
    assert checked["TaskTemplate"]["Networks"] == [{"Target": backend["ID"], "Aliases": []}]
    assert message(check_service_networks, spec(["nope"]), existing, []) == \
        "network nope not found"
    assert message(check_service_networks, spec(["ingress"]), existing, []) == \
        'Service cannot be explicitly attached to the ingress network "ingress"'
    assert message(check_service_networks, spec(ports=[{"TargetPort": 80}]), [backend], []) \
        == "service needs ingress network, but no ingress network is present"


def other_service(ports: list[dict], allocated: list[dict] | None = None) -> dict:
    svc = {"ID": "other0000000000000000000", "Spec": spec(ports=ports)}
    svc["Spec"]["Name"] = "other"
    if allocated is not None:
        svc["Endpoint"] = {"Ports": allocated}
    return svc


def test_published_port_conflicts_with_dockers_messages(existing):
    taken = other_service([{"TargetPort": 80, "PublishedPort": 8080}])
    assert message(check_service_networks,
                   spec(ports=[{"TargetPort": 80, "PublishedPort": 8080}]), existing,
                   [taken]) == ("port '8080' is already in use by service 'other' "
                                "(other0000000000000000000) as an ingress port")
    dynamic = other_service([{"TargetPort": 80}],
                            [{"TargetPort": 80, "PublishedPort": 30000, "Protocol": "tcp",
                              "PublishMode": "ingress"}])
    assert "port '30000' is already in use" in message(
        check_service_networks, spec(ports=[{"TargetPort": 80, "PublishedPort": 30000}]),
        existing, [dynamic])
    host = other_service([{"TargetPort": 80, "PublishedPort": 8080, "PublishMode": "host"}])
    assert message(check_service_networks,
                   spec(ports=[{"TargetPort": 80, "PublishedPort": 8080}]), existing,
                   [host]) == ("port '8080' is already in use by service 'other' "
                               "(other0000000000000000000) as a host-published port")
    # Host mode beside host mode, and another protocol, are fine; so is the service itself.
    check_service_networks(spec(ports=[{"TargetPort": 80, "PublishedPort": 8080,
                                        "PublishMode": "host"}]), existing, [host])
    check_service_networks(spec(ports=[{"TargetPort": 80, "PublishedPort": 8080,
                                        "Protocol": "udp"}]), existing, [taken])
    check_service_networks(spec(ports=[{"TargetPort": 80, "PublishedPort": 8080}]),
                           existing, [taken], service=taken)
