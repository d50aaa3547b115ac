"""The API and Raft layers alone: `node update` through the real Router, ControlAPI and
RaftStore, without the agent's other loops (dispatcher, worker, control passes, network).

    .venv/bin/python bench/api_writes.py [N] [CLIENTS]   (default 500 writes per client, 8)

Three RaftStores run as processes on 127.0.0.1 (as managers do); each serves the swarm routes
(api/swarm.py over a ControlAPI on a stub manager) on a unix socket of its own. A client
process writes N `node update`s (GET for the version, then POST, one kept-alive connection)
through the leader, then through a follower: the latency of one write after another. Then
CLIENTS such processes at once, each on a node of its own (as many operators and playbooks
write at once): the throughput, writes/s counted over all of them. Each row also gives the
CPU each process spent per write. Compare with bench/swarm_api.py, where the same writes
also wake the dispatcher, the workers and the control loops.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from _machines import print_rows
from raft_writes import free_port

PASSWORD = "bench-api-key"
MAX_CLIENTS = 32


def node_id(i: int) -> str:
    return f"node{i:03d}".ljust(25, "0")


def serve(addr: str, partners: list[str], data_dir: str, sock: str, conn: Connection) -> None:
    from swarmlet.api.router import Router
    from swarmlet.api.server import UnixApiServer
    from swarmlet.api.swarm import add_swarm_routes
    from swarmlet.manager.controlapi.nodes import ControlAPI
    from swarmlet.manager.manager import NoQuorum
    from swarmlet.manager.objects import new_node
    from swarmlet.store.raft import RaftStore
    from swarmlet.store.state import StoreError
    from swarmlet.transport.threads import serve_in_thread

    store = RaftStore(addr, partners, Path(data_dir), PASSWORD)
    while not store.has_quorum() or store.leader() is None:
        time.sleep(0.05)
    if store.is_leader():
        try:  # one batch: a leader change mid-way cannot leave half of them
            store.write([{"op": "create", "kind": "node", "object": new_node(
                node_id(i), "manager", {"Hostname": f"h{i}"}, "127.0.0.1",
                "127.0.0.1:2377", f"127.0.0.1:{i}")} for i in range(MAX_CLIENTS)])
        except StoreError as err:  # a leader before this one wrote them
            if err.code != "exists":
                raise
    while len(store.list("node")) < MAX_CLIENTS:
        time.sleep(0.05)

    class Stub:  # what ControlAPI and the routes use of a Manager and a SwarmNode
        def __init__(self) -> None:
            self.store, self.state, self.manager = store, object(), self
            self.control = ControlAPI(self)  # type: ignore[arg-type]

        def require_quorum(self) -> None:
            if not store.has_quorum():
                raise NoQuorum()

    router = Router()
    add_swarm_routes(router, Stub())  # type: ignore[arg-type]
    server = UnixApiServer(Path(sock), router)
    serve_in_thread(server, "api")
    conn.send(store.is_leader())
    while conn.recv() == "cpu":  # CPU seconds of this process (all its threads) so far
        conn.send(time.process_time())
    server.shutdown()
    server.server_close()
    store.close()


def writer(sock: str, node: str, n: int, conn: Connection) -> None:
    from swarmlet.client import Client
    client = Client(f"unix://{sock}")
    conn.recv()  # start together
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        cur = client.get(f"/nodes/{node}")
        spec = dict(cur["Spec"], Labels={"bench": str(i)})
        client.post(f"/nodes/{cur['ID']}/update", spec, version=cur["Version"]["Index"])
    conn.send((start, time.perf_counter(), time.process_time() - cpu))


def run_writers(ctx: Any, sock: str, clients: int, n: int) -> tuple[float, float]:
    """Seconds from the first writer's start to the last one's end, and the writers' CPU
    seconds."""
    pipes, procs = [], []
    for i in range(clients):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=writer, args=(sock, node_id(i), n, child))
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    time.sleep(0.5)  # every writer imported and connected-ready
    for parent in pipes:
        parent.send("go")
    spans = [parent.recv() for parent in pipes]
    for proc in procs:
        proc.join()
    return (max(end for _, end, _ in spans) - min(start for start, _, _ in spans),
            sum(cpu for _, _, cpu in spans))


def cpu_times(procs: list[tuple[Any, Connection, str]]) -> list[float]:
    for _, parent, _ in procs:
        parent.send("cpu")
    return [parent.recv() for _, parent, _ in procs]


def roles_named(roles: list[bool], sock: str, procs: list[tuple[Any, Connection, str]],
                ) -> list[str]:
    """Each server's role in a row: leader or follower, '(API)' for the one written to."""
    return [("leader" if leader else "follower") + (" (API)" if s == sock else "")
            for leader, (_, _, s) in zip(roles, procs, strict=True)]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    clients = min(MAX_CLIENTS, int(sys.argv[2]) if len(sys.argv) > 2 else 8)
    ctx = mp.get_context("spawn")
    root = tempfile.mkdtemp(prefix="swarmlet-api-bench-")
    addrs = [f"127.0.0.1:{free_port()}" for _ in range(3)]
    procs: list[tuple[Any, Connection, str]] = []
    rows: list[tuple[str, str]] = []
    try:
        for i, addr in enumerate(addrs):
            parent, child = ctx.Pipe()
            sock = os.path.join(root, f"api{i}.sock")
            proc = ctx.Process(target=serve, args=(addr, [a for a in addrs if a != addr],
                                                   os.path.join(root, str(i)), sock, child))
            proc.start()
            procs.append((proc, parent, sock))
        roles = [parent.recv() for _, parent, _ in procs]
        leader = procs[roles.index(True)][2]
        follower = procs[roles.index(False)][2]
        for count in (1, clients):
            for label, sock in (("via the leader", leader), ("via a follower", follower)):
                before = cpu_times(procs)
                secs, client_cpu = run_writers(ctx, sock, count, n)
                used = [b - a for a, b in zip(before, cpu_times(procs), strict=True)]
                total = n * count
                who = "1 client" if count == 1 else f"{count} clients at once"
                per_write = ", ".join(f"{role} {cpu / total * 1000:.2f}" for role, cpu in
                                      zip(roles_named(roles, sock, procs), used,
                                          strict=True))
                rows.append((f"node update {label}, {who}",
                             f"{total / secs:,.0f} writes/s ({secs / n * 1000:.2f} ms per "
                             f"client's write); CPU ms per write: {per_write}, "
                             f"client {client_cpu / total * 1000:.2f}"))
    finally:
        for proc, parent, _ in procs:
            if proc.is_alive():
                parent.send("stop")
                proc.join(10)
        shutil.rmtree(root, ignore_errors=True)

    print(f"API + Raft layers only: 3 RaftStores as processes on 127.0.0.1, the swarm routes "
          f"on a unix socket each, {os.cpu_count()} CPUs (shared: wall-clock figures are "
          f"noisy; load average {os.getloadavg()[0]:.1f}), N={n} GET + POST per client")
    print_rows(rows, indent="  ")


if __name__ == "__main__":
    main()
