"""Requests that are not about the swarm (containers, images, volumes, exec, build, system)
go to the node's own dockerd unchanged: one upstream connection per request, the body
relayed as it comes (a Content-Length or chunked, any size: an image load, a build
context), the answer relayed as dockerd sends it (chunked logs and events as they come),
and a hijacked connection (attach, exec start: `Upgrade: tcp`) piped both ways until
either side ends.

A streamed answer (`logs -f`, `events`) may wait long for its next chunk: the client's side
is watched meanwhile, so a client that went away (Ctrl-C) frees its connection and
dockerd's at once, not at the next event."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from swarmlet.transport.http1 import MAX_HEAD, Headers, RequestHead

COPY = 64 * 1024
_HIJACKED = re.compile(r"^(/v[0-9.]+)?/(containers/[^/]+/attach|exec/[^/]+/start)$")


class UpstreamError(Exception):
    """dockerd could not be reached: answered 502 by the caller, before anything was sent."""


class BrokenFraming(ConnectionError):
    """A chunked body that is not: the connection ends, there is nothing to answer."""


def head_bytes(head: RequestHead) -> bytes:
    """The request's head as sent on to dockerd; `Expect: 100-continue` is answered here."""
    lines = [f"{head.method} {head.target} {head.version}"]
    lines += [f"{name}: {value}" for name, value in head.headers.items() if name != "expect"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("iso-8859-1")


def hijacks(head: RequestHead) -> bool:
    """Whether dockerd may take the connection over for this request (its answer says)."""
    path = head.target.split("?", 1)[0]
    return bool(head.headers.get("Upgrade")) or _HIJACKED.match(path) is not None


def hijacked(head: RequestHead, status: int, headers: Headers) -> bool:
    """Whether dockerd did: 101 UPGRADED, or (a client that sent no Upgrade) a 200 without
    framing, the raw stream after it. A detached exec start's 200 has a Content-Length and
    the connection stays HTTP: piping it would send the client's next requests past this
    facade."""
    if not hijacks(head):
        return False
    framed = headers.get("Content-Length") is not None or headers.get("Transfer-Encoding")
    return status == 101 or (status == 200 and not framed)


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
        try:
            raw = await up_reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise UpstreamError("the node's dockerd closed the connection without an "
                                "answer" if isinstance(exc, asyncio.IncompleteReadError)
                                else "the node's dockerd answered a head too large") from exc
        status, headers = _response_head(raw)
        writer.write(raw)
        await writer.drain()
        if hijacked(head, status, headers):
            await _pipe(reader, writer, up_reader, up_writer)
            return False
        if head.method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            reusable = True
        elif headers.get("Content-Length") is not None and not headers.get("Transfer-Encoding"):
            length = (headers.get("Content-Length") or "").strip()
            await _copy_exact(up_reader, writer, int(length) if length.isdigit() else 0)
            reusable = True
        else:  # chunked, or until dockerd closes: may last (logs -f, events)
            chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
            reusable = await _watching_client(
                reader, _copy_chunked(up_reader, writer) if chunked
                else _copy_to_end(up_reader, writer)) and chunked
        closing = "close" in (headers.get("Connection") or "").lower()
        return reusable and head.keep_alive and not closing
    finally:
        up_writer.transport.abort()


async def _watching_client(reader: asyncio.StreamReader, copy: Coroutine[Any, Any, None]) -> bool:
    """Run `copy` (an answer streamed to the client) while watching the client: if it
    closes, the copy ends at once. Whether the connection may serve another request."""
    copying = asyncio.ensure_future(copy)
    watching = asyncio.ensure_future(client_gone(reader))
    try:
        await asyncio.wait({copying, watching}, return_when=asyncio.FIRST_COMPLETED)
        if not copying.done() and watching.result():
            return False  # the client is gone: nobody to send the rest to
        await copying
        return True
    finally:
        for task in (copying, watching):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, OSError, ConnectionError):
            await asyncio.gather(copying, watching, return_exceptions=True)


async def client_gone(reader: asyncio.StreamReader) -> bool:
    """Wait until the client closes (True) or sends bytes (False: a request sent before the
    answer ended, left where it is for the next round), consuming nothing. StreamReader has
    no public wait for that; its _wait_for_data is the one every read uses."""
    if not reader._buffer and not reader.at_eof():
        await reader._wait_for_data("client_gone")
    return reader.at_eof()


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
        line = await _line(reader)
        writer.write(line)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BrokenFraming(f"bad chunk size line {line[:40]!r}") from None
        if size < 0:
            raise BrokenFraming(f"bad chunk size line {line[:40]!r}")
        if size == 0:
            while True:  # trailers, up to the empty line
                trailer = await _line(reader)
                writer.write(trailer)
                if trailer == b"\r\n":
                    await writer.drain()
                    return
        await _copy_exact(reader, writer, size + 2)  # the data and its CRLF


async def _line(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\r\n")
    except asyncio.LimitOverrunError:
        raise BrokenFraming("a chunk size or trailer line too long") from None


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
