"""An HTTP/1.1 server over TLS on one asyncio loop: thousands of kept-alive connections
without a thread each (the managers' cluster port, where every node of the swarm holds one
for its heartbeats and one for its assignments' long poll).

The guards of the threaded servers hold here too (transport/limits.py): connections are
counted per peer and in all and refused before the TLS handshake; the handshake, the head
(with a kept-alive wait), the body and each write of the answer have deadlines for the whole
of it, so a client that drips bytes cannot hold a connection; the head and body are capped
in size. One request at a time per connection, in order. What a request means is the
handler's business (api/cluster_server.py): it gets the parsed head and a coroutine that
reads the body, and answers a Response.

The loop runs in the thread that calls serve_forever(); shutdown() may be called from any
other, as with socketserver.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import ssl
import threading
from asyncio import sslproto
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from swarmlet.transport.errors import HttpError
from swarmlet.transport.http1 import MAX_HEAD, RequestHead, oversized, parse_head, status_line
from swarmlet.transport.limits import ConnectionLimiter, Limits, body_length

log = logging.getLogger("swarmlet.api")

# asyncio gives every TLS connection a 256 KiB read buffer (sslproto.SSLProtocol.max_size),
# filled at once: 10,000 node connections held 2.5 GB. Two TLS records' worth is plenty for
# requests of a few hundred bytes; a 4 MiB body is read in more steps.
SSL_READ_BUFFER = 32 * 1024
sslproto.SSLProtocol.max_size = SSL_READ_BUFFER
FREEZE_FROM = 1000  # open connections before the collector is told to skip them

ContextSource = ssl.SSLContext | Callable[[], ssl.SSLContext]


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    close: bool = False  # close the connection after this answer
    chunks: AsyncIterator[bytes] | None = None  # sent chunked, as produced, instead of body


def json_error(status: int, message: str, close: bool = False) -> Response:
    return Response(status, json.dumps({"message": message}).encode(), close=close)


@dataclass(eq=False)
class Connection:
    """What a handler knows of its client; `cache` lives as long as the connection."""

    peer: str
    ssl_object: Any  # ssl.SSLObject: getpeercert() as on an SSLSocket
    cache: dict[str, Any] = field(default_factory=dict)
    # When the current read must have ended (loop time; None while a handler runs), and
    # whether the sweeper found it past that: its reader then sees the end of the stream.
    deadline: float | None = None
    expired: bool = False
    reader: asyncio.StreamReader | None = None


BodyReader = Callable[[], Awaitable[bytes]]
Handler = Callable[[Connection, RequestHead, BodyReader], Awaitable[Response]]


class RawHandler(Protocol):
    """Serves the requests it claims by itself, body and answer, on the connection's
    streams (the Docker Engine API: its proxy to dockerd relays bodies of any size, chunked
    ones too, and hijacked connections). `serve` answers whether the connection stays open
    for another request."""

    def claims(self, head: RequestHead) -> bool: ...

    async def serve(self, conn: Connection, head: RequestHead,
                    reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool: ...


class AsyncTlsServer:
    def __init__(self, address: tuple[str, int] | Path, context: ContextSource | None,
                 limits: Limits, handler: Handler, raw: RawHandler | None = None) -> None:
        """`address`: a TCP address, served with TLS from `context`; or the path of a unix
        socket (root only), served in clear with `context` None."""
        self.limits = limits
        self.limiter = ConnectionLimiter(limits)
        self.handler = handler
        self.raw = raw
        self._context = context
        self.loop = asyncio.new_event_loop()
        # Bound now, as socketserver does, so a taken port fails in the constructor.
        if isinstance(address, Path):
            self._server = self.loop.run_until_complete(_unix_server(self._serve, address))
            self.server_address: Any = str(address)
        else:
            self._server = self.loop.run_until_complete(asyncio.start_server(
                self._serve, address[0], address[1], limit=MAX_HEAD, backlog=1024,
                reuse_address=True))
            self.server_address = self._server.sockets[0].getsockname()[:2]
        self._stopped = threading.Event()
        self._running = False
        self._connections: set[Connection] = set()
        self._frozen_at = 0  # open connections when the collector last froze (gc.freeze)
        # Deadlines are enforced by one sweep over the connections, not a timer per read
        # (a timer per request is measurable at 1,000 heartbeats a second); a read ends at
        # most `sweep` after its deadline.
        self.sweep = min(1.0, limits.idle / 4, limits.body / 4)
        self.loop.call_soon(self._sweep)

    # --- socketserver's interface (node/swarm.py starts and stops servers this way) ---------

    def serve_forever(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._running = True
        try:
            self.loop.run_forever()
        finally:
            self._running = False
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop serving: refuse new connections and end the loop (from another thread)."""
        if self._running and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._server.close)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._stopped.wait(10)

    def server_close(self) -> None:
        if self.loop.is_closed() or self._running:
            return
        self._server.close()
        # Connections end with the loop: their cancellation is no error worth a log line.
        self.loop.set_exception_handler(lambda _loop, _context: None)
        for task in asyncio.all_tasks(self.loop):
            task.cancel()
        with contextlib.suppress(Exception):
            self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()

    def _freeze_if_grown(self) -> None:
        """Kept-alive connections live as long as the nodes that hold them, and each is
        dozens of objects that the garbage collector's full collections walk, holding the
        GIL: at 2,000 nodes one such collection stalled the loop, and every heartbeat, for
        a quarter of a second. Once the open connections have grown by a quarter since the
        last time (and are FREEZE_FROM at least), the young garbage is collected and
        everything alive is moved out of the collector's sight (gc.freeze: still freed by
        reference counting when it goes, only no longer walked)."""
        count = len(self._connections)
        if count >= FREEZE_FROM and count >= self._frozen_at * 1.25:
            self._frozen_at = count
            gc.collect(1)
            gc.freeze()

    def _sweep(self) -> None:
        now = self.loop.time()
        for conn in self._connections:
            if conn.deadline is not None and now > conn.deadline and not conn.expired:
                conn.expired = True
                if conn.reader is not None:
                    conn.reader.feed_eof()  # its pending read ends, short
        self.loop.call_later(self.sweep, self._sweep)

    # --- a connection --------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = str((writer.get_extra_info("peername") or ("local",))[0] or "local")
        if not self.limiter.acquire(peer):
            writer.transport.abort()  # before the handshake: a refused peer costs nothing
            return
        try:
            if await self._handshake(writer):
                conn = Connection(peer, writer.get_extra_info("ssl_object"), reader=reader)
                self._connections.add(conn)
                self._freeze_if_grown()
                try:
                    while await self._one_request(conn, reader, writer):
                        pass
                finally:
                    self._connections.discard(conn)
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError, TimeoutError):
            pass  # the client went away or was too slow: nothing to answer
        except Exception:
            log.exception("cluster port: connection from %s failed", peer)
        finally:
            self.limiter.release(peer)
            writer.transport.abort()

    async def _handshake(self, writer: asyncio.StreamWriter) -> bool:
        source = self._context
        if source is None:
            return True  # a unix socket: no TLS
        context = source if isinstance(source, ssl.SSLContext) else source()
        try:
            async with asyncio.timeout(self.limits.handshake):
                await writer.start_tls(context, ssl_handshake_timeout=self.limits.handshake)
            return True
        except (OSError, ssl.SSLError, TimeoutError, ConnectionError):
            log.debug("cluster port: TLS handshake failed", exc_info=True)
            return False

    async def _one_request(self, conn: Connection, reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter) -> bool:
        """Serve one request; whether the connection stays open for another."""
        conn.deadline = self.loop.time() + self.limits.idle  # the kept-alive wait included
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            buffered = await reader.read(MAX_HEAD)
            await self._write(writer, _error_response(oversized(buffered)))
            return False
        except asyncio.IncompleteReadError:
            return False  # closed, or too slow, between requests or mid-head: no answer
        conn.deadline = None
        try:
            head = parse_head(raw)
            if self.raw is not None and self.raw.claims(head):
                return await self.raw.serve(conn, head, reader, writer)
            length = body_length(head.headers)
        except HttpError as exc:
            await self._write(writer, _error_response(exc))
            return False
        body_read = length == 0

        async def read_body() -> bytes:
            nonlocal body_read
            if head.expects_continue:
                writer.write(status_line(100) + b"\r\n")
            conn.deadline = self.loop.time() + self.limits.body
            try:
                data = await reader.readexactly(length) if length else b""
            except asyncio.IncompleteReadError:
                if conn.expired:
                    raise HttpError(408, "request body not received in time") from None
                raise HttpError(400, "request body ended before its Content-Length") from None
            finally:
                conn.deadline = None
            body_read = True
            return data

        try:
            response = await self.handler(conn, head, read_body)
        except HttpError as exc:
            response = json_error(exc.status, exc.message)
        except Exception as exc:
            log.exception("%s %s failed", head.method, head.target[:200])
            response = json_error(500, f"internal error: {exc}")
        # An unread body must not be taken for the next request.
        close = response.close or not body_read or not head.keep_alive
        response.close = close
        await self._write(writer, response)
        return not close

    async def _write(self, writer: asyncio.StreamWriter, response: Response) -> None:
        if response.chunks is not None:
            await self._stream(writer, response.chunks)
            return
        head = [status_line(response.status),
                b"Server: swarmletd\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                % (response.content_type.encode(), len(response.body))]
        if response.close:
            head.append(b"Connection: close\r\n")
        writer.write(b"".join(head) + b"\r\n" + response.body)
        await self._drain(writer)

    async def _drain(self, writer: asyncio.StreamWriter) -> None:
        """Wait while the client reads slowly, up to the write limit. Most answers leave
        nothing buffered: no timer then (a timer per answer is measurable at 1,000/s)."""
        if writer.transport.get_write_buffer_size() == 0:
            return
        async with asyncio.timeout(self.limits.write):
            await writer.drain()

    async def _stream(self, writer: asyncio.StreamWriter, chunks: AsyncIterator[bytes]) -> None:
        writer.write(status_line(200) + b"Server: swarmletd\r\nContent-Type: text/plain; "
                     b"charset=utf-8\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        try:
            async for chunk in chunks:
                if chunk:
                    writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    await self._drain(writer)
            writer.write(b"0\r\n\r\n")
            await self._drain(writer)
        finally:
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()


async def _unix_server(serve: Callable[..., Awaitable[None]], path: Path) -> asyncio.Server:
    """A unix socket server only root may reach: made in a private mode, the socket file
    replaced if a stopped agent left one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    old = os.umask(0o177)
    try:
        return await asyncio.start_unix_server(serve, str(path), limit=MAX_HEAD, backlog=1024)
    finally:
        os.umask(old)


def _error_response(exc: HttpError) -> Response:
    return json_error(exc.status, exc.message, close=True)
