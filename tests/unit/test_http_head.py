"""Request header fields as the API servers read them (transport/http_head.py)."""

from __future__ import annotations

import io

import pytest

from swarmlet.transport.errors import HttpError
from swarmlet.transport.http_head import MAX_HEADERS, parse_request_line, read_headers


def test_fields_by_any_case_in_order_with_repeats() -> None:
    head = io.BytesIO(b"Content-Type: application/json\r\ncontent-length:  12 \r\n"
                      b"X-A: 1\r\nx-a: 2\r\n\r\n{\"body\": 1}")
    headers = read_headers(head)
    assert headers.get("Content-Length") == "12"
    assert headers["CONTENT-TYPE"] == "application/json"
    assert headers.get_all("X-A") == ["1", "2"]
    assert headers.get("Missing") is None and headers.get_all("Missing") is None
    assert "x-A" in headers and "nope" not in headers
    assert headers.items()[0] == ("Content-Type", "application/json")
    assert head.read() == b"{\"body\": 1}"  # the body is left for the handler


@pytest.mark.parametrize("raw,status", [
    (b"no colon here\r\n\r\n", 400),
    (b": no name\r\n\r\n", 400),
    (b"Bad Name: x\r\n\r\n", 400),
    (b" folded: x\r\n\r\n", 400),
    (b"X: " + b"a" * 70000 + b"\r\n\r\n", 431),
    (b"X: a\r\n" * (MAX_HEADERS + 1) + b"\r\n", 431),
])
def test_what_cannot_be_a_field_is_refused(raw: bytes, status: int) -> None:
    with pytest.raises(HttpError) as err:
        read_headers(io.BytesIO(raw))
    assert err.value.status == status


def test_a_head_cut_short_ends_the_fields() -> None:
    assert read_headers(io.BytesIO(b"Host: x\r\n")).get("host") == "x"


def test_a_request_line_gives_method_target_version_and_keep_alive() -> None:
    assert parse_request_line(b"POST /nodes/x/update?version=3 HTTP/1.1\r\n") == \
        ("POST", "/nodes/x/update?version=3", "HTTP/1.1", True)
    assert parse_request_line(b"GET //info HTTP/1.0\r\n") == ("GET", "/info", "HTTP/1.0", False)
    assert parse_request_line(b"\r\n") is None


@pytest.mark.parametrize("line,message", [
    (b"GET /_ping\r\n", "HTTP/0.9"),
    (b"GET / HTTP/1.1 extra\r\n", "Bad request syntax"),
    (b"GET / HTTX/1.1\r\n", "Bad request version"),
    (b"GET / HTTP/1.x\r\n", "Bad request version"),
    (b"GET / HTTP/2.0\r\n", "unsupported HTTP version"),
])
def test_a_request_line_that_is_not_one_is_a_400(line: bytes, message: str) -> None:
    with pytest.raises(HttpError, match=message) as err:
        parse_request_line(line)
    assert err.value.status == 400
