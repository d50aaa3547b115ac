"""The plain-HTTP metrics listener (`metrics_addr`, as dockerd's `metrics-addr`): GET /metrics
and nothing else (404), no TLS and no authentication. Anyone who reaches the address reads
the metrics, so it is off by default; bind it to loopback, or to a node address behind a
firewall that only lets the Prometheus server in (docs/observability.md#metrics).
"""

from __future__ import annotations

import logging
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry

from swarmlet.metrics import CONTENT_TYPE, exposition

log = logging.getLogger("swarmlet.api")

TIMEOUT = 10.0  # seconds a client may take to send its request


class MetricsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], registry: CollectorRegistry) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.registry = registry
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: MetricsServer
    timeout = TIMEOUT
    server_version = "swarmletd"
    sys_version = ""

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != "/metrics":
            self._send(404, b"404 page not found\n", "text/plain; charset=utf-8")
            return
        try:
            body = exposition(self.server.registry)
        except Exception as exc:
            log.exception("metrics: collecting failed")
            self._send(500, f"collecting metrics failed: {exc}\n".encode(),
                       "text/plain; charset=utf-8")
            return
        self._send(200, body, CONTENT_TYPE)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("metrics %s %s", self.address_string(), format % args)
