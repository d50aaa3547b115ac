"""`swarmlet network ...` and the network/port flags of `service create/update` (a fake
client, no cluster)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network

import pytest

from swarmlet.cli import network as network_cli
from swarmlet.cli import service_format as fmt
from swarmlet.cli.main import build_parser, main
from swarmlet.cli.service_net import parse_network, update_ports
from swarmlet.cli.service_spec import spec_from_create_args
from swarmlet.cli.service_update import updated_spec
from swarmlet.client import ApiResponseError
from swarmlet.errors import SwarmletError
from swarmlet.manager.allocator.network_objects import new_network

NET_ID = "abcdef0123456789abcdefghi"
INGRESS_ID = "ingress0123456789abcdefgh"


def stored(network: dict) -> dict:
    return {**network, "Version": {"Index": 3}, "CreatedAt": "2026-01-01T00:00:00.0Z"}


BACKEND = stored(new_network(NET_ID, "backend", IPv4Network("10.0.1.0/24"),
                             IPv4Address("10.0.1.1"), 4097, {"env": "prod"}, attachable=True))
INGRESS = stored(new_network(INGRESS_ID, "ingress", IPv4Network("10.0.0.0/24"),
                             IPv4Address("10.0.0.1"), 4096, ingress=True))


class FakeClient:
    requests: list = []
    networks = {"backend": BACKEND, NET_ID: BACKEND, "ingress": INGRESS}

    def __init__(self, host=None) -> None:
        pass

    def get(self, path, **query):
        FakeClient.requests.append(("GET", path))
        if path == "/networks":
            return [BACKEND, INGRESS]
        ref = path.rsplit("/", 1)[1]
        if ref not in self.networks:
            raise ApiResponseError(404, f"network {ref} not found")
        return self.networks[ref]

    def post(self, path, body=None, **query):
        FakeClient.requests.append(("POST", path, body))
        return {"ID": NET_ID}

    def delete(self, path, **query):
        FakeClient.requests.append(("DELETE", path))
        if path.endswith("/busy"):
            raise ApiResponseError(400, "network x is in use by service y")


@pytest.fixture(autouse=True)
def fake(monkeypatch):
    FakeClient.requests = []
    monkeypatch.setattr(network_cli, "Client", FakeClient)


def create_args(*argv: str):
    return build_parser().parse_args(["network", "create", *argv])


def test_create_sends_a_network_spec_and_prints_the_id(capsys):
    assert main(["network", "create", "-d", "overlay", "--subnet", "10.9.0.0/16", "--gateway",
                 "10.9.0.254", "--attachable", "--label", "a=b", "backend"]) == 0
    assert capsys.readouterr().out == f"{NET_ID}\n"
    [(_, path, body)] = FakeClient.requests
    assert path == "/networks/create"
    assert body == {"Name": "backend", "Labels": {"a": "b"},
                    "DriverConfiguration": {"Name": "overlay"}, "Attachable": True,
                    "IPAMOptions": {"Driver": {"Name": "default"},
                                    "Configs": [{"Subnet": "10.9.0.0/16",
                                                 "Gateway": "10.9.0.254"}]}}


def test_create_defaults_and_cli_side_refusals():
    spec = network_cli.create_spec(create_args("plain"))
    assert spec == {"Name": "plain", "Labels": {}, "DriverConfiguration": {"Name": "overlay"},
                    "Attachable": False}
    with pytest.raises(SwarmletError, match="every ip-range or gateway must have a "):
        network_cli.create_spec(create_args("--gateway", "10.0.0.1", "x"))


def test_driver_options_go_in_the_spec_as_dockers_map():
    spec = network_cli.create_spec(create_args("-o", "encrypted", "--opt",
                                               "com.docker.network.driver.mtu=1400", "sec"))
    assert spec["DriverConfiguration"] == {
        "Name": "overlay", "Options": {"encrypted": "", "com.docker.network.driver.mtu": "1400"}}


def test_ls_table_json_and_quiet(capsys):
    main(["network", "ls"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert lines[1].split() == [NET_ID[:12], "backend", "overlay", "swarm"]
    assert lines[2].split() == [INGRESS_ID[:12], "ingress", "overlay", "swarm"]
    main(["network", "ls", "--format", "json"])
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert row["Name"] == "backend" and row["Scope"] == "swarm" and row["Labels"] == "env=prod"
    main(["network", "ls", "-q"])
    assert capsys.readouterr().out.split() == [NET_ID[:12], INGRESS_ID[:12]]


def test_inspect_prints_dockers_network_resource(capsys):
    assert main(["network", "inspect", "backend", "nope"]) == 1
    out, err = capsys.readouterr()
    [resource] = json.loads(out)
    assert resource["Name"] == "backend" and resource["Id"] == NET_ID
    assert resource["Scope"] == "swarm" and resource["Driver"] == "overlay"
    assert resource["IPAM"] == {"Driver": "default", "Options": None,
                                "Config": [{"Subnet": "10.0.1.0/24", "Gateway": "10.0.1.1"}]}
    assert resource["Attachable"] is True and resource["Ingress"] is False
    assert resource["Options"] == {"com.docker.network.driver.overlay.vxlanid_list": "4097"}
    assert resource["Labels"] == {"env": "prod"}
    assert err.strip() == "Error: No such network: nope"


def test_rm_prints_the_names_and_the_daemons_errors(capsys):
    assert main(["network", "rm", "backend", "busy"]) == 1
    out, err = capsys.readouterr()
    assert out == "backend\n"
    assert err.strip() == "Error response from daemon: network x is in use by service y"


# --- service flags ------------------------------------------------------------------------


def create_spec(*argv: str) -> dict:
    args = build_parser().parse_args(["service", "create", *argv])
    return spec_from_create_args(args, {}, resolve=lambda ref: f"id-{ref}")


def test_service_create_networks_resolved_with_aliases_and_endpoint_mode():
    spec = create_spec("--network", "backend", "--network", "name=front,alias=web,alias=www",
                       "--endpoint-mode", "dnsrr", "img")
    assert spec["TaskTemplate"]["Networks"] == [
        {"Target": "id-backend", "Aliases": []},
        {"Target": "id-front", "Aliases": ["web", "www"]}]
    assert spec["EndpointSpec"] == {"Mode": "dnsrr"}


def test_service_create_publish_both_syntaxes():
    spec = create_spec("-p", "8080:80", "--publish", "published=53,target=53,protocol=udp",
                       "-p", "80", "img")
    assert spec["EndpointSpec"] == {"Mode": "vip", "Ports": [
        {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080, "PublishMode": "ingress"},
        {"Protocol": "udp", "TargetPort": 53, "PublishedPort": 53, "PublishMode": "ingress"},
        {"Protocol": "tcp", "TargetPort": 80, "PublishMode": "ingress"}]}
    assert "EndpointSpec" not in create_spec("img")


@pytest.mark.parametrize(("value", "expected"), [
    ("name=", "invalid field name="),
    ("alias=x", "network name/id is not specified"),
    ("name=a,ip=1", "invalid field key ip"),
])
def test_network_flag_errors(value, expected):
    with pytest.raises(SwarmletError) as exc:
        parse_network(value)
    assert str(exc.value) == f'invalid argument "{value}" for "--network" flag: {expected}'


def current() -> dict:
    return {"Name": "web", "TaskTemplate": {"ContainerSpec": {"Image": "img"},
                                            "Networks": [{"Target": "id-a", "Aliases": []}]},
            "EndpointSpec": {"Mode": "vip", "Ports": [
                {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080,
                 "PublishMode": "ingress"}]}}


def update(*argv: str) -> dict:
    args = build_parser().parse_args(["service", "update", *argv, "web"])
    return updated_spec(current(), args, {}, resolve=lambda ref: f"id-{ref}")


def test_update_networks_rm_then_add_sorted_by_id():
    spec = update("--network-add", "c", "--network-add", "name=b,alias=x", "--network-rm", "a")
    assert spec["TaskTemplate"]["Networks"] == [{"Target": "id-b", "Aliases": ["x"]},
                                                {"Target": "id-c", "Aliases": []}]
    with pytest.raises(SwarmletError, match="service is already attached to network a"):
        update("--network-add", "a")


def test_update_publish_add_rm_by_target_port():
    spec = update("--publish-add", "9090:90", "--publish-rm", "80")
    assert spec["EndpointSpec"]["Ports"] == [
        {"Protocol": "tcp", "TargetPort": 90, "PublishedPort": 9090, "PublishMode": "ingress"}]
    assert "Ports" not in update("--publish-rm", "80")["EndpointSpec"]
    assert update("--endpoint-mode", "dnsrr", "--publish-rm", "80")["EndpointSpec"] == {
        "Mode": "dnsrr"}
    same = {"Ports": [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080,
                       "PublishMode": "ingress"}]}
    update_ports(same, ["8080:80"], [])
    assert len(same["Ports"]) == 1


def test_ls_ports_column_and_ps_host_ports():
    service = {"ID": "s", "Spec": {"Name": "web", "Mode": {"Replicated": {"Replicas": 1}},
                                   "TaskTemplate": {"ContainerSpec": {"Image": "img"}}},
               "Endpoint": {"Ports": [{"Protocol": "tcp", "TargetPort": 80,
                                       "PublishedPort": 30000, "PublishMode": "ingress"}]}}
    assert fmt.service_row(service)["Ports"] == "*:30000->80/tcp"
    task = {"Status": {"State": "running"}, "Endpoint": {"Mode": "vip", "Ports": [
        {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8081, "PublishMode": "host"}]}}
    assert fmt.task_ports(task) == "*:8081->80/tcp"


def test_pretty_shows_networks_ports_and_vips():
    service = {"ID": "s", "Spec": {"Name": "web", "Mode": {"Replicated": {"Replicas": 1}},
                                   "TaskTemplate": {"ContainerSpec": {"Image": "img"},
                                                    "Networks": [{"Target": NET_ID}]},
                                   "EndpointSpec": {"Mode": "vip"}},
               "Endpoint": {"VirtualIPs": [{"NetworkID": NET_ID, "Addr": "10.0.1.2/24"}]}}
    text = fmt.pretty_service(service, datetime.now(UTC), {NET_ID: "backend"})
    assert "Networks: backend" in text.splitlines()
    assert "Endpoint Mode:\tvip" in text
    assert text.splitlines()[-2:] == ["Virtual IPs:", " backend: 10.0.1.2/24"]
