"""Requests that are not about the swarm (containers, images, volumes, exec, build, system)
go to the node's own dockerd unchanged: one upstream connection per request, the body
relayed as it comes (a Content-Length or chunked, any size: an image load, a build
context), the answer relayed as dockerd sends it (chunked logs and events as they come),
and a hijacked connection (attach, exec start: `Upgrade: tcp`) piped both ways until
either side ends."""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path

from swarmlet.transport.http1 import MAX_HEAD, Headers, RequestHead

COPY = 64 * 1024
_HIJACKED = re.compile(r"^(/v[0-9.]+)?/(containers/[^/]+/attach|exec/[^/]+/start)$")


class UpstreamError(Exception):
    """dockerd could not be reached: answered 502 by the caller, before anything was sent."""


def head_bytes(head: RequestHead) -> bytes:
    """The request's head as sent on to dockerd; `Expect: 100-continue` is answered here."""
    lines = [f"{head.method} {head.target} {head.version}"]
    lines += [f"{name}: {value}" for name, value in head.headers.items() if name != "expect"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("iso-8859-1")


def hijacks(head: RequestHead) -> bool:
    path = head.target.split("?", 1)[0]
    return bool(head.headers.get("Upgrade")) or _HIJACKED.match(path) is not None


async def relay(head: RequestHead, reader: asyncio.StreamReader,
                writer: asyncio.StreamWriter, upstream: Path) -> bool:
    """One request to dockerd and its answer back; whether the client's connection stays
    open for another request. UpstreamError if dockerd is not there."""
    try:
        up_reader, up_writer = await asyncio.open_unix_connection(str(upstream),
                                                                  limit=MAX_HEAD)
    except OSError as exc:
        raise UpstreamError(f"the node's dockerd ({upstream}) cannot be reached: "
                            f"{exc.strerror or exc}") from exc
    try:
        if head.expects_continue:
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        up_writer.write(head_bytes(head))
        await _copy_body(head.headers, reader, up_writer)
        raw = await up_reader.readuntil(b"\r\n\r\n")
        status, headers = _response_head(raw)
        writer.write(raw)
        await writer.drain()
        if hijacks(head) and status in (101, 200):
            await _pipe(reader, writer, up_reader, up_writer)
            return False
        if head.method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            pass
        elif "chunked" in (headers.get("Transfer-Encoding") or "").lower():
            await _copy_chunked(up_reader, writer)
        elif headers.get("Content-Length") is not None:
            await _copy_exact(up_reader, writer, int(headers.get("Content-Length") or 0))
        else:  # delimited by the end of the connection
            await _copy_to_end(up_reader, writer)
            return False
        closing = "close" in (headers.get("Connection") or "").lower()
        return head.keep_alive and not closing
    finally:
        up_writer.transport.abort()


def _response_head(raw: bytes) -> tuple[int, Headers]:
    lines = raw.decode("iso-8859-1").split("\r\n")
    words = lines[0].split(None, 2)
    status = int(words[1]) if len(words) > 1 and words[1].isdigit() else 502
    fields = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            fields.append((name.strip(), value.strip()))
    return status, Headers(fields)


async def _copy_body(headers: Headers, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        await _copy_chunked(reader, writer)
    else:
        length = (headers.get("Content-Length") or "0").strip()
        await _copy_exact(reader, writer, int(length) if length.isdigit() else 0)


async def _copy_exact(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      length: int) -> None:
    while length > 0:
        data = await reader.read(min(COPY, length))
        if not data:
            raise asyncio.IncompleteReadError(b"", length)
        writer.write(data)
        await writer.drain()
        length -= len(data)


async def _copy_chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Relay a chunked body as it is, sizes and all, through its last chunk and trailers."""
    while True:
        line = await reader.readuntil(b"\r\n")
        writer.write(line)
        size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while True:  # trailers, up to the empty line
                trailer = await reader.readuntil(b"\r\n")
                writer.write(trailer)
                if trailer == b"\r\n":
                    await writer.drain()
                    return
        await _copy_exact(reader, writer, size + 2)  # the data and its CRLF


async def _copy_to_end(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(COPY):
        writer.write(data)
        await writer.drain()


async def _pipe(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter,
                up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
    """A hijacked connection: bytes both ways. The client's end of input (stdin closed) is
    passed on as a half-close; the session ends when dockerd's side ends."""

    async def upward() -> None:
        await _copy_to_end(client_reader, up_writer)
        if up_writer.can_write_eof():
            up_writer.write_eof()

    sending = asyncio.ensure_future(upward())
    try:
        await _copy_to_end(up_reader, client_writer)
        if client_writer.can_write_eof():
            with contextlib.suppress(OSError):
                client_writer.write_eof()
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError, OSError, ConnectionError):
            await sending
