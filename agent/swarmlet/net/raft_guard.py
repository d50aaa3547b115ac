"""Only managers reach a manager's Raft port: an nftables table of its own admits the current
Raft members' addresses (and loopback) to that port and drops every other packet to it.

The Raft key already keeps strangers from being heard (store/raft_wire.py), but a node that
is not a manager should not even get to cost a manager a connection: a worker, or a former
manager that kept an old key. The members come from the manager's own replica (Raft's
membership, refreshed every half second on every manager), so a manager that joins is
admitted once its addition is in the log it joins through, and a removed one is dropped.
"""

from __future__ import annotations

import ipaddress
import logging

from swarmlet.errors import SwarmletError
from swarmlet.net.nft import run_nft

log = logging.getLogger("swarmlet.net")

TABLE = "swarmlet-raft"


def member_hosts(members: list[str]) -> tuple[list[str], list[str]] | None:
    """The IPv4 and IPv6 addresses of `host:port` members; None if one is not an address
    (a name: nothing can be admitted by address, so nothing is filtered)."""
    v4: set[str] = set()
    v6: set[str] = set()
    for member in members:
        host = member.rpartition(":")[0].strip("[]")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return None
        (v4 if address.version == 4 else v6).add(str(address))
    return sorted(v4), sorted(v6)


def ruleset(port: int, members: list[str]) -> str | None:
    """The table, as one `nft -f` transaction that replaces any earlier one."""
    hosts = member_hosts(members)
    if hosts is None:
        return None
    v4, v6 = hosts
    elements4 = f" elements = {{ {', '.join(v4)} }};" if v4 else ""
    elements6 = f" elements = {{ {', '.join(v6)} }};" if v6 else ""
    return (f"table inet {TABLE}\n"
            f"delete table inet {TABLE}\n"
            f"table inet {TABLE} {{\n"
            f"  set members4 {{ type ipv4_addr;{elements4} }}\n"
            f"  set members6 {{ type ipv6_addr;{elements6} }}\n"
            "  chain input {\n"
            "    type filter hook input priority -5; policy accept;\n"
            f"    tcp dport {port} iifname \"lo\" accept\n"
            f"    tcp dport {port} ip saddr @members4 accept\n"
            f"    tcp dport {port} ip6 saddr @members6 accept\n"
            f"    tcp dport {port} drop\n"
            "  }\n"
            "}\n")


class RaftPortGuard:
    def __init__(self, nft: str = "nft") -> None:
        self.nft = nft
        self._applied: str | None = None
        self._failed = False

    def admit(self, self_addr: str, members: list[str]) -> None:
        """Admit exactly `members` (each `host:port`) to this manager's Raft port."""
        port = int(self_addr.rpartition(":")[2])
        text = ruleset(port, sorted({self_addr, *members}))
        if text is None:
            self.remove()
            return
        if text == self._applied:
            return
        try:
            run_nft(text, self.nft)
        except (SwarmletError, OSError) as err:
            if not self._failed:  # once: a host without nftables keeps working, unguarded
                log.warning("the Raft port is not guarded by nftables: %s", err)
            self._failed = True
            return
        self._applied, self._failed = text, False

    def remove(self) -> None:
        """No longer a manager (or leaving): the table goes."""
        if self._applied is None:
            return
        try:
            run_nft(f"table inet {TABLE}\ndelete table inet {TABLE}\n", self.nft)
        except (SwarmletError, OSError) as err:
            log.warning("could not remove the Raft port's table: %s", err)
        self._applied = None
