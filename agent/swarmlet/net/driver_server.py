"""The network driver's HTTP+JSON server on /run/docker/plugins/NAME.sock, where dockerd finds
plugins by name. Served by the agent process itself (a thread), since the driver's work is in
the agent's network namespace and its state.

Protocol details that matter to dockerd: every call is a POST to /<Method> with a JSON body
(or none); a failure is a 200 answer {"Err": "..."} (dockerd then reports "remote: ..."), an
unknown method a 404, so that dockerd treats optional calls as not implemented.
"""

from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from swarmlet.net.driver import DriverError, NetworkDriver
from swarmlet.transport.unix_server import UnixSocketServer

log = logging.getLogger("swarmlet.net.driver")

CONTENT_TYPE = "application/vnd.docker.plugins.v1.2+json"
MAX_BODY = 1 << 20


def make_handler(driver: NetworkDriver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # dockerd keeps its connection to a plugin alive
        server_version = "swarmletd"

        def address_string(self) -> str:
            return "dockerd"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("driver %s", format % args)

        def do_POST(self) -> None:
            method = self.path.lstrip("/")
            status, answer = 200, {}
            try:
                body = self._body()
                if not driver.knows(method):
                    status, answer = 404, {"Err": f"{method} is not implemented"}
                else:
                    answer = driver.call(method, body)
            except DriverError as exc:
                log.warning("%s failed: %s", method, exc)
                answer = {"Err": str(exc)}
            except Exception as exc:
                log.exception("%s failed", method)
                answer = {"Err": f"swarmlet: {method}: {exc}"}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST  # not used by dockerd; answered the same way for curl users

        def _body(self) -> dict[str, Any] | None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                raw = self._chunked()
            else:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    raise DriverError("request too large")
                raw = self.rfile.read(length) if length else b""
            if not raw.strip():
                return None
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise DriverError(f"request body is not JSON: {exc}") from exc
            return value if isinstance(value, dict) else None

        def _chunked(self) -> bytes:
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
                if len(data) > MAX_BODY:
                    raise DriverError("request too large")

    return Handler


class DriverServer(UnixSocketServer):
    peer = "dockerd"
    in_use = "another agent already serves the network driver on {path}"

    def __init__(self, path: Path, driver: NetworkDriver) -> None:
        super().__init__(path, make_handler(driver))
