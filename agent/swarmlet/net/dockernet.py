"""The Docker networks that stand for this node's overlays in the local Docker Engine.

One Docker network per overlay network, made with this node's own driver and the `null` IPAM
driver: several machines share one dockerd and the same overlay subnet, and dockerd's default
IPAM refuses overlapping pools, so the driver supplies each endpoint's address itself (from the
endpoint option `swarmlet.address`). Networks are found by driver name (unique per node) and
labelled with the swarm network's ID, so after a restart they are recognised, not duplicated.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from swarmlet.net.names import LABEL_MACHINE, LABEL_NETWORK_ID, OPT_VNI, docker_network_name
from swarmlet.transport.engine import Engine, EngineError, EngineNotFound

log = logging.getLogger("swarmlet.net.docker")


class NetworkIdentity(Protocol):
    """What names a Docker network: an OverlaySpec, or an AttachableNetwork (net/spec.py)."""

    @property
    def network_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def vni(self) -> int: ...


class DockerNetworks:
    def __init__(self, driver: str, machine: str | None) -> None:
        self.driver = driver
        self.machine = machine
        self._client: Engine | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Engine:
        with self._lock:
            if self._client is None:
                self._client = Engine(timeout=60)
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def name_for(self, spec: NetworkIdentity) -> str:
        return docker_network_name(self.machine, spec.name or spec.network_id)

    def ours(self) -> dict[str, dict[str, Any]]:
        """This node's Docker networks ({"Id", "Name", "Labels", "Options"}) by swarm network
        ID."""
        found = {}
        for net in self.client.networks({"driver": self.driver}):
            network_id = (net.get("Labels") or {}).get(LABEL_NETWORK_ID)
            if network_id:
                found[network_id] = net
        return found

    def ensure(self, spec: NetworkIdentity, ours: dict[str, dict[str, Any]] | None = None
               ) -> str:
        """The Docker network of an overlay, made if missing; returns its name. `ours`: what
        ours() returned, when the caller has just asked."""
        name = self.name_for(spec)
        existing = (self.ours() if ours is None else ours).get(spec.network_id)
        if existing is not None:
            if (existing["Name"] == name
                    and (existing.get("Options") or {}).get(OPT_VNI) == str(spec.vni)):
                return name
            self._remove(existing["Id"])
        for net in self.client.networks({"name": name}):
            if net.get("Name") == name and net.get("Driver") == self.driver:
                self._remove(net["Id"])  # a network of the same name that no longer exists
        labels = {LABEL_NETWORK_ID: spec.network_id}
        if self.machine:
            labels[LABEL_MACHINE] = self.machine
        self.client.create_network({"Name": name, "Driver": self.driver,
                                    "Options": {OPT_VNI: str(spec.vni)},
                                    "IPAM": {"Driver": "null", "Config": []},
                                    "Labels": labels, "CheckDuplicate": True})
        log.info("docker network %s made for overlay %s", name, spec.vni)
        return name

    def remove(self, network_id: str) -> bool:
        """Remove the Docker network of a swarm network. False while containers use it."""
        existing = self.ours().get(network_id)
        return True if existing is None else self._remove(existing["Id"])

    def _remove(self, docker_id: str) -> bool:
        try:
            self.client.remove_network(docker_id)
        except EngineNotFound:
            return True
        except EngineError as exc:  # "has active endpoints": a container still stops there
            if not exc.status:
                raise  # the engine is away
            log.info("docker network %s kept for now: %s", docker_id[:12], exc.explanation)
            return False
        log.info("docker network %s removed", docker_id[:12])
        return True

    def endpoint_ids(self) -> set[str]:
        """The endpoints dockerd has on this node's Docker networks (running containers)."""
        found = set()
        for net in self.ours().values():
            try:
                details = self.client.inspect_network(net["Id"])
            except EngineNotFound:
                continue
            found |= {c.get("EndpointID", "") for c in (details.get("Containers") or {}).values()}
        return found

    def vni_of(self, docker_id: str) -> int | None:
        """The overlay a Docker network stands for (the driver's view after a restart)."""
        try:
            net = self.client.inspect_network(docker_id)
        except EngineNotFound:
            return None
        text = (net.get("Options") or {}).get(OPT_VNI, "")
        return int(text) if str(text).isdigit() else None
