"""A client of the agent API: the local unix socket, or a manager over mutual TLS.

Standard library only. Hosts are given as Docker's -H: `unix:///run/swarmlet/swarmlet.sock`
(the default) or `tcp://HOST:2377` (then the node certificates in --tls-dir are presented).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

from swarmlet.errors import SwarmletError

DEFAULT_HOST = "unix:///run/swarmlet/swarmlet.sock"
HOST_ENV = "SWARMLET_HOST"


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


class Client:
    def __init__(self, host: str | None = None, tls_context: ssl.SSLContext | None = None,
                 timeout: float = 60.0) -> None:
        self.host = host or os.environ.get(HOST_ENV) or DEFAULT_HOST
        self.tls_context = tls_context
        self.timeout = timeout

    def _connection(self) -> http.client.HTTPConnection:
        url = urlsplit(self.host)
        if url.scheme == "unix":
            return _UnixConnection(url.path, self.timeout)
        if url.scheme in ("tcp", "https"):
            context = self.tls_context or ssl.create_default_context()
            return http.client.HTTPSConnection(url.hostname or "", url.port or 2377,
                                               timeout=self.timeout, context=context)
        raise SwarmletError(f'invalid host "{self.host}": use unix:///path or tcp://HOST:PORT')

    def request(self, method: str, path: str, body: Any = None,
                query: dict[str, Any] | None = None) -> Any:
        if query:
            path = f"{path}?{urlencode(query)}"
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        conn = self._connection()
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise SwarmletError(
                f"Cannot connect to the swarmlet daemon at {self.host}. "
                "Is the swarmlet daemon running?") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise SwarmletError(f"error talking to the swarmlet daemon at {self.host}: {exc}"
                                ) from exc
        finally:
            conn.close()
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
