"""The Engine API's HTTP side: which requests it takes, the version prefix, access, the
body, the handler (in a thread: it may write to Raft), Docker's answer and errors; what no
route here claims goes to dockerd (proxy.py).

On the engine socket (/run/swarmlet/docker.sock, root only) every request is the Engine
API's. On the managers' cluster port it takes versioned paths (`/v1.41/...`, what every
Docker client sends once it negotiated) and /_ping; the agent's own API keeps the rest.
There only a manager certificate (a manager node's, or an operator's from `swarmlet swarm
ca client-cert`) may use it, the proxy to dockerd included.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from swarmlet import __version__
from swarmlet.api.engine import versions
from swarmlet.api.engine.answers import Answer
from swarmlet.api.engine.filters import parse_filters
from swarmlet.api.engine.proxy import COPY, UpstreamError, client_gone, relay
from swarmlet.api.engine.unsupported import not_served
from swarmlet.api.engine.upstream import Dockerd
from swarmlet.api.router import Request, Route, Router
from swarmlet.api.server import split_target
from swarmlet.api.statuses import http_status
from swarmlet.errors import SwarmletError
from swarmlet.transport.async_server import Connection
from swarmlet.transport.errors import HttpError
from swarmlet.transport.http1 import RequestHead, http_date, status_line
from swarmlet.transport.limits import Limits, body_length

log = logging.getLogger("swarmlet.api")

WORKERS = 16
# After an error answered before the body was read: how long and how much of the rest of
# the body to drop before closing.
LINGER_SECONDS = 2.0
LINGER_BYTES = 8 << 20
MAX_STREAMS = 64
# Docker's swarm endpoints: a path under these that no route serves is not dockerd's either.
SWARM_SEGMENTS = frozenset({"swarm", "nodes", "services", "tasks", "secrets", "configs"})


class _Proxy:
    """A handler's answer meaning: this one is dockerd's after all (GET /events without a
    swarm filter); only for requests without a body."""


PROXY = _Proxy()

Authorize = Callable[[Connection], Any]


class EngineState:
    """What every engine listener of this node shares: its routes, threads and dockerd."""

    def __init__(self, router: Router, dockerd_socket: Path) -> None:
        self.router = router
        self.dockerd_socket = dockerd_socket
        self.dockerd = Dockerd(dockerd_socket)
        self.pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="engine")
        self.streams = ThreadPoolExecutor(MAX_STREAMS, thread_name_prefix="engine-stream")
        self._highest: str | None = None
        self._server = f"Docker/{__version__} (linux)"
        self._lock = threading.Lock()

    def highest(self) -> str:
        """The highest API version answered (versions.py); asks dockerd once."""
        with self._lock:
            if self._highest is None:
                try:
                    theirs = str(self.dockerd.get("/version").get("ApiVersion") or "")
                    self._highest = versions.lower(versions.ENGINE_MAX, theirs) \
                        if theirs else versions.ENGINE_MAX
                except (HttpError, ValueError, AttributeError):
                    return versions.ENGINE_MAX  # asked again next time
            return self._highest

    def headers(self) -> bytes:
        return (f"Api-Version: {self._highest or versions.ENGINE_MAX}\r\n"
                f"Docker-Experimental: false\r\nOstype: linux\r\n"
                f"Server: {self._server}\r\nDate: {http_date()}\r\n").encode()

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.streams.shutdown(wait=False, cancel_futures=True)


class EngineFrontend:
    """A RawHandler (transport/async_server.py) for one listener."""

    def __init__(self, state: EngineState, limits: Limits, local: bool,
                 authorize: Authorize | None = None) -> None:
        self.state = state
        self.limits = limits
        self.local = local
        self.authorize = authorize

    def claims(self, head: RequestHead) -> bool:
        if self.local:
            return True
        target = head.target
        # /version unversioned too: the docker SDK and community.docker ask it first to
        # negotiate (version="auto"); the agent's own CLI reads the swarmlet component.
        return versions.is_versioned(target) or target.split("?", 1)[0] in ("/_ping",
                                                                            "/version")

    async def serve(self, conn: Connection, head: RequestHead,
                    reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        loop = asyncio.get_running_loop()
        body_read = not _has_body(head)
        try:
            path, query = split_target(head.target)
            identity = None
            # Before anything else, a refused client learns nothing; /_ping stays public,
            # as on the agent's own API (docs/api.md).
            if not self.local and path != "/_ping":
                assert self.authorize is not None
                identity = self.authorize(conn)
            highest = await loop.run_in_executor(self.state.pool, self.state.highest)
            version, bare = versions.split_version(path, highest)
            matched = self._match(head.method, bare)
            if matched is None:
                parse_filters(query.get("filters"), None)  # a client's fault is no 500
                return await self._relay(head, reader, writer)
            route, params = matched
            raw = await self._body(head, reader, writer)
            body_read = True
            request = Request(head.method, bare, params, query, raw, self.local, identity,
                              api_version=version or highest)
            answer = await loop.run_in_executor(self.state.pool, _call, route, request)
            if answer is PROXY:  # its body, if any, is read: dockerd would wait for it
                if _has_body(head):
                    raise HttpError(400, f"{head.method} {bare} takes no request body")
                return await self._relay(head, reader, writer)
        except HttpError as exc:
            answer = Answer(exc.status, {"message": exc.message})
            if not body_read:  # what is left of it must not be taken for the next request
                await self._write(writer, answer, close=True)
                await _linger(reader, writer)
                return False
        assert isinstance(answer, Answer)
        if answer.stream is not None:
            await self._stream(reader, writer, answer)
            return False
        return await self._write(writer, answer, close=not head.keep_alive,
                                 head_only=head.method == "HEAD")

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route serving this request; None: dockerd's. Under the swarm's paths a
        route of Docker's that no handler here serves is 501 (unsupported.py), any other
        path 404 "page not found" (as dockerd), a known path with another method 405."""
        try:
            return self.state.router.match(method, path)
        except HttpError as exc:
            first = path.split("/", 2)[1] if path.startswith("/") else ""
            if first not in SWARM_SEGMENTS:
                return None
            why = not_served(method, path)
            if why is not None:
                raise HttpError(501, why) from exc
            raise HttpError(exc.status, "page not found" if exc.status == 404
                            else exc.message) from exc

    async def _relay(self, head: RequestHead, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> bool:
        try:
            return await relay(head, reader, writer, self.state.dockerd_socket)
        except UpstreamError as exc:
            await self._write(writer, Answer(502, {"message": str(exc)}), close=True)
            return False

    async def _body(self, head: RequestHead, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> Any:
        length = body_length(head.headers)
        if not length:
            return None
        if head.expects_continue:
            writer.write(status_line(100) + b"\r\n")
        try:
            async with asyncio.timeout(self.limits.body):
                raw = await reader.readexactly(length)
        except TimeoutError:
            raise HttpError(408, "request body not received in time") from None
        except asyncio.IncompleteReadError:
            raise HttpError(400, "request body ended before its Content-Length") from None
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise HttpError(400, f"request body is not valid JSON: {exc}") from exc

    async def _write(self, writer: asyncio.StreamWriter, answer: Answer, close: bool,
                     head_only: bool = False) -> bool:
        if answer.text is not None:
            body, content_type = answer.text.encode(), "text/plain; charset=utf-8"
        elif answer.body is None or answer.status == 204:
            body, content_type = b"", answer.content_type
        else:
            body, content_type = json.dumps(answer.body).encode() + b"\n", answer.content_type
        head = [status_line(answer.status), self.state.headers()]
        head += [f"{name}: {value}\r\n".encode() for name, value in answer.headers]
        if answer.status != 204:
            head.append(b"Content-Type: %s\r\nContent-Length: %d\r\n"
                        % (content_type.encode(), len(body)))
        if close:
            head.append(b"Connection: close\r\n")
        writer.write(b"".join(head) + b"\r\n" + (b"" if head_only else body))
        async with asyncio.timeout(self.limits.write):
            await writer.drain()
        return not close

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      answer: Answer) -> None:
        """A handler's stream, chunked as produced, in a thread per step (a step may wait for
        the next log line). The client is watched meanwhile: once it is gone the stream
        ends at its next step (a b"" step is a tick for that: answers.Answer), not at a
        write that may never come; its iterator is closed when no step is running."""
        loop = asyncio.get_running_loop()
        chunks: Iterator[bytes] = answer.stream  # type: ignore[assignment]
        writer.write(status_line(answer.status) + self.state.headers()
                     + b"Content-Type: %s\r\nTransfer-Encoding: chunked\r\n"
                       b"Connection: close\r\n\r\n" % answer.content_type.encode())
        gone: asyncio.Future[bool] = asyncio.ensure_future(client_gone(reader))
        step: asyncio.Future[bytes | None] | None = None
        try:
            while True:
                step = loop.run_in_executor(self.state.streams, next, chunks, None)
                await asyncio.wait({step, gone}, return_when=asyncio.FIRST_COMPLETED)
                if gone.done() and (gone.cancelled() or gone.exception() or gone.result()):
                    break  # the client closed: nobody to send the rest to
                if gone.done():  # it sent bytes: not a close; stop watching
                    gone = loop.create_future()
                if not step.done():
                    await step
                chunk = step.result()
                step = None
                if chunk is None:
                    writer.write(b"0\r\n\r\n")
                    await writer.drain()
                    break
                if chunk:
                    writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    async with asyncio.timeout(self.limits.write):
                        await writer.drain()
        finally:
            gone.cancel()
            close = getattr(chunks, "close", None)
            if close is not None:
                if step is not None and not step.done():  # busy: close it once it returns
                    step.add_done_callback(lambda _: self.state.streams.submit(close))
                else:
                    await loop.run_in_executor(self.state.streams, close)


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """After an answer that left the body unread: end our side, and read and drop what the
    client still sends for a moment before closing, so it gets to read the answer (a
    client still writing its body into a closed socket sees a broken pipe instead)."""
    if writer.can_write_eof():
        with contextlib.suppress(OSError):
            writer.write_eof()
    dropped = 0
    with contextlib.suppress(TimeoutError, OSError, ConnectionError):
        async with asyncio.timeout(LINGER_SECONDS):
            while dropped < LINGER_BYTES and (data := await reader.read(COPY)):
                dropped += len(data)


def _has_body(head: RequestHead) -> bool:
    length = (head.headers.get("Content-Length") or "0").strip()
    return bool(head.headers.get("Transfer-Encoding")) or length not in ("", "0")


def _call(route: Route, request: Request) -> Answer | _Proxy:
    """In the pool: the handler, and its answer or error in Docker's shape."""
    try:
        result = route.handler(request)
    except HttpError as exc:
        return Answer(exc.status, {"message": exc.message})
    except SwarmletError as exc:
        return Answer(http_status(exc), {"message": str(exc)})
    except Exception as exc:
        log.exception("engine API: %s %s failed", request.method, request.path)
        return Answer(500, {"message": f"internal error: {exc}"})
    if isinstance(result, Answer | _Proxy):
        return result
    return Answer(200, result)
