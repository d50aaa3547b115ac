"""A client of the agent API: the local unix socket, or a manager over mutual TLS.

Standard library only. Hosts are given as Docker's -H: `unix:///run/swarmlet/swarmlet.sock`
(the default) or `tcp://HOST:2377` (then the node certificates in --tls-dir are presented).

Connections are kept alive between requests (HTTP/1.1), one per calling thread, so a
sequence of requests pays the connect, the TLS handshake and the server's thread start once.
A connection is not reused once the server closed it, nor after REUSE_IDLE: the server drops
idle ones after 30 s (transport/limits.py), and a request sent on a connection the server is
just closing would be lost. A GET that still meets a connection closed under it is sent
again once on a new connection; other methods are never re-sent (they may have taken
effect). close() ends
the connections; dropping the client does too.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

from swarmlet.errors import SwarmletError

DEFAULT_HOST = "unix:///run/swarmlet/swarmlet.sock"
HOST_ENV = "SWARMLET_HOST"
REUSE_IDLE = 10.0  # seconds; well below the server's idle limit (30 s)
# A kept-alive connection that the server closed: the request never reached a handler.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class ConnectionBroken(SwarmletError):
    """The connection failed after the request may have been sent: a write's outcome is not
    known (cli/create.py asks again)."""


class ApiResponseError(SwarmletError):
    """The API answered with an error; the message is the API's own."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def _readable(sock: socket.socket) -> bool:
    """An idle kept-alive connection with something to read: the server closed it (EOF)."""
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


class Client:
    def __init__(self, host: str | None = None, tls_context: ssl.SSLContext | None = None,
                 timeout: float = 60.0) -> None:
        self.host = host or os.environ.get(HOST_ENV) or DEFAULT_HOST
        self.tls_context = tls_context
        self.timeout = timeout
        # Kept-alive connections by thread ident, with the time each was last used.
        self._kept: dict[int, tuple[http.client.HTTPConnection, float]] = {}
        self._kept_lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        url = urlsplit(self.host)
        if url.scheme == "unix":
            return _UnixConnection(url.path, self.timeout)
        if url.scheme in ("tcp", "https"):
            context = self.tls_context or ssl.create_default_context()
            return http.client.HTTPSConnection(url.hostname or "", url.port or 2377,
                                               timeout=self.timeout, context=context)
        raise SwarmletError(f'invalid host "{self.host}": use unix:///path or tcp://HOST:PORT')

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's kept-alive connection (and True), or a new one (and False)."""
        with self._kept_lock:
            kept = self._kept.pop(threading.get_ident(), None)
        if kept is not None:
            conn, used = kept
            if conn.sock is not None and time.monotonic() - used < REUSE_IDLE \
                    and not _readable(conn.sock):
                return conn, True
            conn.close()
        return self._connection(), False

    def _keep(self, conn: http.client.HTTPConnection) -> None:
        with self._kept_lock:
            self._kept[threading.get_ident()] = (conn, time.monotonic())

    def close(self) -> None:
        """Close every kept-alive connection of this client."""
        with self._kept_lock:
            kept, self._kept = list(self._kept.values()), {}
        for conn, _ in kept:
            conn.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        kept = getattr(self, "_kept", None)
        for conn, _ in list((kept or {}).values()):
            conn.close()

    def _exchange(self, method: str, path: str, payload: bytes | None,
                  headers: dict[str, str]) -> tuple[http.client.HTTPResponse, bytes]:
        """One request and its whole answer; keeps the connection for the next one."""
        while True:
            conn, reused = self._take()
            try:
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                raw = response.read()
            except _STALE:
                conn.close()
                if reused and method == "GET":
                    continue  # the server closed it first: never reached a handler
                raise
            except BaseException:
                conn.close()
                raise
            if response.will_close:
                conn.close()
            else:
                self._keep(conn)
            return response, raw

    def request(self, method: str, path: str, body: Any = None,
                query: dict[str, Any] | None = None) -> Any:
        if query:
            path = f"{path}?{urlencode(query)}"
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        try:
            response, raw = self._exchange(method, path, payload, headers)
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise SwarmletError(
                f"Cannot connect to the swarmlet daemon at {self.host}. "
                "Is the swarmlet daemon running?") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise ConnectionBroken(f"error talking to the swarmlet daemon at {self.host}: {exc}"
                                ) from exc
        content_type = response.getheader("Content-Type", "")
        data = json.loads(raw) if raw and content_type.startswith("application/json") else raw
        if response.status >= 400:
            message = data.get("message") if isinstance(data, dict) else None
            raise ApiResponseError(response.status, message or f"HTTP {response.status}")
        return data

    def stream(self, path: str, **query: Any) -> Iterator[str]:
        """GET a streamed text answer, line by line, as it arrives."""
        if query:
            path = f"{path}?{urlencode(query)}"
        conn = self._connection()
        conn.timeout = None  # a followed stream may be quiet for long
        try:
            conn.request("GET", path)
            response = conn.getresponse()
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise SwarmletError(
                f"Cannot connect to the swarmlet daemon at {self.host}. "
                "Is the swarmlet daemon running?") from exc
        if response.status >= 400:
            raw = response.read()
            conn.close()
            message = json.loads(raw).get("message") if raw else None
            raise ApiResponseError(response.status, message or f"HTTP {response.status}")
        try:
            while line := response.readline():
                yield line.decode(errors="replace").rstrip("\n")
        finally:
            conn.close()

    def get(self, path: str, **query: Any) -> Any:
        return self.request("GET", path, query=query or None)

    def post(self, path: str, body: Any = None, **query: Any) -> Any:
        return self.request("POST", path, body, query=query or None)

    def delete(self, path: str, **query: Any) -> Any:
        return self.request("DELETE", path, query=query or None)
