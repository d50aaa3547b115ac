"""The underlay: one bridge on the root namespace that every machine is plugged into.

    root namespace                       machine NAME (netns swarmlet-NAME)
    swarmlet0 198.18.0.1/24 ── swlmN ═══ eth0 198.18.0.N/24

Machines get no default route: an address outside the underlay (10.x overlay addresses
above all) must never leave the box through the host.
"""

from swarmlet.machine.command import run, succeeds
from swarmlet.machine.store import UNDERLAY, UNDERLAY_GATEWAY, Machine

BRIDGE = "swarmlet0"
HOST_LINK_PREFIX = "swlm"

# Docker sets the FORWARD policy to DROP and bridge netfilter is on, so frames between two
# ports of our bridge pass iptables' FORWARD chain: accept them, or machines cannot talk.
_FORWARD_RULES = (
    ("-i", BRIDGE, "-o", BRIDGE, "-m", "comment", "--comment", "swarmlet machines underlay"),
)


def link_exists(name: str, netns: str | None = None) -> bool:
    ns = ["-n", netns] if netns else []
    return succeeds("ip", *ns, "link", "show", "dev", name)


def host_links() -> set[str]:
    """Root-namespace veth ends of machines, from any store (their names encode the address)."""
    out = run("ip", "-o", "link", "show", "type", "veth").stdout
    names = {line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line}
    return {n for n in names if n.startswith(HOST_LINK_PREFIX)}


def addresses_in_use() -> set[str]:
    """Underlay addresses taken by running machines, including those of other stores."""
    return {f"{UNDERLAY.network_address + int(n[len(HOST_LINK_PREFIX):])}"
            for n in host_links() if n[len(HOST_LINK_PREFIX):].isdigit()}


def ensure_bridge() -> None:
    if not link_exists(BRIDGE):
        run("ip", "link", "add", BRIDGE, "type", "bridge")
        run("ip", "addr", "add", f"{UNDERLAY_GATEWAY}/{UNDERLAY.prefixlen}", "dev", BRIDGE)
    run("ip", "link", "set", BRIDGE, "up")
    for rule in _FORWARD_RULES:
        if not succeeds("iptables", "-C", "FORWARD", *rule, "-j", "ACCEPT"):
            run("iptables", "-I", "FORWARD", *rule, "-j", "ACCEPT")


def remove_bridge_if_unused() -> None:
    """Remove the bridge and its rules once no machine (of any store) is plugged in."""
    if host_links():
        return
    for rule in _FORWARD_RULES:
        while succeeds("iptables", "-C", "FORWARD", *rule, "-j", "ACCEPT"):
            run("iptables", "-D", "FORWARD", *rule, "-j", "ACCEPT")
    if link_exists(BRIDGE):
        run("ip", "link", "del", BRIDGE)


def machine_mac(ip: str) -> str:
    """A fixed MAC per machine (02:53 + its IPv4 bytes), as a real NIC keeps its MAC across
    reboots: neighbours' ARP caches stay right after `stop` and `start`."""
    return "02:53:" + ":".join(f"{int(b):02x}" for b in ip.split("."))


def plug(machine: Machine) -> None:
    """Create the machine's veth pair and address; attach it to the bridge if connected."""
    ns, link = machine.netns, machine.host_link
    run("ip", "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", ns,
        "address", machine_mac(machine.ip))
    run("ip", "-n", ns, "link", "set", "lo", "up")
    run("ip", "-n", ns, "addr", "add", f"{machine.ip}/{UNDERLAY.prefixlen}", "dev", "eth0")
    run("ip", "-n", ns, "link", "set", "eth0", "up")
    run("ip", "link", "set", link, "master", BRIDGE)
    if machine.connected:
        connect(machine)


def unplug(machine: Machine) -> None:
    if link_exists(machine.host_link):
        run("ip", "link", "del", machine.host_link)


def connect(machine: Machine) -> None:
    run("ip", "link", "set", machine.host_link, "up")


def disconnect(machine: Machine) -> None:
    """Pull the cable: the machine keeps running and keeps its address, but no frame
    passes between it and the underlay (its eth0 loses carrier), in either direction."""
    run("ip", "link", "set", machine.host_link, "down")
