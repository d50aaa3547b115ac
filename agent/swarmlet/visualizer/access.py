"""Who may see the visualizer: pure decisions, no sockets.

On a loopback address anyone who can reach it is on this host already: nothing is asked.
On any other address the server refuses to start unless a token or a client certificate
guards it. A token is presented once on the page URL (?token=...), then lives in an HttpOnly,
SameSite=Strict cookie; scripts may send `Authorization: Bearer <token>` instead. A client
certificate must be signed by the swarm's root CA (the TLS handshake checks that) and carry
manager access (OU swarm-manager: `swarmlet swarm ca client-cert`, or a manager's own).
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie

from swarmlet.errors import SwarmletError

COOKIE = "swarmlet_visualizer"
MANAGER_OU = "swarm-manager"
CLIENT_PREFIX = "client-"  # the CN of an operator's client certificate (not a node)


def parse_listen(listen: str) -> tuple[str, int]:
    """ADDR:PORT (an IPv6 address in brackets) as a host and a port."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise SwarmletError(f'invalid --listen "{listen}": use ADDR:PORT, e.g. 127.0.0.1:8888')
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


@dataclass(frozen=True)
class Guard:
    """What this server asks of a request: nothing (loopback), a token, a certificate, or
    both (then both)."""
    token: str | None = None
    certificate: bool = False

    @property
    def open(self) -> bool:
        return self.token is None and not self.certificate


def guard_for(host: str, token: str | None, certificate: bool) -> Guard:
    """The guard for a listen address; SwarmletError for a reachable one left open."""
    if token is not None and not token:
        raise SwarmletError("the token file is empty: put a long random token in it "
                            "(e.g. `openssl rand -hex 32 > FILE`)")
    guard = Guard(token, certificate)
    if guard.open and not is_loopback(host):
        raise SwarmletError(
            f"refusing to serve the visualizer on {host} without access control: anyone who "
            "reaches that address would see the swarm. Give --token-file FILE, or --tls-cert "
            "and --tls-key (browsers then need a client certificate of the swarm: `swarmlet "
            "swarm ca client-cert`), or listen on 127.0.0.1")
    return guard


def token_matches(presented: str | None, token: str) -> bool:
    """Constant-time: the time taken says nothing about how much of the token matched."""
    return presented is not None and hmac.compare_digest(presented.encode(), token.encode())


def cookie_token(header: str | None) -> str | None:
    if not header:
        return None
    try:
        morsel = SimpleCookie(header).get(COOKIE)
    except CookieError:
        return None
    return morsel.value if morsel else None


def bearer_token(header: str | None) -> str | None:
    scheme, _, value = (header or "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def set_cookie(token: str, secure: bool) -> str:
    """The Set-Cookie value that keeps the token for the page's own requests."""
    return (f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
            + ("; Secure" if secure else ""))


def certificate_allowed(subject: tuple, manager_ids: set[str]) -> bool:
    """A peer certificate's subject (ssl's getpeercert() form) with manager access: an
    operator's client certificate, or a node that is a manager now (a removed or demoted
    node's certificate stays valid until it expires, its access does not)."""
    fields = {key: value for rdn in subject for key, value in rdn}
    if fields.get("organizationalUnitName") != MANAGER_OU:
        return False
    cn = fields.get("commonName", "")
    return cn.startswith(CLIENT_PREFIX) or cn in manager_ids
