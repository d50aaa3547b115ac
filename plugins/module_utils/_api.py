# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The swarmletd API client used by the modules and the inventory plugin.

Standard library only: modules run on the target's own Python, where the agent's own
dependencies may be absent. The agent is reached on its unix socket (the default; root on a
node) or on a manager's cluster port over mutual TLS, with a client certificate issued by the
swarm's CA (``swarmlet swarm ca client-cert``).
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from urllib.parse import urlencode, urlsplit

DEFAULT_HOST = "unix:///run/swarmlet/swarmlet.sock"


class SwarmletAPIError(Exception):
    """The agent answered with an error (``status`` > 0) or could not be reached (0)."""

    def __init__(self, message, status=0):
        super().__init__(message)
        self.message = message
        self.status = status


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        http.client.HTTPConnection.__init__(self, "localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def tls_context(ca_path, client_cert=None, client_key=None):
    """Verify the manager against the swarm's root CA and present our client certificate.

    Nodes are addressed by IP and their certificates name node IDs, so host names are not
    checked: trust comes from the swarm's own CA alone.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cafile=ca_path)
    if client_cert:
        ctx.load_cert_chain(client_cert, client_key)
    return ctx


class SwarmletClient:
    """HTTP+JSON calls to swarmletd. Every failure raises SwarmletAPIError."""

    def __init__(self, host=None, ca_path=None, client_cert=None, client_key=None,
                 timeout=60):
        self.host = host or DEFAULT_HOST
        self.timeout = timeout
        url = urlsplit(self.host)
        self._scheme = url.scheme
        if url.scheme == "unix":
            self._path = url.path
        elif url.scheme in ("tcp", "https"):
            if not ca_path:
                raise SwarmletAPIError(
                    f"swarmlet_host {self.host} is a manager's cluster port: ca_path (the "
                    "swarm's root CA) and client_cert/client_key are required")
            if bool(client_cert) != bool(client_key):
                raise SwarmletAPIError("client_cert and client_key must be given together")
            self._addr = (url.hostname or "", url.port or 2377)
            try:
                self._context = tls_context(ca_path, client_cert, client_key)
            except (OSError, ssl.SSLError) as exc:
                raise SwarmletAPIError(f"cannot load the TLS files: {exc}") from None
        else:
            raise SwarmletAPIError(
                f'invalid swarmlet_host "{self.host}": use unix:///path/to/socket or tcp://HOST:PORT')

    def _connection(self):
        if self._scheme == "unix":
            return _UnixHTTPConnection(self._path, self.timeout)
        return http.client.HTTPSConnection(self._addr[0], self._addr[1],
                                           timeout=self.timeout, context=self._context)

    def request(self, method, path, body=None, query=None):
        if query:
            path = f"{path}?{urlencode(query)}"
        payload = json.dumps(body).encode("utf-8") if body is not None else None
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        conn = self._connection()
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise SwarmletAPIError(
                f"Cannot connect to the swarmlet daemon at {self.host} ({exc}). "
                "Is swarmletd running?") from None
        finally:
            conn.close()
        data = raw
        if raw and response.getheader("Content-Type", "").startswith("application/json"):
            data = json.loads(raw.decode("utf-8"))
        elif isinstance(raw, bytes):
            data = raw.decode("utf-8", "replace")
        if response.status >= 400:
            message = data.get("message") if isinstance(data, dict) else None
            raise SwarmletAPIError(message or f"HTTP {response.status}", response.status)
        return data

    def get(self, path, **query):
        return self.request("GET", path, query=query or None)

    def post(self, path, body=None, **query):
        return self.request("POST", path, body, query=query or None)

    def delete(self, path, **query):
        return self.request("DELETE", path, query=query or None)

    def dry_run(self, method, path, body=None, **query):
        """The agent's plan of a write (``?dry_run=1``): the request the write would make,
        answered with what it would do (the normalised spec, its Diff, the placement) and
        nothing written. Check mode and diff mode are views of it."""
        return self.request(method, path, body, query=dict(query, dry_run=1))

    # --- what several modules ask -------------------------------------------------------------

    def local_info(self):
        """/info of the agent on the unix socket; None when talking to a remote manager
        (the call is local-only)."""
        if self._scheme != "unix":
            return None
        return self.get("/info")["Swarm"]

    def get_or_none(self, path):
        try:
            return self.get(path)
        except SwarmletAPIError as exc:
            if exc.status == 404:
                return None
            raise
