"""The managers' cluster port (2377): the API over mutual TLS on one asyncio loop
(transport/async_server.py), so every node of a large swarm can hold its connections here
without a thread each (SwarmKit's dispatcher serves its gRPC streams the same way).

On the loop: TLS, the request's head and body, the route, and the access check (the peer's
certificate is verified once per connection, and again each IDENTITY_RECHECK seconds; the
store's view of its node at every request, as on the threaded server). In a bounded pool of
threads: the JSON body, the handler, the JSON answer; a route marked `inline` (heartbeats,
answered from memory; assignments, which only park a poll) runs on the loop, without the
hop to a thread and back: after a change every node polls again at once. A long poll
(the assignments of a node) waits parked on the loop, woken by the dispatcher
(transport/parked_polls.py); a stream (`logs -f`) holds one thread of its own pool, up to
MAX_STREAMS at once.
"""

from __future__ import annotations

import json
import logging
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from swarmlet.api.access import NodeLookup, check_access
from swarmlet.api.engine.frontend import EngineFrontend, EngineState
from swarmlet.api.results import Parked, PlainText, Streaming
from swarmlet.api.router import Request, Route, Router
from swarmlet.api.server import split_target
from swarmlet.api.statuses import http_status
from swarmlet.ca.identity import NodeIdentity
from swarmlet.errors import SwarmletError
from swarmlet.transport.async_server import (
    AsyncTlsServer,
    BodyReader,
    Connection,
    ContextSource,
    Response,
    json_error,
)
from swarmlet.transport.errors import HttpError
from swarmlet.transport.http1 import RequestHead
from swarmlet.transport.limits import CLUSTER_LIMITS, Limits
from swarmlet.transport.parked_polls import ParkedPolls

log = logging.getLogger("swarmlet.api")

WORKERS = 32  # handlers at once; a Raft write holds one for a commit round
MAX_STREAMS = 64
IDENTITY_RECHECK = 60.0  # seconds: an expired certificate stops working within this

Identify = Callable[[Any], NodeIdentity | None]


def _encode(value: Any) -> bytes:
    return json.dumps(value).encode()


class ClusterApiServer(AsyncTlsServer):
    def __init__(self, address: tuple[str, int], router: Router, context: ContextSource,
                 identify: Identify, lookup: NodeLookup | None,
                 limits: Limits = CLUSTER_LIMITS, workers: int = WORKERS,
                 engine: EngineState | None = None) -> None:
        # The Docker Engine API beside the agent's own: versioned paths and /_ping.
        raw = EngineFrontend(engine, limits, False, self._engine_access) if engine else None
        super().__init__(address, context, limits, self._handle, raw)
        self.router = router
        self.identify = identify
        self.lookup = lookup
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="api-cluster")
        self.streams = ThreadPoolExecutor(MAX_STREAMS, thread_name_prefix="api-stream")
        self._streaming = 0
        self.polls = ParkedPolls(self.loop, self.pool, _encode)

    def server_close(self) -> None:
        super().server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.streams.shutdown(wait=False, cancel_futures=True)

    async def _handle(self, conn: Connection, head: RequestHead,
                      read_body: BodyReader) -> Response:
        path, query = split_target(head.target)
        route, params = self.router.match(head.method, path)
        identity = None if route.access == "public" else self._identity(conn)
        check_access(route.access, False, identity, self.lookup)  # before reading a byte
        raw = await read_body()
        request = Request(head.method, path, params, query, raw, False, identity)
        if route.inline:
            result = _call(route, request)  # a heartbeat: from memory, no thread hop
        else:
            result = await self.loop.run_in_executor(self.pool, _call, route, request)
        if isinstance(result, Parked):
            return Response(200, await self.polls.wait(result))
        if isinstance(result, Streaming):
            return self._stream_answer(result.chunks)
        return result  # type: ignore[no-any-return]

    def _engine_access(self, conn: Connection) -> NodeIdentity | None:
        """The Engine API is a manager's: its proxy reaches dockerd, root on this host."""
        identity = self._identity(conn)
        check_access("manager", False, identity, self.lookup)
        return identity

    def _identity(self, conn: Connection) -> NodeIdentity | None:
        """The peer's identity, verified once per connection; after that its certificate,
        which a connection cannot change, is only looked at for its expiry, every
        IDENTITY_RECHECK seconds (a signature check each time, on 10,000 connections, was
        a quarter of the loop)."""
        cached = conn.cache.get("identity")
        now = time.monotonic()
        if cached is not None:
            identity, checked, not_after = cached
            if now - checked < IDENTITY_RECHECK:
                return identity  # type: ignore[no-any-return]
            if not_after is not None and time.time() > not_after:
                expired = datetime.fromtimestamp(not_after, UTC).isoformat()
                raise HttpError(403, f"Permission denied: certificate expired at {expired}")
            conn.cache["identity"] = (identity, now, not_after)
            return identity  # type: ignore[no-any-return]
        try:
            identity = self.identify(conn.ssl_object)
        except SwarmletError as exc:
            raise HttpError(403, f"Permission denied: {exc}") from exc
        conn.cache["identity"] = (identity, now, _not_after(conn.ssl_object))
        return identity

    def _stream_answer(self, chunks: Iterator[bytes]) -> Response:
        if self._streaming >= MAX_STREAMS:
            _close(chunks)
            return json_error(503, f"too many streams open on this manager (at most "
                                   f"{MAX_STREAMS}): try again later")
        return Response(chunks=self._chunks(chunks))

    async def _chunks(self, chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
        self._streaming += 1  # counted from the first step: only a started one is closed
        try:
            while (chunk := await self.loop.run_in_executor(self.streams, next, chunks,
                                                            None)) is not None:
                yield chunk
        finally:
            self._streaming -= 1
            await self.loop.run_in_executor(self.streams, _close, chunks)


def _call(route: Route, request: Request) -> Response | Parked | Streaming:
    """In the pool: the body's JSON, the handler, its answer's JSON."""
    try:
        request.body = _json_body(request.body)
        result = route.handler(request)
        if isinstance(result, Parked | Streaming):
            return result
        if isinstance(result, PlainText):
            return Response(200, result.encode(), result.content_type)
        return Response(200, b"" if result is None else _encode(result))
    except HttpError as exc:
        return json_error(exc.status, exc.message)
    except SwarmletError as exc:
        return json_error(http_status(exc), str(exc))
    except Exception as exc:
        log.exception("%s %s failed", request.method, request.path)
        return json_error(500, f"internal error: {exc}")


def _not_after(ssl_object: Any) -> float | None:
    """When the verified peer certificate expires (epoch seconds); None without one."""
    cert = ssl_object.getpeercert() if ssl_object is not None else None
    if not cert or "notAfter" not in cert:
        return None
    return float(ssl.cert_time_to_seconds(cert["notAfter"]))


def _json_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HttpError(400, f"request body is not valid JSON: {exc}") from exc


def _close(chunks: Iterator[bytes]) -> None:
    close = getattr(chunks, "close", None)
    if close is not None:
        close()

