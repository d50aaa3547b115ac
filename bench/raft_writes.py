"""Write throughput and failover time of the Raft store: 3 RaftStores on 127.0.0.1.

    .venv/bin/python bench/raft_writes.py [N]     (default N=500 writes per row)

Each store runs in its own process (as managers do), so the numbers are not bounded by one
GIL. Rows: sequential sync writes of one object update (on the leader and via a follower),
batches of 50 object updates per write, and leader failover (leader closed -> a write
succeeds through a survivor), repeated 3 times with the closed store restarted.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import pysyncobj.version
from _machines import print_rows

from swarmlet.store.objects import new_id
from swarmlet.store.raft import RaftStore, RaftTimings
from swarmlet.store.state import StoreError

PASSWORD = "bench-raft-key"
BATCH = 50


def serve(addr: str, partners: list[str], data_dir: str, conn: Connection) -> None:
    """One manager: runs the parent's commands against its own store."""
    store = RaftStore(addr, partners, Path(data_dir), PASSWORD)
    conn.send("up")
    while True:
        cmd, *args = conn.recv()
        if cmd == "is_leader":
            conn.send(store.is_leader() and store.has_quorum())
        elif cmd == "updates":
            conn.send(run_updates(store, *args))
        elif cmd == "write_until_ok":
            start = time.monotonic()
            while True:
                try:
                    store.write([create()], timeout=2)
                    break
                except StoreError:
                    time.sleep(0.01)
            conn.send(time.monotonic() - start)
        elif cmd == "close":
            store.close()
            conn.send("closed")
            return


def create() -> dict:
    return {"op": "create", "kind": "task", "object": {"ID": new_id(), "Spec": {"i": 0}}}


def run_updates(store: RaftStore, n: int, batch: int) -> float:
    """n sequential sync writes, each updating `batch` objects; returns seconds."""
    objs = store.write([create() for _ in range(batch)])
    start = time.perf_counter()
    for i in range(n):
        for obj in objs:
            obj["Spec"]["i"] = i
        objs = store.write([{"op": "update", "kind": "task", "object": o} for o in objs])
    return time.perf_counter() - start


class Node:
    def __init__(self, ctx: mp.context.SpawnContext, addr: str, partners: list[str],
                 data_dir: str) -> None:
        self.addr = addr
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=serve, args=(addr, partners, data_dir, child))
        self.proc.start()
        assert self.conn.recv() == "up"

    def call(self, *cmd: object) -> object:
        self.conn.send(cmd)
        return self.conn.recv()

    def stop(self) -> None:
        if self.proc.is_alive():
            self.call("close")
        self.proc.join(10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def leader(nodes: list[Node], timeout: float = 15) -> Node:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for node in nodes:
            if node.call("is_leader"):
                return node
        time.sleep(0.05)
    raise SystemExit("no leader")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    ctx = mp.get_context("spawn")
    root = tempfile.mkdtemp(prefix="swarmlet-raft-bench-")
    addrs = [f"127.0.0.1:{free_port()}" for _ in range(3)]
    dirs = {a: os.path.join(root, str(i)) for i, a in enumerate(addrs)}

    def start(addr: str) -> Node:
        return Node(ctx, addr, [p for p in addrs if p != addr], dirs[addr])

    nodes = [start(a) for a in addrs]
    rows: list[tuple[str, str]] = []
    try:
        lead = leader(nodes)
        follower = next(x for x in nodes if x is not lead)
        secs = float(lead.call("updates", n, 1))
        rows.append(("1-object update, sync, on leader",
                     f"{n / secs:,.0f} writes/s ({secs / n * 1000:.2f} ms each)"))
        secs = float(follower.call("updates", n, 1))
        rows.append(("1-object update, sync, via follower",
                     f"{n / secs:,.0f} writes/s ({secs / n * 1000:.2f} ms each)"))
        m = max(1, n // 5)
        secs = float(lead.call("updates", m, BATCH))
        rows.append((f"batch of {BATCH} updates, sync, on leader",
                     f"{m / secs:,.0f} batches/s = {m * BATCH / secs:,.0f} objects/s"))
        times = []
        for _ in range(3):
            lead = leader(nodes)
            survivor = next(x for x in nodes if x is not lead)
            lead.stop()
            times.append(float(survivor.call("write_until_ok")))
            nodes[nodes.index(lead)] = start(lead.addr)  # back to 3 for the next round
        rows.append(("leader failover (closed -> write ok)",
                     f"median {statistics.median(times):.2f} s "
                     f"(runs: {', '.join(f'{t:.2f}' for t in times)})"))
    finally:
        for node in nodes:
            node.stop()
        shutil.rmtree(root, ignore_errors=True)

    t = RaftTimings()
    print(f"Raft store, 3 managers as processes on 127.0.0.1, {os.cpu_count()} CPUs, "
          f"Python {sys.version.split()[0]}, pysyncobj {pysyncobj.version.VERSION}")
    print(f"appendEntriesUseBatch=False, password set, journal + dump, election "
          f"{t.election_min}-{t.election_max} s, heartbeat {t.heartbeat} s, "
          f"leader fallback {t.leader_fallback} s, N={n}")
    print_rows(rows, indent="  ")


if __name__ == "__main__":
    main()
