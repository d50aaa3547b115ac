"""The API's server on the unix socket: a thread per connection (http.server). The
cluster port's, over mutual TLS, is api/cluster_server.py; both refuse the same requests.

Handlers get a Request and return a JSON-able value (or raise HttpError); the server checks
access before calling them (api/access.py: the route's level, the peer's certificate, the
store's view of its node), and turns every failure into {"message": ...} as Docker does.
What a client may send, how slowly and over how many connections: transport/limits.py.
"""

from __future__ import annotations

import contextlib
import json
import logging
import select
import socket
import socketserver
import time
from http.server import BaseHTTPRequestHandler
from io import BufferedReader
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from swarmlet.api.access import NodeLookup, check_access
from swarmlet.api.results import Parked, PlainText, Streaming, wait_parked
from swarmlet.api.router import Request, Router
from swarmlet.api.statuses import http_status
from swarmlet.errors import SwarmletError
from swarmlet.transport.errors import HttpError
from swarmlet.transport.http1 import http_date, read_head
from swarmlet.transport.limits import (
    MAX_BODY,
    UNIX_LIMITS,
    Limits,
    body_length,
)
from swarmlet.transport.socket_io import PolledReader, send_all
from swarmlet.transport.unix_server import UnixSocketServer

__all__ = ["MAX_BODY", "PlainText", "Streaming", "UnixApiServer", "split_target"]

log = logging.getLogger("swarmlet.api")


def peer_closed(sock: socket.socket) -> bool:
    """Whether the client closed its end (a streamed answer's reader that left). A client
    that sends nothing while it reads a stream is readable only once it is gone."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _json_error(status: int, message: str) -> tuple[int, bytes]:
    return status, json.dumps({"message": message}).encode()


def make_handler(router: Router, local: bool, limits: Limits,
                 lookup: NodeLookup | None = None) -> type[BaseHTTPRequestHandler]:
    server_header = f"swarmletd {BaseHTTPRequestHandler.sys_version}"  # version_string()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "swarmletd"

        def setup(self) -> None:
            self.connection = self.request
            self.reader = PolledReader(self.connection)
            self.rfile = BufferedReader(self.reader)
            self.wfile = socketserver._SocketWriter(self.connection)  # type: ignore[attr-defined]

        def handle_one_request(self) -> None:
            # The request line and headers, kept-alive wait included, within `idle`.
            self.reader.deadline = time.monotonic() + limits.idle
            super().handle_one_request()

        def __getattr__(self, name: str) -> Any:
            # Every method reaches the router, which answers 404/405 for unknown ones
            # (http.server would answer 501). The usual ones are found without this.
            if name.startswith("do_"):
                return self._dispatch
            raise AttributeError(name)

        def do_GET(self) -> None:
            self._dispatch()

        do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

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
            """http.server's, with the head parsed as the cluster port parses it
            (transport/http1.py), never by http.server's email parser."""
            self.command, self.close_connection = None, True
            self.request_version = "HTTP/1.1"  # how errors are answered, until known
            self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
            if not self.requestline.strip():
                return False  # an empty line: the client has nothing to ask
            try:
                head = read_head(self.raw_requestline, self.rfile)
            except HttpError as exc:
                self.send_error(exc.status, exc.message)
                return False
            self.command, self.path, self.request_version = head.method, head.target, \
                head.version
            if self.path.startswith("//"):  # as http.server: not a scheme-relative URL
                self.path = "/" + self.path.lstrip("/")
            self.headers = head.headers  # type: ignore[assignment]
            self.close_connection = not head.keep_alive
            if head.expects_continue and head.version == "HTTP/1.1":
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

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            if log.isEnabledFor(logging.DEBUG):  # every answer comes here
                super().log_request(code, size)

        def log_message(self, format: str, *args: Any) -> None:
            if log.isEnabledFor(logging.DEBUG):  # every request comes here: format lazily
                log.debug("%s %s", self.address_string(), format % args)

        def _dispatch(self) -> None:
            content_type = "application/json"
            body_read = False
            try:
                length = body_length(self.headers)
                path, query = split_target(self.path)
                route, params = router.match(self.command, path)
                identity = None
                check_access(route.access, local, identity, lookup)
                body = self._body(length)
                body_read = True
                request = Request(self.command, path, params, query, body, local, identity)
                result = route.handler(request)
                if isinstance(result, Parked):
                    result = wait_parked(result)
                if isinstance(result, Streaming):
                    self.connection.settimeout(limits.write)
                    self._stream(result)
                    return
                status, data = 200, b""
                if isinstance(result, PlainText):
                    data, content_type = result.encode(), result.content_type
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
            self._answer(status, data, content_type)

        def _answer(self, status: int, data: bytes,
                    content_type: str = "application/json") -> None:
            """send_response, the headers and the body as one write (transport/socket_io.py):
            the same bytes, built at once."""
            self.log_request(status)
            reason = self.responses[status][0] if status in self.responses else ""
            head = (f"{self.protocol_version} {status} {reason}\r\n"
                    f"Server: {server_header}\r\nDate: {http_date()}\r\n"
                    f"Content-Type: {content_type}\r\nContent-Length: {len(data)}\r\n"
                    + ("Connection: close\r\n" if self.close_connection else "") + "\r\n")
            send_all(self.connection, head.encode("latin-1", "strict") + data, limits.write)

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
                    elif peer_closed(self.connection):  # an idle tick (b""): still there?
                        break
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


def split_target(target: str) -> tuple[str, dict[str, str]]:
    """Path and query of a request target; 400 for anything but an origin-form path."""
    if not target.startswith("/"):
        raise HttpError(400, "invalid request target: the path must start with /")
    if "?" not in target and "#" not in target and not target.startswith("//"):
        return target, {}  # what urlsplit would make of it, without its cost
    try:
        url = urlsplit(target)
        return url.path, dict(parse_qsl(url.query))
    except ValueError as exc:
        raise HttpError(400, f"invalid request target: {exc}") from exc


class UnixApiServer(UnixSocketServer):
    """The local API: root only, every route open; the same limits of time and threads."""

    limits = UNIX_LIMITS

    def __init__(self, path: Path, router: Router) -> None:
        super().__init__(path, make_handler(router, local=True, limits=self.limits))
