"""The Docker network driver: the remote protocol's calls against a fake dataplane, and its
HTTP server on a unix socket in a temporary directory (as dockerd would talk to it)."""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path

import pytest

from swarmlet.errors import SwarmletError
from swarmlet.net.driver import GENERIC, DriverError, NetworkDriver
from swarmlet.net.driver_server import DriverServer
from swarmlet.net.names import OPT_ADDRESS, OPT_VNI
from swarmlet.transport.threads import serve_in_thread

NET = "d0c" * 21 + "k"
EID = "e9" * 32


class FakeBackend:
    def __init__(self) -> None:
        self.links: dict[str, tuple[int, str]] = {}
        self.deleted: list[str] = []
        self.programmed = {4097: ("10.0.1.2", 24)}
        self.attachable: dict[int, str] = {}  # VNI → the address the manager gives
        self.attached: list[str] = []

    def gateway(self, vni: int) -> str | None:
        return self.programmed[vni][0] if vni in self.programmed else None

    def prefixlen(self, vni: int) -> int | None:
        return self.programmed[vni][1] if vni in self.programmed else None

    def docker_network_vni(self, docker_id: str) -> int | None:
        return 4097 if docker_id == "known-to-dockerd" else None

    def create_link(self, endpoint_id: str, vni: int, address: str) -> str:
        self.links[endpoint_id] = (vni, address)
        return "swc" + endpoint_id[:12]

    def delete_link(self, endpoint_id: str) -> None:
        self.deleted.append(endpoint_id)

    def attach_endpoint(self, vni: int, endpoint_id: str) -> str:
        if vni not in self.attachable:
            raise SwarmletError("swarmlet: this network is not attachable")
        self.attached.append(endpoint_id)
        return self.attachable[vni]


@pytest.fixture
def driver() -> NetworkDriver:
    d = NetworkDriver(FakeBackend())
    d.call("NetworkDriver.CreateNetwork", {"NetworkID": NET, "Options": {
        GENERIC: {OPT_VNI: "4097"}, "com.docker.network.enable_ipv6": False},
        "IPv4Data": [{"AddressSpace": "null", "Pool": "0.0.0.0/0"}]})
    return d


def test_handshake():
    d = NetworkDriver(FakeBackend())
    assert d.call("Plugin.Activate", None) == {"Implements": ["NetworkDriver"]}
    assert d.call("NetworkDriver.GetCapabilities", None)["Scope"] == "local"
    assert not d.knows("NetworkDriver.Bogus")


def test_a_container_from_endpoint_to_join_to_delete(driver):
    answer = driver.call("NetworkDriver.CreateEndpoint", {
        "NetworkID": NET, "EndpointID": EID, "Interface": {},
        "Options": {OPT_ADDRESS: "10.0.1.5/24", "com.docker.network.endpoint.exposedports": []}})
    assert answer == {"Interface": {"Address": "10.0.1.5/24", "MacAddress": "02:42:0a:00:01:05"}}
    joined = driver.call("NetworkDriver.Join", {"NetworkID": NET, "EndpointID": EID,
                                                "SandboxKey": "/var/run/docker/netns/x"})
    assert joined == {"InterfaceName": {"SrcName": "swc" + EID[:12], "DstPrefix": "eth"},
                      "Gateway": "10.0.1.2", "StaticRoutes": [],
                      "DisableGatewayService": True}
    assert driver.backend.links[EID] == (4097, "10.0.1.5/24")
    assert driver.call("NetworkDriver.Leave", {"NetworkID": NET, "EndpointID": EID}) == {}
    assert driver.call("NetworkDriver.DeleteEndpoint", {"NetworkID": NET, "EndpointID": EID}) == {}
    assert driver.backend.deleted == [EID]
    with pytest.raises(DriverError, match="unknown endpoint"):
        driver.call("NetworkDriver.Join", {"NetworkID": NET, "EndpointID": EID})


def test_address_without_prefix_takes_the_networks(driver):
    answer = driver.call("NetworkDriver.CreateEndpoint", {
        "NetworkID": NET, "EndpointID": EID, "Options": {OPT_ADDRESS: "10.0.1.7"}})
    assert answer["Interface"]["Address"] == "10.0.1.7/24"


def test_fields_dockerd_set_are_not_answered(driver):
    answer = driver.call("NetworkDriver.CreateEndpoint", {
        "NetworkID": NET, "EndpointID": EID,
        "Interface": {"Address": "10.0.1.8/24", "MacAddress": "02:42:0a:00:01:08"}})
    assert answer == {}


@pytest.mark.parametrize(("options", "message"), [
    ({}, "not attachable"),
    ({OPT_ADDRESS: "10.0.1.2/24"}, "this node's own address"),
    ({OPT_ADDRESS: "ten.0.1.9"}, "bad endpoint address"),
])
def test_bad_endpoints_are_refused(driver, options, message):
    with pytest.raises(DriverError, match=message):
        driver.call("NetworkDriver.CreateEndpoint",
                    {"NetworkID": NET, "EndpointID": EID, "Options": options})


def test_a_container_that_is_no_task_gets_its_address_from_the_manager(driver):
    """`docker run --network` on an attachable network: no address option; the backend
    asks the manager (an attachment) and the answer carries that address and its MAC."""
    driver.backend.attachable[4097] = "10.0.1.9/24"
    answer = driver.call("NetworkDriver.CreateEndpoint", {"NetworkID": NET, "EndpointID": EID})
    assert answer == {"Interface": {"Address": "10.0.1.9/24",
                                    "MacAddress": "02:42:0a:00:01:09"}}
    assert driver.backend.attached == [EID]
    assert driver.has_endpoint(EID)
    driver.call("NetworkDriver.DeleteEndpoint", {"NetworkID": NET, "EndpointID": EID})
    assert not driver.has_endpoint(EID)


def test_networks_are_the_agents_only(driver):
    with pytest.raises(DriverError, match="made by the swarmlet agent"):
        driver.call("NetworkDriver.CreateNetwork", {"NetworkID": "x", "Options": {}})
    with pytest.raises(DriverError, match="not a swarmlet overlay"):
        driver.call("NetworkDriver.CreateEndpoint", {"NetworkID": "unknown", "EndpointID": EID,
                                                     "Options": {OPT_ADDRESS: "10.0.1.5"}})


def test_a_network_made_before_a_restart_is_found_through_dockerd():
    d = NetworkDriver(FakeBackend())
    answer = d.call("NetworkDriver.CreateEndpoint", {
        "NetworkID": "known-to-dockerd", "EndpointID": EID, "Options": {OPT_ADDRESS: "10.0.1.9"}})
    assert answer["Interface"]["Address"] == "10.0.1.9/24"


def test_overlay_not_programmed_here(driver):
    driver.backend.programmed.clear()
    with pytest.raises(DriverError, match="not set up on this node"):
        driver.call("NetworkDriver.CreateEndpoint",
                    {"NetworkID": NET, "EndpointID": EID, "Options": {OPT_ADDRESS: "10.0.1.5"}})


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("plugin")
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(str(self.path))


def test_http_server_speaks_the_plugin_protocol(tmp_path, driver):
    path = tmp_path / "plugins" / "swarmlet-test.sock"
    server = DriverServer(path, driver)
    serve_in_thread(server, "test-driver")
    try:
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        conn = UnixConnection(path)  # one kept-alive connection, as dockerd's
        conn.request("POST", "/Plugin.Activate")
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type").startswith("application/vnd.docker.plugins")
        assert json.loads(response.read()) == {"Implements": ["NetworkDriver"]}
        conn.request("POST", "/NetworkDriver.CreateEndpoint", body=json.dumps(
            {"NetworkID": NET, "EndpointID": EID, "Options": {}}))
        response = conn.getresponse()
        assert response.status == 200
        assert "not attachable" in json.loads(response.read())["Err"]
        conn.request("POST", "/NetworkDriver.Nothing", body="{}")
        response = conn.getresponse()
        assert response.status == 404
        response.read()
        conn.close()
    finally:
        server.shutdown()
        server.server_close()
    assert not path.exists()
