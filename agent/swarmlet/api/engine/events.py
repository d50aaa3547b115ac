"""GET /events: the swarm's events (services, nodes, tasks, secrets, configs, swarm
networks) from this manager's journal, and dockerd's own (containers, images, volumes,
local networks, plugins, the daemon), as Docker's daemon streams both. Filters that can
select only dockerd's objects go to dockerd as they are; filters that can select only the
swarm's are served here; anything else (no filters at all, as `docker events`) is both
streams in one. On a worker, which holds no swarm state, everything is dockerd's."""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urlencode

from swarmlet.api.engine.answers import Answer
from swarmlet.api.engine.filters import parse_filters
from swarmlet.api.engine.frontend import PROXY, EngineState
from swarmlet.api.engine.upstream import _UnixConnection
from swarmlet.api.event_filter import EVENT_FILTER_KEYS, LOCAL_KEYS
from swarmlet.api.events import event_lines
from swarmlet.api.node_control import NodeControl
from swarmlet.api.router import Request, Router
from swarmlet.spec.engine.events import EventsQuery
from swarmlet.transport.errors import HttpError

SWARM_TYPES = frozenset({"service", "node", "secret", "config", "task"})
LOCAL_TYPES = frozenset({"container", "daemon", "image", "plugin", "volume"})
SWARM_KEYS = ("config", "secret", "service", "node", "task")
TICK = 1.0

log = logging.getLogger("swarmlet.api.engine")


def event_source(raw: str | None) -> str:
    """Whose events the filters can select: "swarm", "local" (dockerd's) or "both"; 400
    for filters that are malformed or unknown (dockerd's texts)."""
    filters = parse_filters(raw, EVENT_FILTER_KEYS)
    types, scopes = set(filters.get("type")), set(filters.get("scope"))
    if any(k in filters for k in LOCAL_KEYS) or (types and types <= LOCAL_TYPES) \
            or scopes == {"local"}:
        return "local"
    if any(k in filters for k in SWARM_KEYS) or (types and types <= SWARM_TYPES) \
            or scopes == {"swarm"}:
        return "swarm"
    return "both"


def add_events_route(router: Router, access: NodeControl | None = None,
                     state: EngineState | None = None) -> None:
    @router.add("GET", "/events", "The swarm's events and dockerd's", access="public",
                query=EventsQuery)
    def events(request: Request) -> object:
        source = event_source(request.query.get("filters"))
        if source == "local" or access is None or state is None:
            return PROXY
        try:
            journal = access.manager().events
        except HttpError:
            return PROXY  # a worker, or not in a swarm: no swarm events here
        swarm = event_lines(journal, request.query)
        if source == "swarm":
            return Answer(stream=swarm)
        target = f"/events?{urlencode(request.query)}" if request.query else "/events"
        return Answer(stream=merged([swarm, DockerdEvents(state, target)]))


class DockerdEvents:
    """dockerd's event stream, line by line (it ends with `until`, or with dockerd);
    abort() from another thread ends a read that waits for the next event."""

    def __init__(self, state: EngineState, target: str) -> None:
        self._conn = _UnixConnection(state.dockerd_socket, 10.0)
        try:  # asked now: dockerd's 400 for a filter it refuses is the request's answer
            self._conn.request("GET", target)
            self._answer = self._conn.getresponse()
        except OSError as exc:
            self._conn.close()
            raise HttpError(502, f"the node's dockerd cannot be reached: {exc}") from exc
        if self._answer.status >= 400:
            message = _message(self._answer.read())
            self._conn.close()
            raise HttpError(self._answer.status, message)

    def __iter__(self) -> Iterator[bytes]:
        if self._conn.sock is not None:
            self._conn.sock.settimeout(None)  # quiet for long between events
        try:
            while line := self._answer.readline():
                yield line
        except (OSError, ValueError):
            return  # aborted, or dockerd went away
        finally:
            self._conn.close()

    def abort(self) -> None:
        sock = self._conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _message(raw: bytes) -> str:
    try:
        return str(json.loads(raw).get("message"))
    except (ValueError, AttributeError):
        return raw.decode(errors="replace")


def merged(streams: list[Iterable[bytes]], tick: float = TICK) -> Iterator[bytes]:
    """Lines of several streams as they come, each read in a thread of its own; b"" each
    `tick` without any. Ends when every stream has; closing it ends the readers: a stream
    with abort() at once, the others at their next line or idle tick (b"")."""
    lines: queue.Queue[bytes | None] = queue.Queue(maxsize=1024)
    stop = threading.Event()

    def read(source: Iterable[bytes]) -> None:
        stream = iter(source)
        try:
            for line in stream:
                if stop.is_set():
                    break
                if line:
                    lines.put(line)
        except Exception:  # one stream failing ends that stream only
            log.debug("an event stream failed", exc_info=True)
        finally:
            lines.put(None)
            _close(stream)

    readers = [threading.Thread(target=read, args=(s,), daemon=True, name="engine-events")
               for s in streams]
    for reader in readers:
        reader.start()
    try:
        running = len(readers)
        while running:
            try:
                line = lines.get(timeout=tick)
            except queue.Empty:
                yield b""
                continue
            if line is None:
                running -= 1
            else:
                yield line
    finally:
        stop.set()
        for stream in streams:
            abort: Callable[[], Any] | None = getattr(stream, "abort", None)
            if abort is not None:
                abort()


def _close(stream: Iterator[bytes]) -> None:
    close: Callable[[], Any] | None = getattr(stream, "close", None)
    if close is not None:
        with contextlib.suppress(RuntimeError, ValueError):
            close()
