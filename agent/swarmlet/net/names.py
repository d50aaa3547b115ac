"""Names and addresses derived from what the cluster hands out: link names from VNIs and
endpoint IDs, MACs from IPv4 addresses, and this node's driver and Docker network names.

Everything here is a pure function, so that every part of the agent (and its restarts) derives
the same name for the same thing: nothing about links needs to be remembered on disk.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path

IFNAMSIZ = 15  # usable characters of a Linux interface name
BRIDGE_PREFIX = "swlb-"
VXLAN_PREFIX = "swlx-"
HOST_VETH_PREFIX = "swv"  # the endpoint's end on the network's bridge (agent's netns)
PEER_VETH_PREFIX = "swc"  # the end dockerd moves into the container (dockerd's netns)
PLUGIN_DIR = Path("/run/docker/plugins")
DRIVER_BASE = "swarmlet"
VNI_OPTION = "com.docker.network.driver.overlay.vxlanid_list"
# The swarm's data path port (swarm init --data-path-port), on a network made with another
# port than VXLAN's default
VXLAN_PORT_OPTION = "swarmlet.network.vxlan.port"
DEFAULT_VXLAN_PORT = 4789

# Options and labels on Docker networks and endpoints made by the agent.
OPT_VNI = "swarmlet.vni"  # network option: which overlay (bridge) a Docker network is
OPT_ADDRESS = "swarmlet.address"  # endpoint driver option: the task's address, CIDR form
LABEL_NETWORK_ID = "swarmlet.network.id"
LABEL_MACHINE = "swarmlet.machine"

_DOCKER_NAME = re.compile(r"[^a-zA-Z0-9_.-]")


def bridge_name(vni: int) -> str:
    return f"{BRIDGE_PREFIX}{vni}"


def vxlan_name(vni: int) -> str:
    return f"{VXLAN_PREFIX}{vni}"


def vni_of_bridge(ifname: str) -> int | None:
    """The VNI of one of our bridges, or None for any other link."""
    if ifname.startswith(BRIDGE_PREFIX) and ifname[len(BRIDGE_PREFIX):].isdigit():
        return int(ifname[len(BRIDGE_PREFIX):])
    return None


def vni_of_vxlan(ifname: str) -> int | None:
    if ifname.startswith(VXLAN_PREFIX) and ifname[len(VXLAN_PREFIX):].isdigit():
        return int(ifname[len(VXLAN_PREFIX):])
    return None


def host_veth(endpoint_id: str) -> str:
    """12 hex digits of Docker's 64-digit endpoint ID: unique enough among the endpoints of
    one host, and the names stay within IFNAMSIZ."""
    return f"{HOST_VETH_PREFIX}{endpoint_id[:IFNAMSIZ - len(HOST_VETH_PREFIX)]}"


def peer_veth(endpoint_id: str) -> str:
    return f"{PEER_VETH_PREFIX}{endpoint_id[:IFNAMSIZ - len(PEER_VETH_PREFIX)]}"


def mac_of(ip: str) -> str:
    """Docker's rule, which the whole cluster relies on instead of distributing MACs:
    02:42 followed by the four bytes of the IPv4 address."""
    packed = ipaddress.IPv4Address(ip.split("/")[0]).packed
    return "02:42:" + ":".join(f"{b:02x}" for b in packed)


def machine() -> str | None:
    """The local machine this agent runs in (`swarmlet machine`), None on a real host."""
    return os.environ.get("SWARMLET_MACHINE") or None


def driver_name(machine_name: str | None) -> str:
    """Machines share one dockerd but each has its own network namespace, so each agent
    registers a driver of its own."""
    return f"{DRIVER_BASE}-{machine_name}" if machine_name else DRIVER_BASE


def plugin_socket(driver: str) -> Path:
    return PLUGIN_DIR / f"{driver}.sock"


def docker_network_name(machine_name: str | None, network_name: str) -> str:
    """The Docker network that stands for an overlay network on this node."""
    prefix = f"{DRIVER_BASE}-{machine_name}-" if machine_name else f"{DRIVER_BASE}-"
    return prefix + _DOCKER_NAME.sub("_", network_name)
