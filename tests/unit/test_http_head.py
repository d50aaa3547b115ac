"""Request header fields as the API servers read them (transport/http_head.py)."""

from __future__ import annotations

import io

import pytest

from swarmlet.transport.errors import HttpError
from swarmlet.transport.http_head import MAX_HEADERS, read_headers


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
