"""The node's own dockerd, asked for JSON by the facade's handlers (in the pool's threads):
/info and /version to merge with the swarm's view, its local networks beside the swarm's."""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path
from typing import Any

from swarmlet.transport.errors import HttpError

TIMEOUT = 10.0


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(str(self.path))
        self.sock = sock


class Dockerd:
    def __init__(self, path: Path) -> None:
        self.path = path

    def call(self, method: str, target: str, body: Any = None) -> tuple[int, Any]:
        """(status, JSON answer) of one request; 502 if dockerd cannot be reached."""
        conn = _UnixConnection(self.path, TIMEOUT)
        try:
            data = None if body is None else json.dumps(body).encode()
            headers = {"Content-Type": "application/json"} if data is not None else {}
            conn.request(method, target, data, headers)
            answer = conn.getresponse()
            raw = answer.read()
        except OSError as exc:
            raise HttpError(502, f"the node's dockerd ({self.path}) cannot be reached: "
                                 f"{exc}") from exc
        finally:
            conn.close()
        try:
            return answer.status, json.loads(raw) if raw else None
        except json.JSONDecodeError:
            return answer.status, {"message": raw.decode(errors="replace")}

    def get(self, target: str) -> Any:
        """A GET that must succeed: dockerd's own error is passed on."""
        status, value = self.call("GET", target)
        if status >= 400:
            message = value.get("message") if isinstance(value, dict) else str(value)
            raise HttpError(status, message or f"dockerd answered {status}")
        return value
