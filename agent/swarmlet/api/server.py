"""HTTP servers for the API: one on the unix socket, one on TCP with mutual TLS.

Handlers get a Request and return a JSON-able value (or raise HttpError); the server checks
access before calling them (api/access.py: the route's level, the peer's certificate, the
store's view of its node), and turns every failure into {"message": ...} as Docker does.
What a client may send, how slowly and over how many connections: transport/limits.py.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import socketserver
import ssl
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from io import BufferedReader
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from swarmlet.api.access import NodeLookup, check_access
from swarmlet.api.router import Request, Router
from swarmlet.api.statuses import http_status
from swarmlet.ca.identity import NodeIdentity
from swarmlet.errors import SwarmletError
from swarmlet.transport.errors import HttpError
from swarmlet.transport.http_head import parse_request_line, read_headers
from swarmlet.transport.limits import (
    MAX_BODY,
    TLS_LIMITS,
    UNIX_LIMITS,
    DeadlineReader,
    LimitedThreadingMixIn,
    Limits,
    body_length,
)
from swarmlet.transport.unix_server import UnixSocketServer

__all__ = ["MAX_BODY", "PlainText", "Streaming", "TlsApiServer", "UnixApiServer"]

log = logging.getLogger("swarmlet.api")


class PlainText(str):
    """A handler result sent as text/plain (for /_ping, as Docker's)."""


class Streaming:
    """A handler result sent as it is produced (chunked text/plain), such as `logs -f`.
    If the client goes away, the iterator is closed, so its cleanup runs."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks


def _json_error(status: int, message: str) -> tuple[int, bytes]:
    return status, json.dumps({"message": message}).encode()


def make_handler(router: Router, local: bool, limits: Limits,
                 identify: Callable[[ssl.SSLSocket], NodeIdentity | None] | None = None,
                 lookup: NodeLookup | None = None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "swarmletd"

        def setup(self) -> None:
            self.connection = self.request
            self.reader = DeadlineReader(self.connection)
            self.rfile = BufferedReader(self.reader)
            self.wfile = socketserver._SocketWriter(self.connection)  # type: ignore[attr-defined]

        def handle_one_request(self) -> None:
            # The request line and headers, kept-alive wait included, within `idle`.
            self.reader.deadline = time.monotonic() + limits.idle
            super().handle_one_request()

        def __getattr__(self, name: str) -> Any:
            # Every method reaches the router, which answers 404/405 for unknown ones
            # (http.server would answer 501).
            if name.startswith("do_"):
                return self._dispatch
            raise AttributeError(name)

        def send_error(self, code: int, message: str | None = None,
                       explain: str | None = None) -> None:
            """Malformed requests that http.server refuses itself: Docker-style JSON."""
            self.close_connection = True
            if code == 505:  # an unknown HTTP version is a bad request: no 5xx for a client's fault
                code, message = 400, f"unsupported HTTP version: {message}"
            if self.request_version == "HTTP/0.9":
                self.request_version = "HTTP/1.1"  # answer with a status line all the same
            reason = message or self.responses.get(code, ("error",))[0]
            with contextlib.suppress(OSError):  # the client may be gone already
                self._answer(*_json_error(code, reason))

        def parse_request(self) -> bool:
            """http.server's, without its email parser (~20 µs a request even for an
            empty head): the line and fields are read by transport/http_head.py."""
            self.command, self.close_connection = None, True
            self.request_version = "HTTP/1.1"  # how errors are answered, until known
            self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
            try:
                parsed = parse_request_line(self.raw_requestline)
                if parsed is None:
                    return False
                self.command, self.path, self.request_version, keep_alive = parsed
                self.headers = read_headers(self.rfile)  # type: ignore[assignment]
            except HttpError as exc:
                self.send_error(exc.status, exc.message)
                return False
            connection = (self.headers.get("Connection") or "").lower()
            self.close_connection = connection == "close" or \
                (not keep_alive and connection != "keep-alive")
            if (self.headers.get("Expect") or "").lower() == "100-continue" and keep_alive:
                return self.handle_expect_100()
            return True

        def handle_expect_100(self) -> bool:
            try:
                body_length(self.headers)
            except HttpError as exc:
                self.send_error(exc.status, exc.message)
                return False
            return super().handle_expect_100()

        def address_string(self) -> str:  # unix sockets have no client address
            return "local" if local else super().address_string()

        def log_message(self, format: str, *args: Any) -> None:
            if log.isEnabledFor(logging.DEBUG):  # every request comes here: format lazily
                log.debug("%s %s", self.address_string(), format % args)

        def _dispatch(self) -> None:
            content_type = "application/json"
            body_read = False
            try:
                length = body_length(self.headers)
                path, query = _split_target(self.path)
                route, params = router.match(self.command, path)
                identity = None
                if not local and identify is not None and route.access != "public":
                    identity = _identify(identify, self.connection)
                check_access(route.access, local, identity, lookup)
                body = self._body(length)
                body_read = True
                request = Request(self.command, path, params, query, body, local, identity)
                result = route.handler(request)
                self.connection.settimeout(limits.write)
                if isinstance(result, Streaming):
                    self._stream(result)
                    return
                status, data = 200, b""
                if isinstance(result, PlainText):
                    data, content_type = result.encode(), "text/plain; charset=utf-8"
                elif result is not None:
                    data = json.dumps(result).encode()
            except TimeoutError:
                self.close_connection = True  # a client too slow to send its body
                status, data = _json_error(408, "request body not received in time")
            except HttpError as exc:
                status, data = _json_error(exc.status, exc.message)
            except SwarmletError as exc:
                status, data = _json_error(http_status(exc), str(exc))
            except Exception as exc:
                log.exception("%s %s failed", self.command, self.path)
                status, data = _json_error(500, f"internal error: {exc}")
            if not body_read:
                self.close_connection = True  # an unread body must not be taken for a request
            self.connection.settimeout(limits.write)
            self._answer(status, data, content_type)

        def _answer(self, status: int, data: bytes,
                    content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            # Headers and body in one write: two small writes meet Nagle and delayed ACKs.
            self._headers_buffer.append(b"\r\n" + data)  # type: ignore[attr-defined]
            self.flush_headers()

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
                pass  # the client went away, or stopped reading for `limits.write`
            finally:
                close = getattr(result.chunks, "close", None)
                if close:
                    close()
            self.close_connection = True

        def _body(self, length: int) -> Any:
            if not length:
                return None
            self.reader.deadline = time.monotonic() + limits.body
            raw = self.rfile.read(length)
            if len(raw) < length:
                raise HttpError(400, "request body ended before its Content-Length")
            try:
                return json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise HttpError(400, f"request body is not valid JSON: {exc}") from exc

    return Handler


def _split_target(target: str) -> tuple[str, dict[str, str]]:
    """Path and query of a request target; 400 for anything but an origin-form path."""
    if not target.startswith("/"):
        raise HttpError(400, "invalid request target: the path must start with /")
    try:
        url = urlsplit(target)
        return url.path, dict(parse_qsl(url.query))
    except ValueError as exc:
        raise HttpError(400, f"invalid request target: {exc}") from exc


def _identify(identify: Callable[[ssl.SSLSocket], NodeIdentity | None],
              connection: Any) -> NodeIdentity | None:
    try:
        return identify(connection)
    except SwarmletError as exc:
        raise HttpError(403, f"Permission denied: {exc}") from exc


class UnixApiServer(UnixSocketServer):
    """The local API: root only, every route open; the same limits of time and threads."""

    limits = UNIX_LIMITS

    def __init__(self, path: Path, router: Router) -> None:
        super().__init__(path, make_handler(router, local=True, limits=self.limits))


ContextSource = ssl.SSLContext | Callable[[], ssl.SSLContext]


class TlsApiServer(LimitedThreadingMixIn, HTTPServer):
    """The cluster port: TLS with optional client certificates (a joining node has none yet);
    the route's access level, the peer's certificate and the store's view of that peer
    decide what it may call (api/access.py). `context` may be a callable, asked at every
    connection, so a renewed node certificate is served without a restart."""

    limits = TLS_LIMITS

    def __init__(self, address: tuple[str, int], router: Router, context: ContextSource,
                 identify: Callable[[ssl.SSLSocket], NodeIdentity | None],
                 lookup: NodeLookup | None) -> None:
        self.context_source = context
        super().__init__(address, make_handler(router, local=False, limits=self.limits,
                                               identify=identify, lookup=lookup))

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = self.socket.accept()
        conn.settimeout(self.limits.handshake)  # the whole handshake, not each read
        source = self.context_source
        context = source if isinstance(source, ssl.SSLContext) else source()
        # The handshake happens in the request's own thread (finish_request), so a slow or
        # silent client cannot hold up the accept loop.
        wrapped = context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return wrapped, addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.do_handshake()
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("TLS client %s: connection failed", client_address, exc_info=True)
