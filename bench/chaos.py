"""Chaos on a swarm of 3 managers and a worker, under a write load: what is lost, and for how
long writes stop.

    .venv/bin/python bench/chaos.py [--kills N] [--power-cuts N] [--partitions N]
                                    [--garbage S] [--scale-kills N [--seed S]] [--json]
    (root; defaults: 50 kills, 20 power cuts, 3 partitions, 10 s of garbage, 20 scale
    rounds with a kill each; 0 leaves a scenario out)

Machines: bench/_machines.py (SWARMLET_BENCH_PREFIX + m1..m3 managers, w1 a worker). The
load (bench/chaos_load.py) writes from the host to the three managers in turn, over mutual
TLS, all along; every write's outcome is logged and checked against the swarm at the end.
Scenarios, one after the other, each bounded in time:
- kills: SIGKILL of the leader's agent (its machine's init starts it again after 1 s), then
  the next once the killed manager answers again. Per kill: seconds until the next
  acknowledged write.
- power cuts: the three managers stopped at once (`machine stop`: every write they did not
  fsync is lost) and started again. Per cut: seconds from the start until a write is
  acknowledged; a manager that does not come back ends the run.
- partitions: `machine disconnect` of the leader for 5 s, then `connect`. A writer inside the
  cut-off machine writes through its local socket meanwhile: the writes it saw acknowledged
  after the cut (a cut-off leader must acknowledge none: two leaders accepting writes).
- garbage: the worker tries to send random bytes and oversized frames to the leader's Raft
  port (2378) for S seconds: the connections it made (nftables admits only managers), and
  the longest stretch without an acknowledged write, against the longest before it.
- scale kills (bench/chaos_scale.py): a service scaled 0 <-> 20 in a loop, an agent (the
  leader's, a follower's or the worker's, seeded random) SIGKILLed while each scale
  converges: duplicate containers per slot, orphan containers 60 s after the last scale to
  0, and tasks stuck (not running though meant to, or running though meant to stop) once a
  round has had 60 s.
At the end: acknowledged writes lost (must be 0); writes reported failed or unknown that
committed anyway (counted: a client checks before it retries). Prints a table; `--json`
prints one line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from _machines import BenchMachines, print_rows
from chaos_load import WriteLoad, client_tls
from chaos_scale import ScaleKills

from swarmlet.machine.processes import program_pid

MANAGERS = [BenchMachines.name(s) for s in ("m1", "m2", "m3")]
WORKER = BenchMachines.name("w1")
HOLD = 5.0        # seconds a partition lasts
RECOVER = 60.0    # the longest a scenario waits for the swarm to come back

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts" / "chaos"


class Chaos:
    def __init__(self) -> None:
        self.machines = BenchMachines({})
        self.managers, self.worker = MANAGERS, WORKER
        self.ips: dict[str, str] = {}
        self.load: WriteLoad | None = None

    def build(self) -> None:
        m = self.machines
        m.swarm(MANAGERS[0], MANAGERS[1:], role="manager")
        m("create", WORKER)
        token = m.on(MANAGERS[0], "swarmlet swarm join-token -q worker").strip()
        self.ips = {name: m("ip", name).strip() for name in [*MANAGERS, WORKER]}
        m.on(WORKER, f"swarmlet swarm join --token {token} {self.ips[MANAGERS[0]]}:2377")
        certs = Path(m.tmp) / "client"
        m.on(MANAGERS[0], f"swarmlet swarm ca client-cert --out {certs}")
        node_id = json.loads(m.on(MANAGERS[0], "swarmlet node inspect self"))[0]["ID"]
        self.load = WriteLoad([self.ips[n] for n in MANAGERS], client_tls(certs), node_id)

    # --- the swarm's state, from outside --------------------------------------------------

    def leader(self, deadline: float) -> str:
        """The leader machine's name, as the managers that answer say."""
        assert self.load is not None
        while time.monotonic() < deadline:
            for name in MANAGERS:
                try:
                    nodes = self.load.client(self.ips[name]).get("/nodes")
                except Exception:
                    continue
                for node in nodes:
                    status = node.get("ManagerStatus") or {}
                    if status.get("Leader"):
                        ip = status["Addr"].rsplit(":", 1)[0]
                        return next(n for n, i in self.ips.items() if i == ip)
            time.sleep(0.1)
        raise RuntimeError("no leader within the scenario's time")

    def answering(self, name: str, deadline: float) -> None:
        """Wait until the manager `name` answers, with a leader behind it."""
        assert self.load is not None
        while time.monotonic() < deadline:
            try:
                self.load.client(self.ips[name]).get("/nodes")
                return
            except Exception:
                time.sleep(0.2)
        raise RuntimeError(f"{name} did not come back")

    def agent_pid(self, name: str) -> int:
        """swarmletd in the machine's own cgroup (the processes this bench's machine runs)."""
        pid = program_pid(f"swarmlet-machine-{name}", "swarmletd")
        if pid is None:
            raise RuntimeError(f"no swarmletd runs in {name}")
        return pid

    def kill_agent(self, name: str) -> None:
        """SIGKILL of the machine's agent; its machine's init starts it again after 1 s."""
        os.kill(self.agent_pid(name), signal.SIGKILL)

    def next_ack_after(self, t: float, deadline: float) -> float:
        """Seconds from `t` until a write sent after `t` is acknowledged."""
        assert self.load is not None
        while time.monotonic() < deadline:
            acked = [w.ended for w in self.load.writes
                     if w.outcome == "ack" and w.started >= t]
            if acked:
                return min(acked) - t
            time.sleep(0.05)
        seen = Counter((w.manager, w.outcome, w.detail[:70]) for w in self.load.writes
                       if w.started >= t)
        raise RuntimeError(f"no write acknowledged within the scenario's time: {seen}")

    # --- scenarios ------------------------------------------------------------------------

    def kills(self, n: int) -> list[float]:
        recoveries = []
        for _ in range(n):
            deadline = time.monotonic() + RECOVER
            leader = self.leader(deadline)
            killed_at = time.time()
            self.kill_agent(leader)
            recoveries.append(self.next_ack_after(killed_at, deadline))
            self.answering(leader, deadline)
            time.sleep(1.0)
        return recoveries

    def power_cuts(self, n: int) -> list[float]:
        """All three managers cut at once (`machine stop`: what they never fsynced is lost,
        docs/machines.md) and started again; per cut, seconds from the start command until
        a write is acknowledged. A manager that does not come back ends the run."""
        recoveries = []
        for _ in range(n):
            deadline = time.monotonic() + RECOVER
            self.machines("stop", *MANAGERS)
            started = time.time()
            self.machines("start", *MANAGERS)
            recoveries.append(self.next_ack_after(started, deadline))
            for name in MANAGERS:
                self.answering(name, deadline)
            time.sleep(1.0)
        return recoveries

    def partitions(self, n: int) -> tuple[int, int, list[float]]:
        """(writes the cut-off side acknowledged after the cut, of those lost, recoveries)."""
        m, acked_cut, lost_cut, recoveries = self.machines, 0, 0, []
        for i in range(n):
            deadline = time.monotonic() + RECOVER
            leader = self.leader(deadline)
            out = Path(m.tmp) / f"cut-{i}.jsonl"
            m.on(leader, f"setsid {sys.executable} {SCRIPTS / 'label_writer.py'} {HOLD + 2} "
                         f"{out} cut{i} > /dev/null 2>&1 < /dev/null &")
            time.sleep(1.0)  # the writer under way
            m("disconnect", leader)
            cut_at = time.time()  # the link is down once the command returns, not before
            recoveries.append(self.next_ack_after(cut_at, deadline))
            time.sleep(max(0.0, cut_at + HOLD - time.time()))
            m("connect", leader)
            self.answering(leader, deadline)
            time.sleep(2.0)  # the writer's last lines
            lines = [json.loads(x) for x in out.read_text().splitlines()]
            after_cut = [x for x in lines if x["outcome"] == "ack" and x["started"] >= cut_at]
            acked_cut += len(after_cut)
            if lines:
                assert self.load is not None
                labels = self.load.client(self.ips[MANAGERS[0]]).get(
                    f"/nodes/{lines[0]['node']}")["Spec"].get("Labels") or {}
                lost_cut += sum(1 for x in lines if x["outcome"] == "ack"
                                and x["key"] not in labels)
        return acked_cut, lost_cut, recoveries

    def garbage(self, seconds: float) -> tuple[float, float, int]:
        """(longest gap without an ack in the S s before, in the S s of garbage, the
        connections the worker made to the leader's Raft port)."""
        assert self.load is not None
        leader = self.leader(time.monotonic() + RECOVER)
        before_start = time.time()
        time.sleep(seconds)
        start = time.time()
        made = self.machines.on(WORKER, f"{sys.executable} {SCRIPTS / 'raft_garbage.py'} "
                                        f"{self.ips[leader]} 2378 {seconds}")
        end = time.time()
        return (self.load.longest_gap(before_start, start), self.load.longest_gap(start, end),
                int(made.split()[0]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--power-cuts", type=int, default=20)
    parser.add_argument("--garbage", type=float, default=10.0)
    parser.add_argument("--scale-kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None,
                        help="of the scale kills' choices (default: from the clock)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else time.time_ns() % 10**6
    print(f"scale kills: seed {seed}", file=sys.stderr)
    chaos = Chaos()
    scaled: dict[str, object] = {}
    try:
        chaos.build()
        assert chaos.load is not None
        load_avg = os.getloadavg()[0]
        chaos.load.start()
        time.sleep(2.0)
        kills = chaos.kills(args.kills)
        cuts = chaos.power_cuts(args.power_cuts)
        acked_cut, lost_cut, cut_recoveries = chaos.partitions(args.partitions)
        gap_before, gap_garbage, garbage_made = chaos.garbage(args.garbage)
        if args.scale_kills:
            scaled = {"scale_seed": seed, **ScaleKills(chaos, seed).run(args.scale_kills)}
        time.sleep(1.0)
        chaos.load.stop()
        counts = chaos.load.verify(chaos.ips[chaos.leader(time.monotonic() + RECOVER)])
        load_avg = max(load_avg, os.getloadavg()[0])
    finally:
        chaos.machines.close()
    figures = {
        **counts, "kills": len(kills),
        "kill_recovery_median_s": round(statistics.median(kills), 2) if kills else None,
        "kill_recovery_max_s": round(max(kills), 2) if kills else None,
        "power_cuts": len(cuts),
        "power_cut_recovery_median_s": round(statistics.median(cuts), 2) if cuts else None,
        "power_cut_recovery_max_s": round(max(cuts), 2) if cuts else None,
        "partitions": len(cut_recoveries), "acked_by_cut_off_side": acked_cut,
        "cut_off_acks_lost": lost_cut,
        "partition_recovery_max_s": round(max(cut_recoveries), 2) if cut_recoveries else None,
        "garbage_seconds": args.garbage, "longest_gap_before_s": round(gap_before, 2),
        "longest_gap_under_garbage_s": round(gap_garbage, 2),
        "garbage_connections_made": garbage_made, **scaled, "load_average": load_avg,
    }
    if args.json:
        print(json.dumps(figures))
        return
    print_rows([(name, str(value)) for name, value in figures.items()])


if __name__ == "__main__":
    main()
