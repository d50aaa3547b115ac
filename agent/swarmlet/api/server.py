"""HTTP servers for the API: one on the unix socket, one on TCP with mutual TLS.

Handlers get a Request and return a JSON-able value (or raise ApiError); the server checks
access before calling them, and turns every failure into {"message": ...} as Docker does.
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from swarmlet.api.router import ApiError, Request, Route, Router
from swarmlet.api.unix_server import UnixSocketServer
from swarmlet.errors import SwarmletError

log = logging.getLogger("swarmlet.api")

MAX_BODY = 4 << 20  # 4 MiB, like SwarmKit's gRPC message limit


class PlainText(str):
    """A handler result sent as text/plain (for /_ping, as Docker's)."""


class Streaming:
    """A handler result sent as it is produced (chunked text/plain), such as `logs -f`.
    If the client goes away, the iterator is closed, so its cleanup runs."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks


def allowed(route: Route, local: bool, identity: Any) -> bool:
    if local:
        return True
    if route.access == "public":
        return True
    if identity is None:
        return False
    if route.access == "node":
        return True
    return route.access == "manager" and identity.role == "manager"


def _denied(route: Route, identity: Any) -> ApiError:
    if identity is None:
        return ApiError(401, "a node certificate of this swarm is required for this endpoint")
    return ApiError(403, "Permission denied: unauthorized peer role: remote certificate not "
                         "part of OUs: [swarm-manager]")


def make_handler(router: Router, local: bool,
                 identify: Callable[[ssl.SSLSocket], Any] | None = None,
                 ) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "swarmletd"

        def address_string(self) -> str:  # unix sockets have no client address
            return "local" if local else super().address_string()

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s %s", self.address_string(), format % args)

        def _dispatch(self) -> None:
            status, body, content_type = 200, b"", "application/json"
            try:
                url = urlsplit(self.path)
                route, params = router.match(self.command, url.path)
                identity = None if local or identify is None else identify(self.connection)
                if not allowed(route, local, identity):
                    raise _denied(route, identity)
                request = Request(self.command, url.path, params, dict(parse_qsl(url.query)),
                                  self._body(), local, identity)
                result = route.handler(request)
                if isinstance(result, Streaming):
                    self._stream(result)
                    return
                if isinstance(result, PlainText):
                    body, content_type = result.encode(), "text/plain; charset=utf-8"
                elif result is not None:
                    body = json.dumps(result).encode()
            except ApiError as exc:
                status, body = exc.status, json.dumps({"message": exc.message}).encode()
            except SwarmletError as exc:
                status, body = 400, json.dumps({"message": str(exc)}).encode()
            except Exception as exc:
                log.exception("%s %s failed", self.command, self.path)
                status, body = 500, json.dumps({"message": f"internal error: {exc}"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _stream(self, result: Streaming) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for chunk in result.chunks:
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass  # the client went away
            finally:
                close = getattr(result.chunks, "close", None)
                if close:
                    close()
            self.close_connection = True

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise ApiError(413, f"request body larger than {MAX_BODY} bytes")
            if not length:
                return None
            raw = self.rfile.read(length)
            try:
                return json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ApiError(400, f"request body is not valid JSON: {exc}") from exc

        do_GET = do_POST = do_PUT = do_DELETE = _dispatch

    return Handler


class UnixApiServer(UnixSocketServer):
    def __init__(self, path: Path, router: Router) -> None:
        super().__init__(path, make_handler(router, local=True))


class TlsApiServer(ThreadingHTTPServer):
    """The cluster port: TLS with optional client certificates (a joining node has none yet);
    the route's access level decides what an anonymous or worker client may call."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], router: Router, context: ssl.SSLContext,
                 identify: Callable[[ssl.SSLSocket], Any]) -> None:
        self.context = context
        super().__init__(address, make_handler(router, local=False, identify=identify))

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = self.socket.accept()
        conn.settimeout(30)
        # The handshake happens in the request's own thread (finish_request), so a slow or
        # silent client cannot hold up the accept loop.
        wrapped = self.context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return wrapped, addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.do_handshake()
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("TLS client %s: connection failed", client_address, exc_info=True)


def serve_in_thread(server: socketserver.BaseServer, name: str) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    return thread
