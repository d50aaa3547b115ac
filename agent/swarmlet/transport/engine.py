"""A client of the local Docker Engine API, standard library only: the calls the worker,
the dataplane and the node description make (containers, images, networks, events, logs).

The docker SDK did this before; it brings requests, urllib3, charset_normalizer and idna,
~10 MB of every agent's resident memory for a few JSON calls on a unix socket
(bench/agent_idle.py). Bodies are Docker's own JSON (worker/containers.py builds them).
One kept-alive connection per calling thread; streams (events, logs) get their own.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlencode

from swarmlet.errors import SwarmletError

DEFAULT_SOCKET = "/var/run/docker.sock"
API = "/v1.41"  # Docker Engine 20.10; later engines serve it too


class EngineError(SwarmletError):
    """An error answer of dockerd (`explanation`: its message), or dockerd not reachable."""

    def __init__(self, status: int, explanation: str) -> None:
        super().__init__(f"{status} {explanation}" if status else explanation)
        self.status = status
        self.explanation = explanation


class EngineNotFound(EngineError):
    """404: no such container, image or network."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.path)
        self.sock = sock


def socket_path() -> str:
    """dockerd's socket: DOCKER_HOST when it names a unix socket, else the default."""
    host = os.environ.get("DOCKER_HOST", "")
    return host[len("unix://"):] if host.startswith("unix://") else DEFAULT_SOCKET


def _filters(filters: dict[str, Any]) -> str:
    """Docker's filters query: every value a list."""
    return json.dumps({k: v if isinstance(v, list) else [v] for k, v in filters.items()})


class Engine:
    def __init__(self, timeout: float = 60.0, path: str | None = None) -> None:
        self.path = path or socket_path()
        self.timeout = timeout
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    # --- transport ------------------------------------------------------------------------

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = _UnixConnection(self.path, self.timeout)
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()

    def _send(self, conn: http.client.HTTPConnection, method: str, path: str,
              query: dict[str, Any] | None, body: Any) -> http.client.HTTPResponse:
        url = API + path + (f"?{urlencode(query)}" if query else "")
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        try:
            conn.request(method, url, body=payload, headers=headers)
            return conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise EngineError(0, f"Docker Engine at {self.path}: {exc}") from exc

    def call(self, method: str, path: str, query: dict[str, Any] | None = None,
             body: Any = None, timeout: float | None = None) -> Any:
        """One request; its JSON answer (None if it has none). A GET that meets a kept-alive
        connection the engine closed meanwhile is sent again, once; other methods never are
        (they may have taken effect)."""
        conn = self._conn()
        if timeout is not None:
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
        try:
            reused = conn.sock is not None
            try:
                response = self._send(conn, method, path, query, body)
                raw = response.read()
            except EngineError as exc:
                if not (reused and method == "GET" and isinstance(exc.__cause__, (
                        http.client.RemoteDisconnected, ConnectionResetError))):
                    raise
                response = self._send(conn, method, path, query, body)
                raw = response.read()
            if response.will_close:
                conn.close()
        finally:
            if timeout is not None:
                conn.timeout = self.timeout
                if conn.sock is not None:
                    conn.sock.settimeout(self.timeout)
        return _answer(response.status, raw)

    @contextmanager
    def stream(self, path: str, query: dict[str, Any] | None = None,
               method: str = "GET") -> Iterator[http.client.HTTPResponse]:
        """A streamed answer on a connection of its own, closed when the caller is done."""
        conn = _UnixConnection(self.path, None)
        try:
            response = self._send(conn, method, path, query, None)
            if response.status >= 300:
                _answer(response.status, response.read())
            yield response
        finally:
            conn.close()

    # --- containers ------------------------------------------------------------------------

    def containers(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        return self.call("GET", "/containers/json", {"all": 1, "filters": _filters(filters)})

    def inspect_container(self, container: str) -> dict[str, Any]:
        return self.call("GET", f"/containers/{quote(container)}/json")

    def create_container(self, name: str, body: dict[str, Any]) -> str:
        return str(self.call("POST", "/containers/create", {"name": name}, body)["Id"])

    def start(self, container: str) -> None:
        self.call("POST", f"/containers/{quote(container)}/start")

    def stop(self, container: str, timeout: int) -> None:
        self.call("POST", f"/containers/{quote(container)}/stop", {"t": timeout},
                  timeout=self.timeout + timeout)

    def kill(self, container: str) -> None:
        self.call("POST", f"/containers/{quote(container)}/kill")

    def remove_container(self, container: str) -> None:
        """With its anonymous volumes, running or not."""
        self.call("DELETE", f"/containers/{quote(container)}", {"force": 1, "v": 1})

    def log_frames(self, container: str, tail: int | str, follow: bool, since: str | None,
                   timestamps: bool) -> Iterator[tuple[int, bytes]]:
        """A container's output, frame by frame: (stream: 1 stdout, 2 stderr; data), with
        dockerd's timestamp before each line if asked, only lines after `since`. Containers
        of tasks have no TTY, so dockerd multiplexes: an 8-byte header, then data."""
        query: dict[str, Any] = {"stdout": 1, "stderr": 1, "tail": tail,
                                 "follow": int(follow), "timestamps": int(timestamps)}
        if since:
            query["since"] = since
        with self.stream(f"/containers/{quote(container)}/logs", query) as response:
            while header := response.read(8):
                if len(header) < 8:
                    return
                size = struct.unpack(">I", header[4:])[0]
                yield header[0], response.read(size)

    def events(self, filters: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The engine's events as they happen, one JSON object per line."""
        with self.stream("/events", {"filters": _filters(filters)}) as response:
            while line := response.readline():
                if line.strip():
                    yield json.loads(line)

    # --- images ----------------------------------------------------------------------------

    def has_image(self, image: str) -> bool:
        try:
            self.call("GET", f"/images/{quote(image, safe='')}/json")
        except EngineNotFound:
            return False
        return True

    def pull(self, image: str) -> None:
        """Pull an image (":latest" unless it names a tag or digest); the error the engine
        reports in its progress stream is raised."""
        query = {"fromImage": image}
        if "@" not in image:  # a digest names one image; else a tag does, "latest" by default
            name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] \
                else (image, "", "latest")
            query = {"fromImage": name, "tag": tag}
        with self.stream("/images/create", query, method="POST") as response:
            while line := response.readline():
                if line.strip() and "error" in (message := json.loads(line)):
                    raise EngineError(500, str(message["error"]))

    # --- networks --------------------------------------------------------------------------

    def networks(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        return self.call("GET", "/networks", {"filters": _filters(filters)})

    def inspect_network(self, network: str) -> dict[str, Any]:
        return self.call("GET", f"/networks/{quote(network)}")

    def create_network(self, body: dict[str, Any]) -> str:
        return str(self.call("POST", "/networks/create", body=body)["Id"])

    def remove_network(self, network: str) -> None:
        self.call("DELETE", f"/networks/{quote(network)}")

    def connect(self, network: str, container: str, endpoint: dict[str, Any]) -> None:
        self.call("POST", f"/networks/{quote(network)}/connect",
                  body={"Container": container, "EndpointConfig": endpoint})

    # --- volumes ---------------------------------------------------------------------------

    def create_volume(self, body: dict[str, Any]) -> dict[str, Any]:
        """A volume, made by its driver; an existing one of that name and driver as it is."""
        return self.call("POST", "/volumes/create", body=body)

    # --- the engine ------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return self.call("GET", "/info")


def _answer(status: int, raw: bytes) -> Any:
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = raw.decode(errors="replace")
    if status >= 400:
        message = data.get("message") if isinstance(data, dict) else data
        error = EngineNotFound if status == 404 else EngineError
        raise error(status, str(message or f"HTTP {status}"))
    return data
