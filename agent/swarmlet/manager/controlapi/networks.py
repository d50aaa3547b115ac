"""The control API for networks: Docker's /networks endpoints over the store, with SwarmKit's
validation and Docker's messages.

A network gets its subnet and VXLAN ID here, when it is created. Two managers may create
networks at the same moment: each write carries the cluster object at the version it was
read with, so of two creations made from the same view only one commits and the other
chooses again (no two networks ever get one subnet or one VNI).
"""

from __future__ import annotations

import re
import time
from ipaddress import IPv4Network
from typing import Any, NamedTuple

from swarmlet.errors import Conflict, InvalidArgument, NotFound
from swarmlet.manager import tasks as T
from swarmlet.manager.allocator import ipam
from swarmlet.manager.allocator import network_objects as N
from swarmlet.manager.controlapi.host_networks import host_networks
from swarmlet.manager.controlapi.plan import spec_plan
from swarmlet.manager.controlapi.references import resolve
from swarmlet.manager.dispatcher import attachments as NA
from swarmlet.manager.manager import Manager
from swarmlet.net import ipsec
from swarmlet.net.names import DEFAULT_VXLAN_PORT
from swarmlet.spec.network import check_driver_options
from swarmlet.store.objects import new_id
from swarmlet.store.state import StoreError

Obj = dict[str, Any]
_NAME = re.compile(r"^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$")  # SwarmKit's isValidDNSName
ATTEMPTS = 5
RETRY_PAUSE = 0.05


def check_name(name: Any) -> str:
    """SwarmKit's validateAnnotations."""
    if not name or not isinstance(name, str):
        raise InvalidArgument("meta: name must be provided")
    if not _NAME.match(name):
        raise InvalidArgument("name must be valid as a DNS name component")
    if len(name) > 63:
        raise InvalidArgument("name must be 63 characters or fewer")
    return name


def subnets_of(networks: list[Obj]) -> list[IPv4Network]:
    found = []
    for network in networks:
        config = ipam.network_config(network)
        if config is not None:
            found.append(config[0])
    return found


class NetworkDefaults(NamedTuple):
    """What `swarm init` set for the swarm's new overlay networks."""

    pools: list[str]  # DefaultAddrPool
    size: int  # SubnetSize
    port: int = DEFAULT_VXLAN_PORT  # DataPathPort


def network_defaults(cluster: Obj | None) -> NetworkDefaults:
    """The swarm's default address pools, subnet size and data path port (given at init)."""
    cluster = cluster or {}
    return NetworkDefaults(list(cluster.get("DefaultAddrPool") or [ipam.DEFAULT_POOL]),
                           int(cluster.get("SubnetSize") or ipam.SUBNET_SIZE),
                           int(cluster.get("DataPathPort") or DEFAULT_VXLAN_PORT))


def build_network(spec: Any, existing: list[Obj], host: list[IPv4Network] | None = None,
                  network_id: str | None = None,
                  defaults: NetworkDefaults | None = None) -> Obj:
    """A new network object for `spec` (a NetworkSpec), given the networks there are:
    checked, with a subnet (the one asked for, else the lowest free one of the swarm's
    pools, by default /24s of 10.0.0.0/8), the lowest free VNI and the swarm's data path
    port (`defaults`). `host`: the host's routes and resolvers (read when None and a
    subnet has to be chosen)."""
    defaults = defaults or network_defaults(None)
    if not isinstance(spec, dict):
        raise InvalidArgument("network spec must be a JSON object")
    name = check_name(spec.get("Name"))
    driver = (spec.get("DriverConfiguration") or {}).get("Name") or N.OVERLAY
    if driver != N.OVERLAY:
        raise InvalidArgument("only overlay driver is currently supported")
    check_driver_options(spec, ipsec.missing_esp_support(), ipsec.kernel_release())
    options = (spec.get("DriverConfiguration") or {}).get("Options") or {}
    ingress, attachable = bool(spec.get("Ingress")), bool(spec.get("Attachable"))
    if ingress and attachable:
        raise InvalidArgument("ingress network cannot be attachable")
    _refuse_unsupported(spec)
    labels = spec.get("Labels") or {}
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise InvalidArgument("Labels must be a mapping of strings")
    if any(n["Spec"].get("Name", "").lower() == name.lower() for n in existing):
        raise Conflict(f"network with name {name} already exists")
    if ingress and (other := N.find_ingress({n["ID"]: n for n in existing})) is not None:
        raise Conflict(f"ingress network ({other['ID']}) is already present")

    configs = (spec.get("IPAMOptions") or {}).get("Configs") or []
    if len(configs) > 1:
        raise InvalidArgument("ipam configuration: only one IPv4 subnet per network is supported")
    config = configs[0] if configs else {}
    in_use = subnets_of(existing)
    try:
        if config.get("Subnet"):
            subnet = ipam.parse_subnet(config["Subnet"])
            if subnet.prefixlen > 30:  # no room for a gateway and an address
                raise ipam.IpamError(f"ipam configuration: subnet {subnet} is too small")
            if ipam.overlapping(subnet, in_use) is not None:
                raise ipam.IpamError(ipam.POOL_OVERLAP)
        elif config.get("Gateway"):
            raise ipam.IpamError("ipam configuration: invalid subnet ")
        else:
            subnet = ipam.pick_subnet(in_use, host_networks() if host is None else host,
                                      defaults.pools, defaults.size)
        gateway = (ipam.parse_gateway(config["Gateway"], subnet) if config.get("Gateway")
                   else ipam.default_gateway(subnet))
        vni = ipam.pick_vni(v for n in existing if (v := N.vni_of(n)) is not None)
    except ipam.IpamError as exc:
        raise InvalidArgument(str(exc)) from None
    return N.new_network(network_id or new_id(), name, subnet, gateway, vni, labels,
                         attachable, ingress, options, port=defaults.port)


def _refuse_unsupported(spec: Obj) -> None:
    """Settings Docker has and swarmlet's overlays do not: refused, never a network other
    than the one asked for (`false` and a range equal to the subnet ask for nothing)."""
    if spec.get("Internal"):
        raise InvalidArgument("internal networks are not supported: swarmlet's overlay "
                              "networks always reach out through their nodes")
    if spec.get("IPv6Enabled"):
        raise InvalidArgument("IPv6 is not supported: swarmlet's overlay networks are IPv4 only")
    for config in (spec.get("IPAMOptions") or {}).get("Configs") or []:
        if isinstance(config, dict) and config.get("Range") not in (None, "",
                                                                     config.get("Subnet")):
            raise InvalidArgument("ipam configuration: an ip-range other than the whole subnet "
                                  "is not supported: swarmlet's managers allocate from the "
                                  "whole subnet")


def ingress_network(host: list[IPv4Network], defaults: NetworkDefaults | None = None) -> Obj:
    """The `ingress` network `swarm init` makes: 10.0.0.0/24 (the first subnet of the
    default pool, unless the host already uses it), VNI 4096."""
    spec = {"Name": N.INGRESS_NAME, "Ingress": True, "Labels": {}}
    return build_network(spec, [], host, defaults=defaults)


class NetworkAPI:
    def __init__(self, manager: Manager) -> None:
        self.manager = manager
        self.store = manager.store

    def create(self, spec: Any, dry_run: bool = False) -> dict[str, Any]:
        self.manager.require_quorum()
        host = host_networks()
        if dry_run:  # the network as it would be made: its subnet, gateway and VNI
            network = build_network(spec, self.store.list("network"), host,
                                    defaults=network_defaults(self.manager.cluster()))
            return spec_plan("network", "create", "", {}, network)
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(RETRY_PAUSE * attempt)  # a follower's replica catching up
            cluster = self.manager.cluster()
            network = build_network(spec, self.store.list("network"), host,
                                    defaults=network_defaults(cluster))
            # The cluster object, unchanged, as a guard: a concurrent creation commits first
            # and this write fails with a conflict instead of taking the same subnet.
            try:
                self.store.write([{"op": "update", "kind": "cluster", "object": cluster},
                                  {"op": "create", "kind": "network", "object": network}])
            except StoreError as exc:
                if exc.code == "conflict":
                    continue
                if exc.code == "name_conflict":
                    raise Conflict(f"network with name {spec['Name']} already exists"
                                   ) from None
                raise
            return {"ID": network["ID"]}
        raise Conflict("update out of sequence")

    def list(self) -> list[Obj]:
        self.manager.require_quorum()
        return self.store.list("network")

    def resolve(self, ref: str) -> Obj:
        """A network by ID, name or unique ID prefix, as Docker resolves NETWORK."""
        self.manager.require_quorum()
        return resolve(self.store, "network", ref)

    def remove(self, ref: str, dry_run: bool = False) -> dict[str, Any] | None:
        """`dry_run`: the checks, then the plan of the removal (nothing written)."""
        network = self.resolve(ref)
        services = self.store.list("service")
        if N.is_ingress(network):
            for service in services:
                if N.needs_ingress(service["Spec"].get("EndpointSpec")):
                    raise InvalidArgument("ingress network cannot be removed because service "
                                        f"{service['ID']} depends on it")
        else:
            self._check_unused(network["ID"], services)
        if dry_run:
            return spec_plan("network", "remove", network["ID"], network["Spec"], {})
        try:
            self.store.write([{"op": "delete", "kind": "network", "id": network["ID"],
                               "version": network["Version"]["Index"]}])
        except StoreError as exc:
            if exc.code == "not_found":
                raise NotFound(f"network {ref} not found") from None
            raise
        return None

    def _check_unused(self, network_id: str, services: list[Obj]) -> None:
        """SwarmKit's removeNetwork: no service may refer to it, nor a task still meant to
        run (the tasks of a removed service do not count), nor a container attached to it."""
        users = N.services_using(network_id, services)
        if users:
            raise InvalidArgument(f"network {network_id} is in use by service {users[0]['ID']}")
        for task in self.store.list("task"):
            if T.is_active(task) and network_id in N.spec_network_ids(task.get("Spec")):
                raise InvalidArgument(f"network {network_id} is in use by task {task['ID']}")
        for attachment in NA.on_network(network_id, self.store.list(NA.KIND)):
            node = self.store.get("node", attachment.get("NodeID", "")) or {}
            host = (node.get("Description") or {}).get("Hostname") or attachment.get("NodeID")
            raise InvalidArgument(f"network {network_id} is in use by container endpoint "
                                f"{attachment.get('EndpointID', '')[:12]} on node {host}")
