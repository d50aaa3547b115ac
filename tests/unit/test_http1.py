"""The cluster port's request heads (transport/http1.py): what is parsed, and what is refused
with which status, as the unix socket's http.server refuses it."""

from __future__ import annotations

import io

import pytest

from swarmlet.transport.errors import HttpError
from swarmlet.transport.http1 import MAX_LINE, oversized, parse_head, read_head, status_line
from swarmlet.transport.limits import body_length


def test_a_request_head_with_its_headers():
    head = parse_head(b"POST /dispatcher/heartbeat?x=1 HTTP/1.1\r\nHost: m1\r\n"
                      b"content-length: 12\r\nX-Twice: a\r\nX-TWICE: b\r\n\r\n")
    assert (head.method, head.target, head.version) == ("POST", "/dispatcher/heartbeat?x=1",
                                                        "HTTP/1.1")
    assert head.headers.get("Content-Length") == "12"
    assert head.headers.get_all("x-twice") == ["a", "b"]
    assert body_length(head.headers) == 12
    assert head.keep_alive and not head.expects_continue


@pytest.mark.parametrize("connection,version,kept", [
    ("", "HTTP/1.1", True), ("close", "HTTP/1.1", False), ("Close", "HTTP/1.1", False),
    ("", "HTTP/1.0", False), ("keep-alive", "HTTP/1.0", True)])
def test_keep_alive_follows_the_version_and_the_connection_header(connection, version, kept):
    head = parse_head(f"GET /_ping {version}\r\nConnection: {connection}\r\n\r\n".encode())
    assert head.keep_alive is kept


@pytest.mark.parametrize("raw,status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /_ping\r\n\r\n", 400),  # HTTP/0.9
    (b"GET /_ping HTTP/9.9\r\n\r\n", 400),
    (b"GET /_ping HTTP/2.0\r\n\r\n", 400),
    (b"GET /_ping HTTP/1.x\r\n\r\n", 400),
    (b"GET /_ping FTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/1.1 extra\r\n\r\n", 400),
    (b"GET /" + b"a" * MAX_LINE + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_LINE + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\n" + b"X: a\r\n" * 101 + b"\r\n", 431),
])
def test_malformed_heads_are_client_errors(raw, status):
    with pytest.raises(HttpError) as exc:
        parse_head(raw)
    assert exc.value.status == status


def test_bytes_are_latin_1():
    head = parse_head(b"GET /\xff HTTP/1.1\r\nA: \xe9\r\n\r\n")
    assert head.target == "/\xff"
    assert head.headers.get("A") == "\xe9"


@pytest.mark.parametrize("line", [b"no colon here", b": no name", b"Bad Name: x", b" folded: x"])
def test_a_line_that_is_not_a_field_is_a_400_as_dockerd_answers_it(line):
    with pytest.raises(HttpError) as exc:
        parse_head(b"GET / HTTP/1.1\r\n" + line + b"\r\n\r\n")
    assert exc.value.status == 400


def test_a_head_read_from_a_stream_leaves_the_body():
    stream = io.BytesIO(b"Content-Length: 2\nX: 1\r\n\r\n{}")
    head = read_head(b"POST /x HTTP/1.0\r\n", stream)
    assert (head.method, head.headers.get("x"), head.keep_alive) == ("POST", "1", False)
    assert stream.read() == b"{}"
    with pytest.raises(HttpError) as exc:
        read_head(b"GET / HTTP/1.1\r\n", io.BytesIO(b"X: a\r\n" * 101 + b"\r\n"))
    assert exc.value.status == 431


def test_a_head_that_never_ends_names_the_long_part():
    assert oversized(b"GET /" + b"a" * (MAX_LINE + 10)).status == 414
    assert oversized(b"GET / HTTP/1.1\r\nX: " + b"a" * (MAX_LINE + 10)).status == 431


def test_status_lines():
    assert status_line(200) == b"HTTP/1.1 200 OK\r\n"
    assert status_line(431) == b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
