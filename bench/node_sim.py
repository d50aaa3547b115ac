"""Simulated nodes for bench/node_scale.py, each speaking the real dispatcher protocol over
mutual TLS with a certificate of its own.

A node joins through POST /ca/join (its own key and CSR, the worker join token), then holds
two kept-alive connections to the leader, as a real agent does: one for its heartbeats, at
the Interval the leader's answers give, one for its assignments' long poll (AppliesTo the
set it holds, Wait 30 s). A manager that is not the leader names it, and the node goes
there. It runs no tasks: it reports none, and applies nothing.

The joins run in the bench's process; every node's heartbeats run in one process and every
node's polls in another (`python node_sim.py beats|polls CA PREFIX ADVERTISE OUT`), each on
an asyncio loop of its own: a change answers every poll at once, and that burst, in the
process that times the heartbeats, was in their round trips (its loop lagged up to 8 s at
2,000 nodes). A role takes commands on stdin (`node [INDEX, ID, LEADER, FOLDER]`: one more
node, right after its join; `window T`: record from monotonic time T on; `stop`), prints
its progress as JSON lines, and at the end writes its figures to OUT.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from swarmlet.ca.node import make_csr, new_key
from swarmlet.ca.tls import client_context
from swarmlet.transport.async_server import SSL_READ_BUFFER  # noqa: F401 - sets it here too

POLL_WAIT = 30.0
TIMEOUT = 60.0  # one request, a long poll included


class HttpConnection:
    """A kept-alive HTTP/1.1 connection over TLS; reconnects when the server closed it."""

    def __init__(self, addr: str, context: ssl.SSLContext) -> None:
        self.host, port = addr.rsplit(":", 1)
        self.port = int(port)
        self.context = context
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: Any) -> tuple[int, Any]:
        data = json.dumps(body).encode()
        for attempt in (1, 2):  # a kept-alive connection the server closed: once more
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(
                    self.host, self.port, ssl=self.context, server_hostname=self.host)
            assert self.reader is not None
            try:
                self.writer.write(b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: "
                                  b"application/json\r\nContent-Length: %d\r\n\r\n%s"
                                  % (path.encode(), self.host.encode(), len(data), data))
                async with asyncio.timeout(TIMEOUT):
                    head = await self.reader.readuntil(b"\r\n\r\n")
                    status, length, close = _head(head)
                    raw = await self.reader.readexactly(length)
            except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
                self.close()
                if attempt == 2:
                    raise
                continue
            if close:
                self.close()
            return status, json.loads(raw) if raw else None
        raise AssertionError("unreachable")

    def retarget(self, addr: str) -> None:
        """Talk to another manager (the one a follower named as leader) from now on."""
        self.close()
        self.host, port = addr.rsplit(":", 1)
        self.port = int(port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()
        self.reader = self.writer = None


def _head(head: bytes) -> tuple[int, int, bool]:
    lines = head.decode("iso-8859-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "connection" and "close" in value.lower():
            close = True
    return status, length, close


@dataclass
class Figures:
    """What the simulated nodes saw; `since` marks the start of the measuring window."""

    since: float = float("inf")
    beats: list[float] = field(default_factory=list)  # round trips (s) within the window
    beat_starts: list[float] = field(default_factory=list)  # when each was sent (monotonic)
    beat_errors: int = 0
    polls: int = 0
    # wall time each node received each watched item (AttachableNetworks by name)
    arrivals: dict[str, list[float]] = field(default_factory=dict)
    interval: float = 0.0  # the longest a leader asked for
    lags: list[float] = field(default_factory=list)  # this process's loop lag (s), sampled


async def watch_lag(figures: Figures, stop: asyncio.Event, every: float = 0.05) -> None:
    """How late this process's own loop wakes up: what it adds to every round trip it
    times (it shares the CPUs with the managers)."""
    while not stop.is_set():
        before = time.monotonic()
        await asyncio.sleep(every)
        if before >= figures.since:
            figures.lags.append(time.monotonic() - before - every)


@dataclass
class SimNode:
    index: int
    context: ssl.SSLContext
    node_id: str
    leader: str


async def join(index: int, addr: str, token: str, ca_pem: bytes, folder: Path,
               advertise: str) -> SimNode:
    """The real join: a key and CSR of its own, a certificate from the CA."""
    key = new_key()
    conn = HttpConnection(addr, client_context(None, ca_pem))
    try:
        status, answer = await conn.post("/ca/join", {
            "Token": token, "CSR": make_csr(key).decode(), "AdvertiseAddr": advertise,
            "Description": {"Hostname": f"sim-{index:05d}"}})
    finally:
        conn.close()
    if status != 200:
        raise RuntimeError(f"join of sim-{index}: {status} {answer}")
    node_dir = folder / f"sim-{index:05d}"
    node_dir.mkdir(parents=True)
    (node_dir / "key.pem").write_bytes(key)
    (node_dir / "cert.pem").write_text(answer["Certificate"])
    context = client_context(None, ca_pem)
    context.load_cert_chain(node_dir / "cert.pem", node_dir / "key.pem")
    return SimNode(index, context, answer["NodeID"], addr)


async def beat_forever(node: SimNode, advertise: str, figures: Figures,
                       stop: asyncio.Event) -> None:
    conn = HttpConnection(node.leader, node.context)
    interval = 0.5
    await asyncio.sleep(random.uniform(0, interval))
    try:
        await _beats(conn, node, advertise, figures, stop, interval)
    finally:
        conn.close()


async def _beats(conn: HttpConnection, node: SimNode, advertise: str, figures: Figures,
                 stop: asyncio.Event, interval: float) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            status, answer = await conn.post("/dispatcher/heartbeat", {"Addr": advertise})
            took = time.monotonic() - started
            if status != 200:
                figures.beat_errors += 1
            elif answer.get("Leader"):
                conn.retarget(answer["Leader"])
                continue
            else:
                interval = float(answer.get("Interval") or interval)
                figures.interval = max(figures.interval, interval)
                if started >= figures.since:
                    figures.beats.append(took)
                    figures.beat_starts.append(started)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ssl.SSLError):
            figures.beat_errors += 1
            took = time.monotonic() - started
        await asyncio.sleep(max(interval - took, 0.05))  # the bench cancels at the end


async def poll_forever(node: SimNode, figures: Figures, watched: Callable[[str], bool],
                       stop: asyncio.Event) -> None:
    """The assignments' long poll; records when each watched attachable network arrives."""
    conn = HttpConnection(node.leader, node.context)
    try:
        await _polls(conn, node, figures, watched, stop)
    finally:
        conn.close()


async def _polls(conn: HttpConnection, node: SimNode, figures: Figures,
                 watched: Callable[[str], bool], stop: asyncio.Event) -> None:
    held = ""
    seen: set[str] = set()  # a network arrives again once allocated: the first counts
    while not stop.is_set():
        try:
            status, answer = await conn.post("/dispatcher/assignments",
                                             {"AppliesTo": held, "Wait": POLL_WAIT})
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ssl.SSLError):
            await asyncio.sleep(1)
            continue
        now = time.time()
        if status != 200:
            await asyncio.sleep(1)
            continue
        if answer.get("Leader"):
            conn.retarget(answer["Leader"])
            continue
        figures.polls += 1
        held = answer.get("ResultsIn", held)
        if answer.get("Type") == "complete":
            items = answer.get("AttachableNetworks") or []
        else:
            items = ((answer.get("Changes") or {}).get("AttachableNetworks") or {}).get(
                "Update") or []
        for network in items:
            name = network.get("Spec", {}).get("Name", "")
            if watched(name) and name not in seen:
                seen.add(name)
                figures.arrivals.setdefault(name, []).append(now)


# --- a role in a process of its own -------------------------------------------------------

def node_line(node: SimNode, folder: Path) -> str:
    """The `node` command that makes a role's process this node too (its certificate is
    in folder, as join() left it)."""
    return "node " + json.dumps([node.index, node.node_id, node.leader,
                                 str(folder / f"sim-{node.index:05d}")])


def _load(listed: list[Any], ca_pem: bytes) -> SimNode:
    index, node_id, leader, folder = listed
    context = client_context(None, ca_pem)
    context.load_cert_chain(Path(folder) / "cert.pem", Path(folder) / "key.pem")
    return SimNode(index, context, node_id, leader)


async def run_role(role: str, ca_pem: bytes, prefix: str, advertise: str,
                   out: Path) -> None:
    """Each node takes up its role as soon as its `node` command comes (right after its
    join, as a real agent beats and polls once it has joined)."""
    figures, stop = Figures(), asyncio.Event()

    def watched(name: str) -> bool:
        return name.startswith(prefix)

    loops = [asyncio.create_task(watch_lag(figures, stop))]
    reporter = asyncio.create_task(_report_progress(figures, stop))
    commands = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    while line := (await commands.readline()).decode().split(" ", 1):
        command = line[0].strip()
        if command == "node":
            node = _load(json.loads(line[1]), ca_pem)
            loops.append(asyncio.create_task(
                beat_forever(node, advertise, figures, stop) if role == "beats"
                else poll_forever(node, figures, watched, stop)))
        elif command == "window":
            # Every connection is up by now: thousands of nodes' objects, which a full
            # collection went through, stalling the loop.
            gc.freeze()
            figures.since = float(line[1])
        elif command in ("stop", ""):
            break
    stop.set()
    for task in [*loops, reporter]:
        task.cancel()
    await asyncio.gather(*loops, reporter, return_exceptions=True)
    out.write_text(json.dumps(asdict(figures)))


async def _report_progress(figures: Figures, stop: asyncio.Event) -> None:
    while not stop.is_set():
        print(json.dumps({"polls": figures.polls, "interval": figures.interval}), flush=True)
        await asyncio.sleep(0.5)


def main() -> None:
    role, ca_file, prefix, advertise, out = sys.argv[1:6]
    asyncio.run(run_role(role, Path(ca_file).read_bytes(), prefix, advertise, Path(out)))


if __name__ == "__main__":
    main()
