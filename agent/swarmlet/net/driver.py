"""Docker's remote network driver protocol (libnetwork's docs/remote.md), as this node's
overlay driver: what each call means for the overlays; the HTTP side is driver_server.py.

The calls for one container, in order: CreateEndpoint (with our endpoint option
`swarmlet.address`: the task's address), Join (before the container's process starts: make the
veth pair, hand dockerd the end to move in, give the gateway), then at its end Leave and
DeleteEndpoint (the pair goes). A container that is no task (`docker run --network` on an
attachable network) comes without that option: its address is asked of the manager then
(an attachment, given back at DeleteEndpoint). Networks themselves are made by the agent
(dockernet.py); CreateNetwork only records which overlay (VNI) a Docker network stands for.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from swarmlet.errors import SwarmletError
from swarmlet.net.names import OPT_ADDRESS, OPT_VNI, mac_of

log = logging.getLogger("swarmlet.net.driver")

GENERIC = "com.docker.network.generic"  # where `docker network create -o` options arrive


class DriverError(Exception):
    """Answered as {"Err": message}: dockerd fails the operation with that message."""


class Backend(Protocol):
    """What the driver needs of the node's dataplane."""

    def gateway(self, vni: int) -> str | None: ...          # node address (no prefix) or None
    def prefixlen(self, vni: int) -> int | None: ...
    def docker_network_vni(self, docker_id: str) -> int | None: ...
    def create_link(self, endpoint_id: str, vni: int, address: str) -> str: ...
    def delete_link(self, endpoint_id: str) -> None: ...
    def attach_endpoint(self, vni: int, endpoint_id: str) -> str: ...  # address, CIDR form


@dataclass(frozen=True)
class Endpoint:
    vni: int
    address: str  # CIDR
    created: float


class NetworkDriver:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._networks: dict[str, int] = {}  # Docker network ID → VNI
        self._endpoints: dict[str, Endpoint] = {}
        self._lock = threading.Lock()
        self._calls: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "Plugin.Activate": lambda _b: {"Implements": ["NetworkDriver"]},
            "NetworkDriver.GetCapabilities": lambda _b: {"Scope": "local",
                                                         "ConnectivityScope": "local"},
            "NetworkDriver.CreateNetwork": self.create_network,
            "NetworkDriver.DeleteNetwork": self.delete_network,
            "NetworkDriver.AllocateNetwork": lambda _b: {},
            "NetworkDriver.FreeNetwork": lambda _b: {},
            "NetworkDriver.CreateEndpoint": self.create_endpoint,
            "NetworkDriver.EndpointOperInfo": lambda _b: {"Value": {}},
            "NetworkDriver.DeleteEndpoint": self.delete_endpoint,
            "NetworkDriver.Join": self.join,
            "NetworkDriver.Leave": lambda _b: {},  # the pair goes at DeleteEndpoint
            "NetworkDriver.ProgramExternalConnectivity": lambda _b: {},
            "NetworkDriver.RevokeExternalConnectivity": lambda _b: {},
            "NetworkDriver.DiscoverNew": lambda _b: {},
            "NetworkDriver.DiscoverDelete": lambda _b: {},
        }

    def knows(self, method: str) -> bool:
        return method in self._calls

    def call(self, method: str, body: dict[str, Any] | None) -> dict[str, Any]:
        """One protocol call; raises KeyError for an unknown method, DriverError on failure."""
        handler = self._calls[method]
        try:
            return handler(body or {})
        except DriverError:
            raise
        except SwarmletError as exc:
            raise DriverError(str(exc)) from exc

    # --- networks ---------------------------------------------------------------------------

    def create_network(self, body: dict[str, Any]) -> dict[str, Any]:
        generic = (body.get("Options") or {}).get(GENERIC) or {}
        text = str(generic.get(OPT_VNI, ""))
        if not text.isdigit():
            raise DriverError("swarmlet networks are made by the swarmlet agent for swarm "
                              f"overlay networks (option {OPT_VNI} missing)")
        with self._lock:
            self._networks[body["NetworkID"]] = int(text)
        return {}

    def delete_network(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._networks.pop(body.get("NetworkID", ""), None)
        return {}

    def _vni(self, docker_id: str) -> int:
        with self._lock:
            vni = self._networks.get(docker_id)
        if vni is None:  # made before this agent (re)started: ask dockerd
            vni = self.backend.docker_network_vni(docker_id)
            if vni is None:
                raise DriverError(f"network {docker_id[:12]} is not a swarmlet overlay")
            with self._lock:
                self._networks[docker_id] = vni
        return vni

    # --- endpoints --------------------------------------------------------------------------

    def create_endpoint(self, body: dict[str, Any]) -> dict[str, Any]:
        vni = self._vni(body.get("NetworkID", ""))
        given = body.get("Interface") or {}
        text = (body.get("Options") or {}).get(OPT_ADDRESS) or given.get("Address")
        if not text:  # a container that is no task: an attachment
            text = self.backend.attach_endpoint(vni, body["EndpointID"])
        address = self._address(vni, text)
        with self._lock:
            self._endpoints[body["EndpointID"]] = Endpoint(vni, address, time.monotonic())
        # Only what dockerd did not set may be answered (it refuses a changed field).
        answer: dict[str, str] = {}
        if not given.get("Address"):
            answer["Address"] = address
        if not given.get("MacAddress"):
            answer["MacAddress"] = mac_of(address)
        return {"Interface": answer} if answer else {}

    def has_endpoint(self, endpoint_id: str) -> bool:
        with self._lock:
            return endpoint_id in self._endpoints

    def _address(self, vni: int, text: str) -> str:
        prefixlen = self.backend.prefixlen(vni)
        if prefixlen is None:
            raise DriverError(f"overlay {vni} is not set up on this node")
        try:
            iface = ipaddress.IPv4Interface(text if "/" in text else f"{text}/{prefixlen}")
        except ValueError as exc:
            raise DriverError(f"swarmlet: bad endpoint address {text!r}") from exc
        if str(iface.ip) == self.backend.gateway(vni):
            raise DriverError(f"swarmlet: {iface.ip} is this node's own address on the network")
        return str(iface)

    def join(self, body: dict[str, Any]) -> dict[str, Any]:
        endpoint_id = body.get("EndpointID", "")
        with self._lock:
            endpoint = self._endpoints.get(endpoint_id)
        if endpoint is None:
            raise DriverError(f"swarmlet: unknown endpoint {endpoint_id[:12]} (the agent "
                              "restarted between its creation and its join?)")
        gateway = self.backend.gateway(endpoint.vni)
        if gateway is None:
            raise DriverError(f"overlay {endpoint.vni} is not set up on this node")
        name = self.backend.create_link(endpoint_id, endpoint.vni, endpoint.address)
        log.debug("endpoint %s joined overlay %s as %s (%.1f ms after its creation)",
                  endpoint_id[:12], endpoint.vni, endpoint.address,
                  (time.monotonic() - endpoint.created) * 1000)
        # A gateway of our own keeps dockerd from adding docker_gwbridge (its egress path).
        return {"InterfaceName": {"SrcName": name, "DstPrefix": "eth"},
                "Gateway": gateway, "StaticRoutes": [], "DisableGatewayService": True}

    def delete_endpoint(self, body: dict[str, Any]) -> dict[str, Any]:
        endpoint_id = body.get("EndpointID", "")
        with self._lock:
            self._endpoints.pop(endpoint_id, None)
        self.backend.delete_link(endpoint_id)
        return {}
