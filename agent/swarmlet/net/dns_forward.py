"""Forwarding the names the node's resolver does not own to the upstream resolvers: those of
the agent's config (`dns_upstreams`), else the host's (`nameserver` lines of
/etc/resolv.conf, read again when the file changes). As Docker's embedded resolver: at most
3, tried in order, 4 s each; the query goes as it came (same bytes, same transport) and the
answer comes back as it is.

The agent sends from its own network namespace (not the container's, as Docker does): on a
host the container's own routes do not matter, and a resolver on the host's loopback
(127.0.0.53) works.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import struct
import threading
from pathlib import Path

log = logging.getLogger("swarmlet.net.dns")

MAX_UPSTREAMS = 3
TIMEOUT = 4.0  # seconds per upstream
RESOLV_CONF = Path("/etc/resolv.conf")
Upstream = tuple[str, int]


def parse_upstream(text: str) -> Upstream:
    """'IP' or 'IPv4:PORT' (or '[IPv6]:PORT') → (IP, port); ValueError when it is not."""
    text = text.strip()
    host, port = text, 53
    if text.startswith("[") and "]:" in text:
        host, _, tail = text[1:].partition("]:")
        port = int(tail) if tail.isdigit() else -1
    elif text.count(":") == 1:
        host, _, tail = text.partition(":")
        port = int(tail) if tail.isdigit() else -1
    address = ipaddress.ip_address(host)  # ValueError: not an IP address
    if not 0 < port < 65536:
        raise ValueError(f"invalid port in {text!r}")
    return str(address), port


def nameservers(text: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The `nameserver` addresses of a resolv.conf, in order (comments and bad lines left
    out; an IPv6 zone dropped)."""
    out = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(words) >= 2 and words[0] == "nameserver":
            try:
                out.append(ipaddress.ip_address(words[1].split("%")[0]))
            except ValueError:
                continue
    return out


def resolv_conf_servers(text: str) -> list[Upstream]:
    """The first 3 `nameserver` addresses of a resolv.conf, as upstreams."""
    return [(str(ip), 53) for ip in nameservers(text)][:MAX_UPSTREAMS]


class Upstreams:
    """The configured servers, or the host's (re-read when /etc/resolv.conf changes)."""

    def __init__(self, configured: list[str] | tuple[str, ...] | None = None,
                 resolv_conf: Path = RESOLV_CONF) -> None:
        self.configured = None if configured is None else \
            [parse_upstream(s) for s in configured][:MAX_UPSTREAMS]
        self.resolv_conf = resolv_conf
        self._seen: tuple[float, int] | None = None
        self._servers: list[Upstream] = []
        self._lock = threading.Lock()

    def servers(self) -> list[Upstream]:
        if self.configured is not None:
            return self.configured
        with self._lock:
            try:
                stat = os.stat(self.resolv_conf)
                seen = (stat.st_mtime, stat.st_ino)
                if seen != self._seen:
                    self._servers = resolv_conf_servers(self.resolv_conf.read_text())
                    self._seen = seen
            except OSError as exc:
                log.warning("cannot read %s: %s", self.resolv_conf, exc.strerror)
                self._servers, self._seen = [], None
            return self._servers


def forward(query: bytes, servers: list[Upstream], tcp: bool,
            timeout: float = TIMEOUT) -> bytes | None:
    """The first answer of the upstreams to `query` (a whole DNS message, no length prefix),
    or None when none answered."""
    for server in servers[:MAX_UPSTREAMS]:
        try:
            answer = _ask_tcp(query, server, timeout) if tcp else \
                _ask_udp(query, server, timeout)
        except OSError as exc:
            log.debug("upstream %s:%s: %s", server[0], server[1], exc)
            continue
        if answer is not None:
            return answer
    return None


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _ask_udp(query: bytes, server: Upstream, timeout: float) -> bytes | None:
    with socket.socket(_family(server[0]), socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.connect(server)  # only the server's datagrams come back
        sock.send(query)
        while True:
            data = sock.recv(65535)
            if data[:2] == query[:2]:  # the same ID; a stray late answer is skipped
                return data


def _ask_tcp(query: bytes, server: Upstream, timeout: float) -> bytes | None:
    with socket.create_connection(server, timeout=timeout) as sock:
        sock.sendall(struct.pack("!H", len(query)) + query)
        head = read_exact(sock, 2)
        return read_exact(sock, struct.unpack("!H", head)[0]) if head else None


def read_exact(sock: socket.socket, n: int) -> bytes:
    """n bytes from a stream; b"" when it ends first."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data if len(data) == n else b""
