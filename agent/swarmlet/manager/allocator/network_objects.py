"""Network objects in Docker's (SwarmKit's) shape, and small queries over them and the
services and tasks that use them. Pure: no store, no I/O."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import Any

from swarmlet.manager import tasks as T
from swarmlet.net.names import DEFAULT_VXLAN_PORT, VXLAN_PORT_OPTION

Obj = dict[str, Any]
OVERLAY = "overlay"
VXLAN_OPTION = "com.docker.network.driver.overlay.vxlanid_list"
INGRESS_NAME = "ingress"


def new_network(network_id: str, name: str, subnet: IPv4Network, gateway: IPv4Address,
                vni: int, labels: dict[str, str] | None = None, attachable: bool = False,
                ingress: bool = False, options: dict[str, str] | None = None,
                port: int = DEFAULT_VXLAN_PORT) -> Obj:
    """`options`: the driver options as given, kept in the spec as Docker keeps them (the
    overlay uses none of them; `encrypted` never gets this far: spec/network.py). `port`:
    the swarm's data path port, noted in DriverState when it is not VXLAN's default."""
    config = {"Subnet": str(subnet), "Gateway": str(gateway)}
    driver: Obj = {"Name": OVERLAY, **({"Options": dict(options)} if options else {})}
    state = {VXLAN_OPTION: str(vni)}
    if port != DEFAULT_VXLAN_PORT:
        state[VXLAN_PORT_OPTION] = str(port)
    return {
        "ID": network_id,
        "Spec": {"Name": name, "Labels": dict(labels or {}),
                 "DriverConfiguration": driver,
                 "IPAMOptions": {"Driver": {"Name": "default"}, "Configs": [dict(config)]},
                 "Attachable": attachable, "Ingress": ingress},
        "DriverState": {"Name": OVERLAY, "Options": state},
        "IPAM": {"Driver": {"Name": "default"}, "Configs": [dict(config)]},
    }


def vni_of(network: Obj) -> int | None:
    raw = ((network.get("DriverState") or {}).get("Options") or {}).get(VXLAN_OPTION, "")
    first = str(raw).split(",")[0]
    return int(first) if first.isdigit() else None


def is_ingress(network: Obj) -> bool:
    return bool((network.get("Spec") or {}).get("Ingress"))


def find_ingress(networks: dict[str, Obj]) -> Obj | None:
    for network in networks.values():
        if is_ingress(network):
            return network
    return None


def attachment_copy(network: Obj) -> Obj:
    """What a task's NetworksAttachments entry carries of its network (the contract's
    "a copy of the network object"): enough for a node to build the network."""
    return {k: network[k] for k in ("ID", "Spec", "DriverState", "IPAM") if k in network}


def ingress_ports(endpoint_spec: Obj | None) -> list[Obj]:
    return [p for p in (endpoint_spec or {}).get("Ports") or []
            if p.get("PublishMode", "ingress") == "ingress"]


def host_ports(endpoint_spec: Obj | None) -> list[Obj]:
    return [p for p in (endpoint_spec or {}).get("Ports") or []
            if p.get("PublishMode", "ingress") == "host"]


def needs_ingress(endpoint_spec: Obj | None) -> bool:
    """SwarmKit's IsIngressNetworkNeeded: any port published in ingress mode."""
    return bool(ingress_ports(endpoint_spec))


def spec_network_ids(template: Obj | None) -> list[str]:
    """The network IDs of a task template (or task spec), in order, without repeats."""
    ids = [str(n.get("Target", "")) for n in (template or {}).get("Networks") or []]
    return list(dict.fromkeys(i for i in ids if i))


def task_network_ids(task: Obj, ingress_id: str | None) -> list[str]:
    """The networks a task is attached to: its spec's, plus ingress when its endpoint
    publishes a port in ingress mode (the task's own copy: during a rolling update the
    old tasks keep what they were made with), or in host mode with no network of its own
    (the address its node sends the port to: Docker's docker_gwbridge)."""
    ids = spec_network_ids(task.get("Spec"))
    endpoint = task.get("Endpoint")
    if ingress_id and ingress_id not in ids and (
            needs_ingress(endpoint) or (host_ports(endpoint) and not ids)):
        ids.append(ingress_id)
    return ids


def attachment_addresses(attachments: list[Obj] | None) -> dict[str, list[str]]:
    """{network ID: addresses} of NetworksAttachments / Attachments."""
    out: dict[str, list[str]] = {}
    for attachment in attachments or []:
        network_id = (attachment.get("Network") or {}).get("ID")
        if network_id:
            out.setdefault(network_id, []).extend(attachment.get("Addresses") or [])
    return out


def holds_addresses(task: Obj) -> bool:
    """A task's addresses stay taken until it has ended (SwarmKit frees them when the task
    dies; a deleted task is gone from the store anyway)."""
    return not T.is_terminal(task)


def services_using(network_id: str, services: list[Obj]) -> list[Obj]:
    return [s for s in services
            if network_id in spec_network_ids((s.get("Spec") or {}).get("TaskTemplate"))]
