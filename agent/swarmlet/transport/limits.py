"""Limits of the API servers: body size, how long reading a request may take, and how many
connections a peer (and everyone together) may hold.

A thread serves each connection, so every limit here bounds threads or the time a thread
can be held by a client that sends nothing, or sends slowly. Timeouts cover reading the
request and each write of the answer; a handler that takes long (a long poll, `logs -f`)
is not cut off.
"""

from __future__ import annotations

import io
import logging
import socket
import socketserver
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from swarmlet.spec.limits import MAX_BODY
from swarmlet.transport.errors import HttpError
from swarmlet.transport.http1 import Headers

log = logging.getLogger("swarmlet.api")


@dataclass(frozen=True)
class Limits:
    """Seconds and counts; tests make their own with small numbers."""

    idle: float = 30.0  # waiting for a request line and headers (a kept-alive connection too)
    body: float = 30.0  # reading the whole body once the headers are in (4 MiB at ~140 KB/s)
    write: float = 30.0  # one write of the answer to a client that stopped reading
    handshake: float = 10.0  # the whole TLS handshake
    connections: int = 1024  # open connections (= serving threads) of one server
    per_peer: int = 64  # open connections of one client IP


TLS_LIMITS = Limits()
# The cluster port on one asyncio loop (transport/async_server.py): no thread per
# connection, so the cap is memory (~60 KB a TLS connection) and file descriptors; every
# node holds about two connections to the leader (heartbeats, assignments).
CLUSTER_LIMITS = Limits(connections=16384, per_peer=64)
# Root only, and one peer ("local"): the overall cap is the one that matters.
UNIX_LIMITS = Limits(connections=128, per_peer=128)


def body_length(headers: Headers) -> int:
    """The body's length from Content-Length, checked before a byte of it is read."""
    if headers.get("Transfer-Encoding"):
        raise HttpError(411, "Transfer-Encoding is not supported: send the request body "
                            "with a Content-Length")
    values = {v.strip() for v in headers.get_all("Content-Length") or []}
    if not values:
        return 0
    if len(values) > 1:
        raise HttpError(400, "conflicting Content-Length headers")
    raw = values.pop()
    if not raw.isascii() or not raw.isdigit():
        raise HttpError(400, f"invalid Content-Length {raw[:20]!r}: must be a number of bytes")
    if len(raw) > 12 or int(raw) > MAX_BODY:
        raise HttpError(413, f"request body larger than {MAX_BODY} bytes")
    return int(raw)


class DeadlineReader(io.RawIOBase):
    """A socket's reading side where every read must end by `deadline` (a monotonic time):
    a client that drips a byte at a time cannot renew a per-recv timeout forever."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.deadline = time.monotonic()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the client took too long to send its request")
        self.sock.settimeout(remaining)
        return self.sock.recv_into(buffer)


class ConnectionLimiter:
    """Counts open connections per peer and in total; refuses beyond the limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._open: Counter[str] = Counter()
        self._total = 0
        self._lock = threading.Lock()
        self._last_warning = 0.0

    def acquire(self, peer: str) -> bool:
        with self._lock:
            if self._total >= self.limits.connections or \
                    self._open[peer] >= self.limits.per_peer:
                self._warn(peer)
                return False
            self._total += 1
            self._open[peer] += 1
            return True

    def release(self, peer: str) -> None:
        with self._lock:
            self._total -= 1
            self._open[peer] -= 1
            if self._open[peer] <= 0:
                del self._open[peer]

    def _warn(self, peer: str) -> None:
        now = time.monotonic()  # at most one line per 10 s: refusals come in floods
        if now - self._last_warning >= 10:
            self._last_warning = now
            log.warning("refusing connections from %s: %d open from it, %d in all (limits %d "
                        "per peer, %d in all)", peer, self._open[peer], self._total,
                        self.limits.per_peer, self.limits.connections)


class LimitedThreadingMixIn(socketserver.ThreadingMixIn):
    """A thread per connection, up to the limits; a connection beyond them is closed at once,
    before a thread is spawned or a byte is read."""

    limits: Limits = TLS_LIMITS
    request_queue_size = 128  # the listen backlog: bursts wait here, not in threads

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.limiter = ConnectionLimiter(self.limits)
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        peer = str(client_address[0]) if isinstance(client_address, tuple) else "local"
        if not self.limiter.acquire(peer):
            self.shutdown_request(request)
            return
        try:
            thread = threading.Thread(target=self.process_request_thread,
                                      args=(request, client_address, peer),
                                      name=f"api-conn-{peer}", daemon=True)
            thread.start()
        except RuntimeError:  # no more threads: the system's limit came first
            self.limiter.release(peer)
            self.shutdown_request(request)

    def process_request_thread(self, request: Any, client_address: Any,  # type: ignore[override]
                               peer: str = "local") -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.limiter.release(peer)
