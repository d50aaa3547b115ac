"""The visualizer's HTTP server: the page, its assets, and the snapshot stream (SSE).

Standard library only (http.server, one thread per browser): a page for a few operators,
not a public site. Each browser holds one `text/event-stream` answer open; every new
snapshot goes to each of them whole (a few KB), and a comment line every KEEPALIVE seconds
lets proxies and the browser know the stream is alive.
"""

from __future__ import annotations

import logging
import socket
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, urlsplit

from swarmlet.client import Client
from swarmlet.visualizer import access
from swarmlet.visualizer.feed import Feed
from swarmlet.visualizer.hub import Hub

log = logging.getLogger("swarmlet.visualizer")

KEEPALIVE = 15.0
ASSETS = {"/": ("index.html", "text/html; charset=utf-8"),
          "/app.js": ("app.js", "text/javascript; charset=utf-8"),
          "/style.css": ("style.css", "text/css; charset=utf-8")}
SECURITY_HEADERS = {
    # Everything is this server's own: no other origin may supply code, styles or frames.
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def asset(name: str) -> bytes:
    return resources.files("swarmlet.visualizer").joinpath("static", name).read_bytes()


class Handler(BaseHTTPRequestHandler):
    server: VisualizerServer
    protocol_version = "HTTP/1.1"
    timeout = 60  # seconds: an idle kept-alive connection (or a stuck handshake) lets go

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The path without its query: a ?token= must never reach a log.
        log.info("%s %s %s %s", self.address_string(), self.command,
                 urlsplit(self.path).path, code)

    def log_message(self, format: str, *args: object) -> None:
        log.debug(format, *args)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if not self._allowed(url):
            return
        if url.path == "/stream":
            self._stream()
        elif url.path in ASSETS:
            name, content_type = ASSETS[url.path]
            self._send(200, content_type, asset(name))
        elif url.path == "/favicon.ico":  # browsers ask; there is none
            self._send(204, "text/plain", b"")
        elif url.path == "/snapshot":
            self._send(200, "application/json", self.server.hub.latest()[1].encode())
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found\n")

    def _allowed(self, url) -> bool:
        guard = self.server.guard
        if guard.certificate and not self._certificate_ok():
            self._send(403, "text/plain; charset=utf-8",
                       b"a client certificate with manager access to this swarm is required\n")
            return False
        if guard.token is None:
            return True
        from_url = (parse_qs(url.query).get("token") or [None])[0]
        if access.token_matches(from_url, guard.token):
            # Keep it in a cookie and drop it from the address bar (history, screenshots).
            self.send_response(303)
            self.send_header("Location", url.path or "/")
            self.send_header("Set-Cookie", access.set_cookie(guard.token,
                                                             self.server.secure))
            self.send_header("Content-Length", "0")
            self._security_headers()
            self.end_headers()
            return False
        presented = (access.bearer_token(self.headers.get("Authorization"))
                     or access.cookie_token(self.headers.get("Cookie")))
        if access.token_matches(presented, guard.token):
            return True
        self._send(401, "text/plain; charset=utf-8",
                   b"this visualizer needs its token: open it once as /?token=TOKEN\n")
        return False

    def _certificate_ok(self) -> bool:
        cert = self.connection.getpeercert() if isinstance(self.connection,
                                                           ssl.SSLSocket) else None
        return bool(cert) and access.certificate_allowed(cert.get("subject", ()),
                                                         self.server.hub.manager_ids)

    def _security_headers(self) -> None:
        for key, value in SECURITY_HEADERS.items():
            self.send_header(key, value)

    def _send(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self._security_headers()
        self.end_headers()
        self.wfile.write(body)

    def _stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self._security_headers()
        self.end_headers()
        self.close_connection = True
        hub = self.server.hub
        seen, data = hub.latest()
        try:
            if data:
                self._event(data)
            while not self.server.stopping:
                version, data = hub.wait(seen, KEEPALIVE)
                if version == seen:
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    continue
                seen = version
                self._event(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            pass  # the browser went away

    def _event(self, data: str) -> None:
        self.wfile.write(f"event: snapshot\ndata: {data}\n\n".encode())
        self.wfile.flush()


class VisualizerServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], guard: access.Guard, hub: Hub,
                 tls: ssl.SSLContext | None) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, Handler)
        self.guard, self.hub, self.stopping = guard, hub, False
        self.secure = tls is not None
        if tls is not None:
            # The handshake happens in the request's thread: a slow client never holds up
            # the others' accept.
            self.socket = tls.wrap_socket(self.socket, server_side=True,
                                          do_handshake_on_connect=False)

    def handle_error(self, request: object, client_address: tuple) -> None:
        log.info("request from %s failed: %s", client_address[0],
                 sys.exc_info()[1])


def tls_context(cert: str, key: str, ca_pem: str) -> ssl.SSLContext:
    """HTTPS that asks every client for a certificate signed by the swarm's root CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    context.load_verify_locations(cadata=ca_pem)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def serve(listen: str, host: str | None, token: str | None, tls_cert: str | None,
          tls_key: str | None) -> None:
    """Serve until interrupted (Ctrl-C, SIGTERM through the caller)."""
    address = access.parse_listen(listen)
    guard = access.guard_for(address[0], token, tls_cert is not None)
    tls = None
    if tls_cert is not None and tls_key is not None:
        ca = Client(host).get("/ca/root")  # the swarm's root CA: public
        tls = tls_context(tls_cert, tls_key, ca.decode() if isinstance(ca, bytes) else ca)
    hub = Hub()
    server = VisualizerServer(address, guard, hub, tls)
    feed = Feed(host, hub.publish)
    feed.start()
    scheme = "https" if tls else "http"
    shown = f"[{address[0]}]" if ":" in address[0] else address[0]
    print(f"swarmlet visualizer on {scheme}://{shown}:{address[1]}/"
          + (" (open it once with ?token=TOKEN)" if token else ""), flush=True)
    try:
        server.serve_forever()
    finally:
        server.stopping = True
        feed.stop()
        server.server_close()
