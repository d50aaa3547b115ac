"""Node scale: N simulated nodes heartbeating to 3 manager machines, and what it costs the
leader. Swarm3k formed a swarm of 4,700 nodes; the default N is 5,000.

    .venv/bin/python bench/node_scale.py [--nodes N] [--seconds S] [--json]   (root)

Machines: bench/_machines.py (names SWARMLET_BENCH_PREFIX + ns-m1, ns-m2, ns-m3), 3
managers. The nodes are simulated (bench/node_sim.py, asyncio): each joins through the real
POST /ca/join with a key and CSR of its own (at most --join-at-once joins at a time, in this
process), then holds two mutual-TLS connections to the leader with its own node
certificate, from right after its join: heartbeats at the Interval the leader gives
(N/1000 s, at least 0.5 s), every node's in one process, and the assignments' long poll,
every node's in another (so the burst of poll answers after a change is not in the
heartbeats' round trips). They all come from this host's one address (198.18.0.1), so the
managers' per-peer connection cap (cluster_connections_per_peer, default 64; a real node
holds about 2) is raised to 4 N on these machines, and this is printed.

Once every node has its first assignments and two heartbeat intervals have passed, the
window of S seconds begins:
- leader CPU: user + system time of the leader's swarmletd (/proc), over the window, as a
  percentage of one core;
- heartbeat p99: round trip of the heartbeats sent in the window, as the nodes timed them;
- assignment p99: every 10 s an attachable network is created through the leader's API
  (with a client certificate); every node's assignments carry AttachableNetworks, so this
  is a change that must reach all N long polls. Its latency, per node, is from just before
  the create call until that node's poll answer arrived.
The simulator shares the host's 2 CPUs with the managers (and other users): the CPU and
loop lag of its two processes and the load average are printed beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _machines import BenchMachines, print_rows
from agent_idle import agent_pid, cpu_seconds, memory_kb
from node_sim import join, node_line

from swarmlet.ca.tls import client_context
from swarmlet.client import Client

CHANGE_EVERY = 10.0  # seconds between two watched changes (attachable networks)
SETTLE_INTERVALS = 2
SETTLE_TIMEOUT = 300.0  # seconds after the last join for every node's first assignments
NET_PREFIX = "nsnet-"
ADVERTISE = "198.18.0.1"  # where the simulated nodes are: this host, on the underlay bridge


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def raise_file_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Managers:
    """The 3 manager machines, set up for N nodes from one address."""

    def __init__(self, machines: BenchMachines, nodes: int) -> None:
        self.machines = machines
        self.names = [machines.name(s) for s in ("ns-m1", "ns-m2", "ns-m3")]
        self.per_peer = max(64, 4 * nodes)
        self.folder = Path(machines.tmp)

    def start(self) -> None:
        m = self.machines
        m("create", *self.names)
        for name in self.names:
            old = agent_pid(name)
            m.on(name, f"echo 'cluster_connections_per_peer: {self.per_peer}' >> "
                       "/etc/swarmlet/swarmlet.yml && kill $(cat /var/lib/swarmlet/swarmletd.pid)")
            self._wait_restarted(name, old)
        m.on(self.names[0], "swarmlet swarm init")
        self.ip = m("ip", self.names[0]).strip()
        token = m.on(self.names[0], "swarmlet swarm join-token -q manager").strip()
        for name in self.names[1:]:
            m.on(name, f"swarmlet swarm join --token {token} {self.ip}:2377")
        self.worker_token = m.on(self.names[0], "swarmlet swarm join-token -q worker").strip()
        client = self.folder / "client"
        m.on(self.names[0], f"swarmlet swarm ca client-cert --out {client}")
        self.ca_pem = (client / "ca.pem").read_bytes()
        context = client_context(None, self.ca_pem)
        context.load_cert_chain(client / "cert.pem", client / "key.pem")
        self.client = Client(f"tcp://{self.ip}:2377", tls_context=context, timeout=120)

    def _wait_restarted(self, name: str, old: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if agent_pid(name) != old:
                    self.machines.on(name, "swarmlet info >/dev/null")
                    return
            except (SystemExit, RuntimeError):
                pass
            time.sleep(0.5)
        raise SystemExit(f"swarmletd of {name} did not come back with its new config")

    def leader_pid(self) -> tuple[str, int]:
        for node in self.client.get("/nodes"):
            if (node.get("ManagerStatus") or {}).get("Leader"):
                hostname = node["Description"]["Hostname"]
                return hostname, agent_pid(hostname)
        raise SystemExit("no leader")

    def create_network(self, name: str) -> None:
        self.client.post("/networks/create", {"Name": name, "Attachable": True,
                                              "DriverConfiguration": {"Name": "overlay"}})


class Role:
    """A process of simulated nodes doing one thing (bench/node_sim.py: beats or polls)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.polls = 0
        self.interval = 0.0

    async def start(self, folder: Path, ca_file: Path) -> None:
        self.out = folder / f"{self.name}.json"
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, str(Path(__file__).with_name("node_sim.py")), self.name,
            str(ca_file), NET_PREFIX, ADVERTISE, str(self.out),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        self.reading = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            message = json.loads(line)
            self.polls = message.get("polls", self.polls)
            self.interval = message.get("interval", self.interval)

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")

    async def finish(self) -> dict[str, Any]:
        self.send("stop")
        await self.reading
        await self.proc.wait()
        if not self.out.exists():
            raise SystemExit(f"the {self.name} process ended without its figures")
        return json.loads(self.out.read_text())  # type: ignore[no-any-return]


async def simulate(args: argparse.Namespace, managers: Managers) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="sim-", dir=managers.folder))
    (folder / "ca.pem").write_bytes(managers.ca_pem)
    beats, polls = Role("beats"), Role("polls")
    try:
        for role in (beats, polls):
            await role.start(folder, folder / "ca.pem")
        started = time.monotonic()
        await _join(args, managers, folder, (beats, polls))
        joined = time.monotonic() - started
        progress(f"{args.nodes} nodes joined in {joined:.1f} s")
        return await _measure(args, managers, beats, polls, started, joined)
    finally:
        for role in (beats, polls):
            if getattr(role, "proc", None) is not None and role.proc.returncode is None:
                role.proc.kill()


async def _join(args: argparse.Namespace, managers: Managers, folder: Path,
                roles: tuple[Role, ...]) -> None:
    """Every node joins; each beats and polls from then on (the roles' processes)."""
    addr = f"{managers.ip}:2377"
    at_once = asyncio.Semaphore(args.join_at_once)

    async def one(index: int) -> None:
        for attempt in range(5):
            try:
                async with at_once:
                    node = await join(index, addr, managers.worker_token, managers.ca_pem,
                                      folder, ADVERTISE)
                for role in roles:
                    role.send(node_line(node, folder))
                return
            except (OSError, RuntimeError, TimeoutError):
                if attempt == 4:
                    raise
                await asyncio.sleep(1 + random.random())

    await asyncio.gather(*(one(i) for i in range(args.nodes)))


async def _measure(args: argparse.Namespace, managers: Managers, beats: Role, polls: Role,
                   started: float, joined: float) -> dict[str, Any]:
    while polls.polls < args.nodes:  # every node has its first (complete) assignments
        if time.monotonic() - started > joined + SETTLE_TIMEOUT:
            raise SystemExit(f"only {polls.polls} of {args.nodes} nodes got assignments")
        await asyncio.sleep(0.5)
    settled = time.monotonic() - started
    progress(f"every node has its assignments after {settled:.1f} s")
    await asyncio.sleep(SETTLE_INTERVALS * max(beats.interval, 0.5))

    leader, pid = managers.leader_pid()
    cpu_before = cpu_seconds(pid)
    sim_before = [cpu_seconds(r.proc.pid) for r in (beats, polls)]
    window_start = time.monotonic()
    for role in (beats, polls):
        role.send(f"window {window_start}")
    progress(f"measuring for {args.seconds:.0f} s (leader {leader}, pid {pid})")
    created: dict[str, float] = {}
    next_change = window_start + 2.0
    while time.monotonic() - window_start < args.seconds:
        if time.monotonic() >= next_change:
            name = f"{NET_PREFIX}{len(created)}"
            created[name] = time.time()
            await asyncio.to_thread(managers.create_network, name)
            next_change += CHANGE_EVERY
        await asyncio.sleep(0.2)
    window = time.monotonic() - window_start
    leader_cpu = (cpu_seconds(pid) - cpu_before) / window * 100
    sim_cpu = [(cpu_seconds(r.proc.pid) - b) / window * 100
               for r, b in zip((beats, polls), sim_before, strict=True)]
    leader_rss = memory_kb(pid)["VmRSS"] / 1024
    load = os.getloadavg()
    await asyncio.sleep(min(5.0, args.seconds / 4))  # the last change's stragglers
    beat_figures, poll_figures = await beats.finish(), await polls.finish()
    for name in created:  # else dockerd waits long on their driver when the machines go
        await asyncio.to_thread(managers.client.delete, f"/networks/{name}")
    await asyncio.sleep(3)  # the agents remove their Docker networks

    arrivals = poll_figures["arrivals"]
    _slowest(beat_figures, window_start, created)
    latencies = [arrived - at for name, at in created.items()
                 for arrived in arrivals.get(name, [])]
    reached = min((len(arrivals.get(n, [])) for n in created), default=0)
    return {"nodes": args.nodes, "leader": leader, "joined": joined, "settled": settled,
            "window": window, "leader_cpu": leader_cpu, "leader_rss": leader_rss,
            "sim_cpu": sim_cpu, "load": load,
            "beats": beat_figures["beats"], "beat_errors": beat_figures["beat_errors"],
            "interval": beat_figures["interval"],
            "lags": [beat_figures["lags"], poll_figures["lags"]], "latencies": latencies,
            "changes": len(created), "reached": reached}


def _slowest(figures: dict[str, Any], window_start: float, created: dict[str, float]) -> None:
    """When the slowest beats were sent, beside when the changes were made (to stderr)."""
    wall_offset = time.time() - time.monotonic()
    changes = [at - wall_offset - window_start for at in created.values()]
    slow = sorted(zip(figures["beats"], figures["beat_starts"], strict=True), reverse=True)[:8]
    progress("slowest beats (ms @ s into the window): " + ", ".join(
        f"{took * 1000:.0f}@{at - window_start:.1f}" for took, at in slow)
        + "; changes at " + ", ".join(f"{c:.1f}" for c in changes))
    late: dict[int, int] = {}
    for took, at in zip(figures["beats"], figures["beat_starts"], strict=True):
        if took > 0.1:
            late[int(at - window_start)] = late.get(int(at - window_start), 0) + 1
    progress("beats over 100 ms, by second of the window: " + (", ".join(
        f"{second}s: {count}" for second, count in sorted(late.items())) or "none"))


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def report(r: dict[str, Any], per_peer: int, as_json: bool) -> None:
    beat_p50, beat_p99 = (percentile(r["beats"], p) * 1000 for p in (50, 99))
    assign_p50, assign_p99 = (percentile(r["latencies"], p) * 1000 for p in (50, 99))
    if as_json:
        print(json.dumps({"nodes": r["nodes"], "leader_cpu_percent": round(r["leader_cpu"], 1),
                          "heartbeat_p99_ms": _number(beat_p99),
                          "assignment_p99_ms": _number(assign_p99)}))
        return
    load = r["load"]
    print(f"node scale: {r['nodes']} simulated nodes (mutual TLS, a "
          f"certificate each) on 3 manager machines; per-peer connection cap raised to "
          f"{per_peer} (all nodes share one address); window {r['window']:.0f} s; "
          f"{os.cpu_count()} CPUs, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print_rows([
        ("joined (all nodes)", f"{r['joined']:.1f} s; first assignments after "
                               f"{r['settled']:.1f} s"),
        ("leader CPU", f"{r['leader_cpu']:.1f} % of one core ({r['leader']}); RSS "
                       f"{r['leader_rss']:.0f} MB"),
        ("simulator CPU", "; ".join(
            f"{role} {cpu:.1f} % of one core, its loop's lag p99 "
            f"{percentile(lags, 99) * 1000:.0f} ms, max {max(lags, default=0) * 1000:.0f} ms"
            for role, cpu, lags in zip(("beats", "polls"), r["sim_cpu"], r["lags"],
                                       strict=True))
            + " (in the figures below: beats in heartbeats, polls in assignments)"),
        ("heartbeats", f"{len(r['beats'])} in the window ({len(r['beats']) / r['window']:.0f}"
                       f"/s; the leader asked for one per {r['interval']:.2f} s at most), "
                       f"{r['beat_errors']} failed; "
                       f"p50 {beat_p50:.1f} ms, p99 {beat_p99:.1f} ms"),
        ("assignment latency", f"{r['changes']} changes, each reached at least "
                               f"{r['reached']} of {r['nodes']} nodes; p50 {assign_p50:.0f} "
                               f"ms, p99 {assign_p99:.0f} ms"),
    ], indent="  ")


def _number(value: float) -> float | None:
    """Rounded; None (JSON null) when nothing was measured."""
    return None if math.isnan(value) else round(value, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--join-at-once", type=int, default=32)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    raise_file_limit()
    machines = BenchMachines({})
    managers = Managers(machines, args.nodes)
    try:
        managers.start()
        progress("3 managers up")
        result = asyncio.run(simulate(args, managers))
    finally:
        managers_client = getattr(managers, "client", None)
        if managers_client is not None:
            managers_client.close()
        machines.close()
    report(result, managers.per_peer, args.json)


if __name__ == "__main__":
    sys.exit(main())
