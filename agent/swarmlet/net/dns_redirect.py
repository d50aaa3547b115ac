"""Service names for containers that are no task (`docker run --network` on an attachable
network).

A task's container is given the node's resolver as its `dns` (the executor). A container the
user runs has dockerd's defaults: its 127.0.0.11 answers local names and forwards the rest to
the host's resolvers, from the container's namespace, so through its gateway: this node.
Those queries, and only those (from an attached container's address, to one of the
resolvers dockerd uses, port 53), are sent to this node's resolver on the container's
network instead. It answers service names as it does for tasks and forwards the rest to the
same upstreams, so nothing else changes for the container.

Table `ip swarmlet-dns`, written whole in one `nft -f -` transaction when its text changes:

    chain prerouting   nat, priority -110 (before the load balancer's):
                       `ip saddr <container> ip daddr @resolvers meta l4proto { tcp, udp }
                        th dport 53 dnat ip to <node's address on its network>`
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from ipaddress import IPv4Address
from pathlib import Path

from swarmlet.net.dns_forward import nameservers
from swarmlet.net.nft import run_nft

log = logging.getLogger("swarmlet.net.dns")

TABLE = "swarmlet-dns"
RESOLV_CONF = Path("/etc/resolv.conf")
DOCKER_DEFAULT_RESOLVERS = ("8.8.8.8", "8.8.4.4")  # dockerd's, when the host has only local ones


def dockerd_resolvers(resolv_conf: str) -> list[str]:
    """The IPv4 resolvers dockerd gives containers: the host's, without loopback ones (which
    a container cannot reach), else Docker's defaults."""
    found = [str(ip) for ip in nameservers(resolv_conf)
             if isinstance(ip, IPv4Address) and not ip.is_loopback]
    return found or list(DOCKER_DEFAULT_RESOLVERS)


def render(redirects: Iterable[tuple[str, str]], resolvers: list[str]) -> str:
    """`redirects`: (container address, the node's address on its network)."""
    rules = [f"\t\tip saddr {source} ip daddr @resolvers meta l4proto {{ tcp, udp }} "
             f"th dport 53 dnat ip to {gateway}"
             for source, gateway in sorted(set(redirects), key=lambda r: IPv4Address(r[0]))]
    return "\n".join([
        f"add table ip {TABLE}", f"delete table ip {TABLE}", f"table ip {TABLE} {{",
        "\tset resolvers {", "\t\ttype ipv4_addr",
        "\t\telements = { " + ", ".join(sorted(set(resolvers), key=IPv4Address)) + " }",
        "\t}",
        "\tchain prerouting {",
        "\t\ttype nat hook prerouting priority -110; policy accept;",
        *rules, "\t}", "}"]) + "\n"


def removal() -> str:
    return f"add table ip {TABLE}\ndelete table ip {TABLE}\n"


class DnsRedirect:
    def __init__(self, nft: str = "nft") -> None:
        self.nft = nft
        self._applied: str | None = None

    def sync(self, redirects: list[tuple[str, str]]) -> None:
        """The table for these containers; none at all while there are none (one an earlier
        agent left goes at the first sync)."""
        if not redirects:
            if self._applied != removal():
                self.remove()
            return
        try:
            resolv_conf = RESOLV_CONF.read_text()
        except OSError:
            resolv_conf = ""
        text = render(redirects, dockerd_resolvers(resolv_conf))
        if text != self._applied:
            self._run(text)
            self._applied = text
            log.info("DNS of %d attached container(s) sent to this node's resolver",
                     len(redirects))

    def remove(self) -> None:
        self._run(removal())
        self._applied = removal()

    def _run(self, text: str) -> None:
        run_nft(text, self.nft)
