"""HTTP/1.1 request heads, parsed from bytes: the cluster port's server
(transport/async_server.py) and the unix socket's (api/server.py, through read_head) both
parse with parse_head, so they refuse the same things with the same statuses: a request
line over 64 KiB is 414, a header line over 64 KiB or more than 100 headers is 431, an
unknown HTTP version, HTTP/0.9 or a header line that is not `Name: value` is 400 (as
dockerd; never a 5xx for a client's fault). http.server's own email parser is never used:
it cost ~20 µs a request, a tenth of a small write.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import BinaryIO

from swarmlet.transport.errors import HttpError

MAX_LINE = 65536  # http.server's and http.client's limit of one line
MAX_HEADERS = 100
# The most a head may hold before its end must have come: a full request line, and every
# header line at the line limit would be far more, but no real client sends that.
MAX_HEAD = 2 * MAX_LINE + 4
_SUPPORTED = frozenset({"HTTP/1.1", "HTTP/1.0"})
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


class Headers:
    """Header fields by lower-case name (what transport/limits.body_length reads)."""

    def __init__(self, fields: list[tuple[str, str]] | None = None) -> None:
        self._fields: dict[str, list[str]] = {}
        for name, value in fields or []:
            self._fields.setdefault(name.lower(), []).append(value)

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self._fields.get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str) -> list[str] | None:
        return self._fields.get(name.lower())

    def items(self) -> list[tuple[str, str]]:
        """Every field as (lower-case name, value), in order per name (a proxy's copy)."""
        return [(name, value) for name, values in self._fields.items() for value in values]


@dataclass
class RequestHead:
    method: str
    target: str
    version: str  # "HTTP/1.0" or "HTTP/1.1"
    headers: Headers = field(default_factory=Headers)

    @property
    def keep_alive(self) -> bool:
        """HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only if asked."""
        connection = (self.headers.get("Connection") or "").lower()
        if self.version == "HTTP/1.1":
            return "close" not in connection
        return "keep-alive" in connection

    @property
    def expects_continue(self) -> bool:
        return (self.headers.get("Expect") or "").lower() == "100-continue"


def parse_head(raw: bytes) -> RequestHead:
    """`raw`: the request line and header lines, up to and including the empty line."""
    text = raw.decode("iso-8859-1")  # as http.server: every byte is a character
    lines = text.split("\r\n")
    request_line = lines[0]
    if len(request_line) > MAX_LINE:
        raise HttpError(414, "request line too long")
    words = request_line.split()
    if len(words) == 2:
        raise HttpError(400, "HTTP/0.9 requests are not supported")
    if len(words) != 3:
        raise HttpError(400, f"bad request syntax ({request_line[:100]!r})")
    method, target, version = words
    _check_version(version)
    fields: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if len(line) > MAX_LINE:
            raise HttpError(431, "header line too long")
        name, colon, value = line.partition(":")
        if not colon or not name or not _TOKEN.issuperset(name):
            raise HttpError(400, f"malformed header line {line[:40]!r}: want 'Name: value'")
        fields.append((name, value.strip(" \t")))
        if len(fields) > MAX_HEADERS:
            raise HttpError(431, f"more than {MAX_HEADERS} headers")
    return RequestHead(method, target, version, Headers(fields))


def read_head(request_line: bytes, rfile: BinaryIO) -> RequestHead:
    """A head on a blocking stream (the unix socket's threaded server), its request line
    already read: the header lines up to the empty one, within the same limits."""
    lines = [request_line.rstrip(b"\r\n")]
    while True:
        line = rfile.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise HttpError(431, "header line too long")
        line = line.rstrip(b"\r\n")
        if not line:  # the empty line, or the stream's end
            return parse_head(b"\r\n".join(lines) + b"\r\n\r\n")
        if len(lines) > MAX_HEADERS:
            raise HttpError(431, f"more than {MAX_HEADERS} headers")
        lines.append(line)


def oversized(buffered: bytes) -> HttpError:
    """The error for a head that did not end within MAX_HEAD bytes: which part was long."""
    if b"\r\n" not in buffered[:MAX_LINE + 2]:
        return HttpError(414, "request line too long")
    return HttpError(431, "request header fields too large")


def _check_version(version: str) -> None:
    if version in _SUPPORTED:
        return
    if not version.startswith("HTTP/"):
        raise HttpError(400, f"bad request version ({version[:20]!r})")
    numbers = version[5:].split(".")
    if len(numbers) != 2 or not all(n.isascii() and n.isdigit() and len(n) <= 3
                                    for n in numbers):
        raise HttpError(400, f"bad request version ({version[:20]!r})")
    if (int(numbers[0]), int(numbers[1])) not in ((1, 0), (1, 1)):
        raise HttpError(400, f"unsupported HTTP version: {version[:20]}")


def status_line(status: int) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    return b"HTTP/1.1 %d %s\r\n" % (status, reason.encode())


_date: tuple[int, str] = (0, "")


def http_date() -> str:
    """The Date header's value now (http.server's date_time_string), formatted once a
    second: formatting it cost ~5 µs an answer."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, formatdate(now, usegmt=True))
    return _date[1]
