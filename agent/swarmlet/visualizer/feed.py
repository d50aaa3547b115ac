"""The swarm as the page sees it: read from the local agent, re-read when its event stream
says something changed, handed to the hub that pushes it to the browsers.

The agent's /events stream says *that* nodes, services or tasks changed; the snapshot is
re-read whole (three GETs), so a missed or coalesced event costs nothing. When the stream
ends (the agent restarted, a leader change), it is opened again with a growing backoff and
everything is read again. No timer polls the swarm.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from swarmlet.client import Client
from swarmlet.errors import SwarmletError
from swarmlet.spec.event_times import unix_time
from swarmlet.visualizer.coalesce import Coalescer
from swarmlet.visualizer.snapshot import build_snapshot

log = logging.getLogger(__name__)

EVENT_FILTERS = json.dumps({"type": ["node", "service", "task"]})
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 10.0
# A (re)opened stream starts this long before the read that goes with it (?since=), so a
# change made while it was being opened is announced all the same (a re-read more at worst).
OVERLAP_NS = 1_000_000_000


def since(now_ns: int) -> str:
    """The /events ?since= for a stream opened now: Unix seconds with nanoseconds."""
    return unix_time(now_ns - OVERLAP_NS)


def read_snapshot(client: Client) -> dict[str, Any]:
    return build_snapshot(client.get("/nodes"), client.get("/services"), client.get("/tasks"))


class Feed:
    """Reads the swarm into `publish`, again after every change the events announce."""

    def __init__(self, host: str | None, publish: Callable[[dict[str, Any]], None],
                 interval: float = 0.15) -> None:
        self.host = host
        self.publish = publish
        self.client = Client(host, timeout=30)
        self.rereads = Coalescer(self._read, interval)
        self._last: dict[str, Any] = {"nodes": [], "services": [], "tasks": []}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="visualizer-events",
                                        daemon=True)

    def start(self) -> None:
        self.rereads.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.rereads.stop()

    def _read(self) -> None:
        try:
            snapshot = read_snapshot(self.client)
        except (SwarmletError, OSError, http.client.HTTPException, ValueError) as exc:
            # The last view stays on the page, with the reason it may be stale.
            self.publish({**self._last, "error": str(exc)})
            return
        self._last = snapshot
        self.publish(snapshot)

    def _follow(self) -> None:
        backoff = BACKOFF_FIRST
        while not self._stop.is_set():
            opened = time.monotonic()
            start = since(time.time_ns())
            self.rereads.poke()  # everything read (again): after `start`, so nothing is missed
            try:
                # Its own client: the stream holds a connection for as long as it lasts.
                for line in Client(self.host).stream("/events", filters=EVENT_FILTERS,
                                                     since=start):
                    if line.strip():
                        self.rereads.poke()
                reason = "the agent ended the event stream"
            except (SwarmletError, OSError, http.client.HTTPException) as exc:
                reason = str(exc)
            if time.monotonic() - opened > 30:
                backoff = BACKOFF_FIRST  # it ran for a while: this is a new trouble
            log.warning("%s; following the events again in %.1f s", reason, backoff)
            if self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, BACKOFF_MAX)
