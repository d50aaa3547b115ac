"""The load balancer (net/lb.py, net/nft.py): what a service VIP and the routing mesh cost
against a task's own address, how soon a new task gets traffic and a removed one loses it,
and how long the rules take to program.

    .venv/bin/python bench/network_lb.py [--duration S] [--rounds R] [--concurrency C]
                                         [--trials T] [--reps N]   (root; about 7 minutes)

Three local machines bn-1 (manager), bn-2, bn-3 (workers) in a temporary machine store; an
overlay network `bnnet`; `bnweb`, 2 replicas of swarmlet/demo:latest on the workers, on
bnnet, published with -p 8080:80; `bnclient`, 1 replica pinned to bn-1, only so that bn-1
takes part in bnnet (its VIP and task addresses are reachable from there). Every probe runs
inside bn-1's namespace (`machine ssh`, this venv's Python): traffic only ever goes to
overlay addresses from inside a machine and to the machines' 198.18.0.x addresses.

(1) Load: C threads, each opening a new TCP connection per request (the balancer picks a
    backend per connection), HTTP/1.0 GET /, read to EOF; a warm-up second, then S seconds
    counted; R rounds, the three targets taken in turn within each round:
    (a) the address of the bnweb task on bn-2 (port 80), (b) bnweb's VIP on bnnet (port 80),
    (c) bn-2's underlay address, port 8080 (the routing mesh). Requests/s, p50/p99 latency
    (connect to EOF) over all rounds, the ratio to (a), errors, how the answers spread.
(2) Time to traffic: bnweb is scaled up by one, T times (2 -> 2+T); a probe in bn-1
    requesting every 5 ms through the VIP and through the mesh on bn-2 and on bn-3 notes
    when the new container's hostname first answers; against the container's StartedAt
    (Docker) and the task's Status.Timestamp of RUNNING (as the manager has it). Up first,
    so that every trial measures a fresh address.
(2b) Time to leave: then bnweb is scaled down by one, T times (2+T -> 2). A second probe in
    bn-1, also requesting every 5 ms through the VIP and the mesh on bn-2 and on bn-3, notes
    each hostname's last answer and every failed request, and polls the manager's tasks of
    bnweb every 50 ms for the one told to go (DesiredState remove, as a scale down sets it;
    its UpdatedAt then is when the manager committed that). The bench asks the manager which
    task is to be removed, watches its container (docker inspect) until it stops and takes
    its State.FinishedAt (the time of its `die` event if it is removed first). Per
    trial: from the scale call to the desired state, to the container's stop and to its
    last answer on each path; the last answer against the stop (negative: the backend left
    before the container stopped); the failed requests (a balancer that drops the backend
    before the container stops fails none); and each machine's count of conntrack entries
    at the trial's start (an agent reads them all when a backend leaves). Any other task of
    bnweb told to go during a trial (failed, or its node taken for down) is listed.
(3) Programming N services x M backends (each with a VIP on an overlay, and a VIP on ingress
    with a published port, as a published service has), in a network namespace made for it,
    `swl-bench-lb` (deleted at the end): lb.plan + lb.render; the first `nft -f -`; then what
    the agent does when one backend changes (plan + render + the whole transaction); and,
    for comparison, what an incremental update of that one chain alone would cost in nft
    (`flush chain` + `add rule`; the agent does not do this).

Machines, the namespace and any container left of bn-* are removed in the end, also on
failure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from _machines import SWARMLET, BenchMachines

IMAGE = "swarmlet/demo:latest"
MANAGER, W1, W2 = "bn-1", "bn-2", "bn-3"
NODES = [MANAGER, W1, W2]
NETWORK, SERVICE, CLIENT = "bnnet", "bnweb", "bnclient"
REPLICAS, PUBLISHED = 2, 8080
NETNS = "swl-bench-lb"
SIZES = [(10, 3), (100, 10), (1000, 10)]

# Runs inside a machine: closed-loop load, a new connection per request. Prints JSON with
# every latency (us) counted, the errors and the hostnames that answered.
LOAD = r"""
import collections, json, socket, sys, threading, time
host, port, duration, warmup, conc = (sys.argv[1], int(sys.argv[2]), float(sys.argv[3]),
                                      float(sys.argv[4]), int(sys.argv[5]))
REQ = b"GET / HTTP/1.0\r\n\r\n"
t_measure = time.perf_counter() + warmup
t_end = t_measure + duration
lat, hosts, errors, lock = [], collections.Counter(), collections.Counter(), threading.Lock()

def worker():
    mine, seen, errs = [], collections.Counter(), collections.Counter()
    while True:
        t0 = time.perf_counter()
        if t0 >= t_end:
            break
        data, err = b"", None
        try:
            s = socket.create_connection((host, port), timeout=5)
            try:
                s.sendall(REQ)
                while chunk := s.recv(4096):
                    data += chunk
            finally:
                s.close()
            if b" 200 " not in data.split(b"\r\n", 1)[0]:
                err = "not 200"
        except OSError as exc:
            err = type(exc).__name__
        t1 = time.perf_counter()
        if t0 < t_measure:
            continue
        if err:
            errs[err] += 1
        else:
            mine.append(round((t1 - t0) * 1e6))
            seen[data.split(b"\r\n\r\n", 1)[-1].strip().decode()] += 1
    with lock:
        lat.extend(mine); hosts.update(seen); errors.update(errs)

threads = [threading.Thread(target=worker) for _ in range(conc)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({"lat": lat, "errors": dict(errors), "hosts": dict(hosts)}))
"""

# The probes' request: a new connection, HTTP/1.0 GET /; the page (the container's hostname).
HTTP_GET = r"""
import socket

def get(addr):
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=2) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return data.split(b"\r\n\r\n", 1)[-1].strip().decode()
"""

# Runs inside a machine: one thread per target (name=host:port), a request every 5 ms; prints
# "ready" once every target has answered, then the unix time at which each hostname not in
# KNOWN first answered on each target; stops when every target has seen one, or at TIMEOUT.
PROBE = HTTP_GET + r"""
import json, socket, sys, threading, time
known, timeout = set(sys.argv[1].split(",")), float(sys.argv[2])
targets = dict(a.split("=", 1) for a in sys.argv[3:])
first = {name: {} for name in targets}
errors = {name: 0 for name in targets}
slow = {name: 0 for name in targets}  # answers that took 0.9 s or more (a SYN resent)
answered = {name: threading.Event() for name in targets}
done = {name: threading.Event() for name in targets}
stop = time.time() + timeout


def probe(name, addr):
    while time.time() < stop and not done[name].is_set():
        t0 = time.time()
        try:
            host = get(addr)
            if time.time() - t0 >= 0.9 and answered[name].is_set():
                slow[name] += 1
        except OSError:
            if answered[name].is_set():
                errors[name] += 1
            time.sleep(0.005)
            continue
        now = time.time()
        answered[name].set()
        if host and host not in known and host not in first[name]:
            first[name][host] = now
            done[name].set()
        time.sleep(0.005)

threads = [threading.Thread(target=probe, args=item) for item in targets.items()]
for t in threads:
    t.start()
for e in answered.values():
    e.wait(timeout)
print("ready", flush=True)
for t in threads:
    t.join()
print(json.dumps({"first": first, "errors": errors, "slow": slow}), flush=True)
"""

# Runs inside a machine: one thread per target (name=host:port), a request every 5 ms, noting
# the start of the last answered request of each hostname and every failed request; and one
# thread asking the manager for SERVICE's tasks every 50 ms, noting for each task meant to run
# at the start when it is first seen told to go, with its DesiredState, UpdatedAt and
# Status.State then. Prints "ready" once every target has answered and the tasks were read;
# stops at a line (or EOF) on stdin, or at TIMEOUT, and prints what it saw as JSON.
LEAVE = HTTP_GET + r"""
import json, socket, sys, threading, time
from swarmlet.client import Client
service, timeout = sys.argv[1], float(sys.argv[2])
targets = dict(a.split("=", 1) for a in sys.argv[3:])
last = {name: {} for name in targets}    # hostname -> start of its last answered request
errors = {name: [] for name in targets}  # [start, kind] of every failed request
slow = {name: 0 for name in targets}     # answers that took 0.9 s or more (a SYN resent)
answered = {name: threading.Event() for name in targets}
leaving = {}                             # task ID -> what the manager had when first seen
polled, stopping = threading.Event(), threading.Event()


def probe(name, addr):
    while not stopping.is_set():
        t0 = time.time()
        try:
            host = get(addr)
        except OSError as exc:
            if answered[name].is_set():
                errors[name].append([t0, type(exc).__name__])
            time.sleep(0.005)
            continue
        if time.time() - t0 >= 0.9 and answered[name].is_set():
            slow[name] += 1
        answered[name].set()
        if host:
            last[name][host] = t0
        time.sleep(0.005)

def tasks():
    client, meant = Client(timeout=5), None
    while not stopping.is_set():
        try:
            current = client.get("/tasks", service=service)
        except Exception as exc:
            print(f"tasks: {exc}", file=sys.stderr, flush=True)
            stopping.wait(0.05)
            continue
        now = time.time()
        if meant is None:
            meant = {t["ID"] for t in current if t.get("DesiredState") == "running"}
            polled.set()
        for t in current:
            if t["ID"] in meant and t["ID"] not in leaving and t.get("DesiredState") != "running":
                status = t.get("Status", {})
                leaving[t["ID"]] = {"seen": now, "desired": t.get("DesiredState"),
                                    "updated": t.get("UpdatedAt"), "state": status.get("State"),
                                    "message": status.get("Err") or status.get("Message")}
        stopping.wait(0.05)

threads = [threading.Thread(target=probe, args=item) for item in targets.items()]
threads.append(threading.Thread(target=tasks))
for t in threads:
    t.start()
for e in [*answered.values(), polled]:
    e.wait(timeout)
print("ready", flush=True)
threading.Thread(target=lambda: (sys.stdin.readline(), stopping.set()), daemon=True).start()
stopping.wait(timeout)
stopping.set()
for t in threads:
    t.join()
print(json.dumps({"last": last, "errors": errors, "slow": slow, "leaving": leaving}),
      flush=True)
"""

# Runs inside the bench's own namespace: N services x M backends, rendered and applied.
PROGRAM = r"""
import json, statistics, subprocess, sys, time
from ipaddress import IPv4Address
from swarmlet.net import lb
n, m, reps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
NET, INGRESS = "bnetid", "ingressid"
net_base, ingress_base = int(IPv4Address("10.1.0.0")), int(IPv4Address("10.0.0.0"))

def services(drop=None):
    out = []
    for i in range(n):
        first = 2 + i * (m + 1)
        backends = [{"NetworkID": net, "IP": str(IPv4Address(base + first + 1 + j))}
                    for j in range(m) for net, base in ((NET, net_base),
                                                        (INGRESS, ingress_base))
                    if (i, j) != drop]
        out.append({"ID": f"id{i:08d}", "Name": f"svc{i}",
                    "VirtualIPs": [{"NetworkID": NET,
                                    "Addr": f"{IPv4Address(net_base + first)}/16"},
                                   {"NetworkID": INGRESS,
                                    "Addr": f"{IPv4Address(ingress_base + first)}/16"}],
                    "Ports": [{"Protocol": "tcp", "TargetPort": 80,
                               "PublishedPort": 20000 + i, "PublishMode": "ingress"}],
                    "Backends": backends})
    return out

NETWORKS = {NET: "bnet", INGRESS: "ingress"}

def text(svcs):
    return lb.render(*lb.plan(svcs, NETWORKS, INGRESS))

def nft(rules):
    t0 = time.perf_counter()
    proc = subprocess.run(["nft", "-f", "-"], input=rules, text=True, capture_output=True)
    if proc.returncode:
        sys.exit("nft: " + proc.stderr)
    return (time.perf_counter() - t0) * 1000

full = services()
renders = []
for _ in range(reps):
    t0 = time.perf_counter()
    rules = text(full)
    renders.append((time.perf_counter() - t0) * 1000)
first_apply = nft(rules)
changes, chains = [], []
for k in range(reps):
    drop = ((k * 37) % n, k % m)  # one backend gone from one service, then back
    for svcs in (services(drop), full):
        t0 = time.perf_counter()
        nft(text(svcs))
        changes.append((time.perf_counter() - t0) * 1000)
    balancers, _ = lb.plan(services(drop), NETWORKS, INGRESS)
    b = next(b for b in balancers if b.chain == f"svc-svc{drop[0]}-bnet")
    rule = lb._dnat(b)
    chains.append(nft(f"flush chain ip swarmlet {b.chain}\n"
                      f"add rule ip swarmlet {b.chain} {rule}\n"))
nft(lb.removal())
print(json.dumps({"kb": len(rules.encode()) / 1000, "render": statistics.median(renders),
                  "first": first_apply, "change": statistics.median(changes),
                  "change_max": max(changes), "chain": statistics.median(chains)}))
"""


class Machines(BenchMachines):
    def __init__(self) -> None:
        super().__init__({"load.py": LOAD, "probe.py": PROBE, "leave.py": LEAVE,
                          "program.py": PROGRAM})

    def cli(self, args: str) -> str:
        return self.on(MANAGER, f"swarmlet {args}")

    def task(self, task_id: str) -> dict:
        return next(t for t in self.api("/tasks", service=SERVICE) if t["ID"] == task_id)

    def api(self, path: str, **query: str):
        code = ("import json, sys; from swarmlet.client import Client; "
                "q = dict(a.split('=', 1) for a in sys.argv[2:]); "
                "print(json.dumps(Client().get(sys.argv[1], **q)))")
        args = " ".join(f"{k}={v}" for k, v in query.items())
        return json.loads(self.on(MANAGER, f'{sys.executable} -c "{code}" {path} {args}'))

    def close(self) -> None:
        """Services first, while the agents (the containers' network driver) still run:
        dockerd takes tens of seconds per overlay container once its driver is gone. Then
        the machines, by name; the store is kept (and named) if they would not go."""
        if self.exists(MANAGER):
            with contextlib.suppress(Exception):
                self.cli(f"service rm {SERVICE} {CLIENT}")
                wait(lambda: not containers(SERVICE) and not containers(CLIENT), 60,
                     "the services' containers to go")
        self.keep_logs()
        existing = [n for n in NODES if self.exists(n)]
        for _ in range(2):
            if not existing:
                break
            proc = subprocess.run([SWARMLET, "machine", "rm", *existing], env=self.env,
                                  capture_output=True, text=True)
            existing = [n for n in existing if self.exists(n)]
        # Whatever containers of these machines survived (by their machine label).
        for node in NODES:
            ids = docker("ps", "-aq", "--filter", f"label=swarmlet.machine={node}").split()
            if ids:
                subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
        if existing:
            print(f"warning: machines {existing} not removed ({proc.stderr.strip()[-300:]}); "
                  f"retry: SWARMLET_MACHINE_STORAGE_PATH={self.store} swarmlet machine rm "
                  f"{' '.join(existing)}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)  # never the store: it may be shared

    def exists(self, name: str) -> bool:
        return (Path(self.store) / "machines" / name / "machine.json").is_file()


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True,
                          check=True).stdout


def containers(service: str) -> list[dict]:
    """Running containers of the service on the bench's machines."""
    ids = docker("ps", "-q", "--filter", f"label=swarmlet.service.name={service}").split()
    if not ids:
        return []
    return [c for c in json.loads(docker("inspect", *ids))
            if c["Config"]["Labels"].get("swarmlet.machine") in NODES]


def timestamp(text: str) -> float:
    """RFC 3339 with up to nanoseconds (Docker's), as unix time."""
    whole, _, frac = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float(f"0.{frac or 0}")


def wait(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def build(m: Machines) -> dict[str, str]:
    """The cluster and services; the addresses to send to."""
    m("create", *NODES)
    m.cli("swarm init")
    token = m.cli("swarm join-token -q worker").strip()
    manager_ip = m("ip", MANAGER).strip()
    for w in (W1, W2):
        m.on(w, f"swarmlet swarm join --token {token} {manager_ip}:2377")
    m.cli(f"network create {NETWORK}")
    m.cli(f"service create -q --name {SERVICE} --replicas {REPLICAS} --network {NETWORK} "
          f"-p {PUBLISHED}:80 --constraint node.role==worker {IMAGE}")
    m.cli(f"service create -q --name {CLIENT} --replicas 1 --network {NETWORK} "
          f"--constraint node.hostname=={MANAGER} {IMAGE}")
    wait(lambda: len(containers(SERVICE)) == REPLICAS and len(containers(CLIENT)) == 1, 60,
         "the services' containers")
    [svc] = json.loads(m.cli(f"service inspect {SERVICE}"))
    [net] = json.loads(m.cli(f"network inspect {NETWORK}"))
    [vip] = [v["Addr"].split("/")[0] for v in svc["Endpoint"]["VirtualIPs"]
             if v["NetworkID"] == net["Id"]]
    on_w1 = next(c for c in containers(SERVICE)
                 if c["Config"]["Labels"]["swarmlet.machine"] == W1)
    task = m.task(on_w1["Config"]["Labels"]["swarmlet.task.id"])
    [addr] = [a["Addresses"][0].split("/")[0] for a in task["NetworksAttachments"]
              if a["Network"]["ID"] == net["Id"]]
    return {"direct": addr, "vip": vip, W1: m("ip", W1).strip(), W2: m("ip", W2).strip()}


def load(m: Machines, addrs: dict[str, str], duration: float, rounds: int,
         concurrency: int) -> list[dict]:
    targets = [("(a) task IP (on bn-2)", addrs["direct"], 80),
               ("(b) service VIP", addrs["vip"], 80),
               (f"(c) routing mesh, bn-2:{PUBLISHED}", addrs[W1], PUBLISHED)]
    results = {label: {"lat": [], "errors": {}, "hosts": {}} for label, _, _ in targets}
    for _ in range(rounds):
        for label, host, port in targets:
            out = json.loads(m.py(MANAGER, "load.py", host, str(port), str(duration), "1",
                                  str(concurrency)))
            r = results[label]
            r["lat"] += out["lat"]
            for key in ("errors", "hosts"):
                for k, v in out[key].items():
                    r[key][k] = r[key].get(k, 0) + v
    rows = []
    for label, host, port in targets:
        r = results[label]
        lat = sorted(r["lat"])
        rows.append({"label": label, "addr": f"{host}:{port}",
                     "rps": len(lat) / (duration * rounds),
                     "p50": lat[len(lat) // 2] / 1000 if lat else float("nan"),
                     "p99": lat[min(len(lat) - 1, int(0.99 * len(lat)))] / 1000
                     if lat else float("nan"),
                     "max": lat[-1] / 1000 if lat else float("nan"),
                     "slow": sum(1 for x in lat if x >= 900_000),
                     "errors": sum(r["errors"].values()), "error_kinds": r["errors"],
                     "hosts": r["hosts"]})
    return rows


def listen_drops() -> dict[str, int]:
    """TcpExt ListenOverflows and ListenDrops summed over bnweb's containers (their own
    network namespaces): SYNs dropped because a server's accept queue was full."""
    total = {"ListenOverflows": 0, "ListenDrops": 0}
    for c in containers(SERVICE):
        lines = docker("exec", c["Id"], "cat", "/proc/net/netstat").splitlines()
        for head, values in zip(lines[::2], lines[1::2], strict=False):
            if head.startswith("TcpExt:"):
                row = dict(zip(head.split()[1:], values.split()[1:], strict=False))
                for key in total:
                    total[key] += int(row.get(key, 0))
    return total


def time_to_traffic(m: Machines, addrs: dict[str, str], trials: int) -> list[dict]:
    rows = []
    for replicas in range(REPLICAS, REPLICAS + trials):
        known = {c["Config"]["Hostname"] for c in containers(SERVICE)}
        probe = subprocess.Popen(
            [SWARMLET, "machine", "ssh", MANAGER, "--", m.py_command(
                "probe.py", ",".join(sorted(known)), "20", f"vip={addrs['vip']}:80",
                f"{W1}={addrs[W1]}:{PUBLISHED}", f"{W2}={addrs[W2]}:{PUBLISHED}")],
            env=m.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            if probe.stdout.readline().strip() != "ready":
                raise RuntimeError(f"probe: {probe.stderr.read()}")
            scaled = time.time()
            m.cli(f"service scale {SERVICE}={replicas + 1} -d")
            out, err = probe.communicate(timeout=60)
        finally:
            if probe.poll() is None:
                probe.kill()
                probe.wait()
        if probe.returncode:
            raise RuntimeError(f"probe: {err}")
        result = json.loads(out)
        new = [c for c in containers(SERVICE) if c["Config"]["Hostname"] not in known]
        if len(new) != 1:
            raise RuntimeError(f"expected one new container, found {len(new)}")
        [c] = new
        host, on = c["Config"]["Hostname"], c["Config"]["Labels"]["swarmlet.machine"]
        running = timestamp(m.task(c["Config"]["Labels"]["swarmlet.task.id"])
                            ["Status"]["Timestamp"])
        started = timestamp(c["State"]["StartedAt"])
        since = {k: (t - running if t else None)  # None: never answered within the probe
                 for k, t in ((k, result["first"][k].get(host)) for k in ("vip", W1, W2))}
        rows.append({"machine": on, "to_started": started - scaled,
                     "to_running": running - started, "vip": since["vip"],
                     "mesh_own": since[on], "mesh_other": since[W2 if on == W1 else W1],
                     "replicas": replicas, "errors": sum(result["errors"].values()),
                     "slow": sum(result["slow"].values())})
    return rows


AFTER_STOP = 1.0  # seconds the leave probe goes on after the container stopped
STOP_WAIT = 150.0  # seconds a scale down may take to stop a container (it took over 30 s)


def removed(m: Machines, before: dict[str, dict], timeout: float) -> dict:
    """The container (of `before`) whose task the scale down removes: DesiredState "remove"
    as the manager has it, or already deleted (its container stopped at once, and the reaper
    deletes a removed task once it has stopped)."""
    tasks = {c["Config"]["Labels"]["swarmlet.task.id"]: c for c in before.values()}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = {t["ID"]: t for t in m.api("/tasks", service=SERVICE)}
        going = [c for task_id, c in tasks.items() if task_id not in now
                 or now[task_id].get("DesiredState") == "remove"]
        if len(going) > 1:
            raise RuntimeError(f"{len(going)} tasks of {SERVICE} to remove, not one")
        if going:
            return going[0]
        time.sleep(0.1)
    raise RuntimeError(f"no task of {SERVICE} was to be removed within {timeout:.0f} s")


def stopped(before: dict[str, dict], timeout: float) -> tuple[dict, float]:
    """The first of the containers `before` (ID -> docker inspect) to stop, as last inspected,
    and its stop (unix time): State.FinishedAt, or, if it was removed before an inspect saw
    it stopped, the time of its `die` event."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # A removed container makes docker inspect fail, but the others are still printed.
        proc = subprocess.run(["docker", "inspect", *before], capture_output=True, text=True)
        now = {c["Id"]: c for c in json.loads(proc.stdout or "[]")}
        for cid, c in before.items():
            if cid not in now and f"No such object: {cid}" in proc.stderr:
                if (died := event_time(cid, "die")) is None:
                    raise RuntimeError(f"container {cid[:12]} is gone, with no die event")
                return c, died
            if cid not in now:
                continue  # docker inspect failed otherwise: ask again
            if not now[cid]["State"]["Running"]:
                return now[cid], timestamp(now[cid]["State"]["FinishedAt"])
        time.sleep(0.05)
    raise RuntimeError(f"no container of {SERVICE} stopped within {timeout:.0f} s")


def event_time(cid: str, event: str) -> float | None:
    """The unix time of the container's last `event` in the past minute, from docker events."""
    now = time.time()
    out = docker("events", "--since", f"{now - 60:.9f}", "--until", f"{now:.9f}",
                 "--filter", f"container={cid}", "--filter", f"event={event}",
                 "--format", "{{.TimeNano}}").split()
    return int(out[-1]) / 1e9 if out else None


def time_to_leave(m: Machines, addrs: dict[str, str], trials: int) -> list[dict]:
    rows = []
    for replicas in range(REPLICAS + trials, REPLICAS, -1):
        # As many running as there are replicas (a task replaced meanwhile has started).
        wait(lambda n=replicas: len(containers(SERVICE)) == n, 60,
             f"{replicas} containers of {SERVICE}")
        before = {c["Id"]: c for c in containers(SERVICE)}
        tracked = {node: int(m.on(node, "cat /proc/sys/net/netfilter/nf_conntrack_count"))
                   for node in NODES}
        probe = subprocess.Popen(
            [SWARMLET, "machine", "ssh", MANAGER, "--", m.py_command(
                "leave.py", SERVICE, str(STOP_WAIT + 60), f"vip={addrs['vip']}:80",
                f"{W1}={addrs[W1]}:{PUBLISHED}", f"{W2}={addrs[W2]}:{PUBLISHED}")],
            env=m.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        try:
            if probe.stdout.readline().strip() != "ready":
                raise RuntimeError(f"leave probe: {probe.stderr.read()}")
            scaled = time.time()
            m.cli(f"service scale {SERVICE}={replicas - 1} -d")
            returned = time.time()
            victim = removed(m, before, 30)
            c, stop = stopped({victim["Id"]: victim}, STOP_WAIT)
            time.sleep(AFTER_STOP)
            out, err = probe.communicate("stop\n", timeout=30)
        finally:
            if probe.poll() is None:
                probe.kill()
                probe.wait()
        if probe.returncode:
            raise RuntimeError(f"leave probe: {err}")
        result = json.loads(out)
        host, on = c["Config"]["Hostname"], c["Config"]["Labels"]["swarmlet.machine"]
        task_id = c["Config"]["Labels"]["swarmlet.task.id"]
        told = result["leaving"].pop(task_id, None)
        others = [{"container": next((o["Config"]["Hostname"] for o in before.values()
                                      if o["Config"]["Labels"]["swarmlet.task.id"] == tid), "?"),
                   "since": timestamp(t["updated"]) - scaled, **t}
                  for tid, t in result["leaving"].items()]
        # UpdatedAt is the commit of the new desired state only while nothing else changed
        # the task since (the executor's report of its stop comes next).
        if told and told["state"] == "running":
            desired, source = timestamp(told["updated"]), "manager"
        else:
            desired, source = returned, "command"
        sigterm = event_time(c["Id"], "kill")
        last = {k: result["last"][k].get(host) for k in ("vip", W1, W2)}
        other = W2 if on == W1 else W1
        errors = [(k, t - stop, kind) for k, errs in result["errors"].items()
                  for t, kind in errs]
        rows.append({"machine": on, "replicas": replicas, "desired": desired - scaled,
                     "source": source, "told": told and told["desired"],
                     "stop": stop - scaled,
                     "sigterm_to_stop": stop - sigterm if sigterm else None,
                     **{name: (t - scaled if t else None)
                        for name, t in (("vip", last["vip"]), ("mesh_own", last[on]),
                                        ("mesh_other", last[other]))},
                     **{name + "_stop": (t - stop if t else None)
                        for name, t in (("vip", last["vip"]), ("mesh_own", last[on]),
                                        ("mesh_other", last[other]))},
                     "conntrack": tracked, "others": others,
                     "errors": len(errors), "error_list": errors,
                     "slow": sum(result["slow"].values())})
    return rows


def program(m: Machines, reps: int) -> list[dict]:
    if Path("/run/netns", NETNS).exists():
        subprocess.run(["ip", "netns", "delete", NETNS], check=True)
    subprocess.run(["ip", "netns", "add", NETNS], check=True)
    try:
        rows = []
        for n, k in SIZES:
            out = subprocess.run(["ip", "netns", "exec", NETNS, sys.executable,
                                  str(m.scripts / "program.py"), str(n), str(k),
                                  str(reps if n < 1000 else max(2, reps // 2))],
                                 capture_output=True, text=True, check=True).stdout
            rows.append({"n": n, "m": k, **json.loads(out)})
        return rows
    finally:
        subprocess.run(["ip", "netns", "delete", NETNS], capture_output=True)


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=8.0, help="seconds counted per run")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--trials", type=int, default=5,
                    help="scale-ups of (2), then as many scale-downs of (2b)")
    ap.add_argument("--reps", type=int, default=5, help="repetitions of (3)")
    args = ap.parse_args()

    started = time.monotonic()
    load_before = os.getloadavg()

    def phase(text: str) -> None:
        print(f"[{time.monotonic() - started:5.0f} s] {text}", file=sys.stderr, flush=True)

    m = Machines()
    try:
        phase("(3) programming")
        lb_rows = program(m, args.reps)
        phase("cluster")
        addrs = build(m)
        phase("(1) load")
        load_rows = load(m, addrs, args.duration, args.rounds, args.concurrency)
        drops = listen_drops()
        phase("(2) time to traffic")
        ttt_rows = time_to_traffic(m, addrs, args.trials)
        phase("(2b) time to leave")
        ttl_rows = time_to_leave(m, addrs, args.trials)
        phase("clean-up")
    finally:
        m.close()
        subprocess.run(["ip", "netns", "delete", NETNS], capture_output=True)
    report(args, load_before, load_rows, drops, ttt_rows, ttl_rows, lb_rows)
    print(f"\ntotal {time.monotonic() - started:.0f} s")


def report(args: argparse.Namespace, load_before: tuple[float, ...], load_rows: list[dict],
           drops: dict[str, int], ttt_rows: list[dict], ttl_rows: list[dict],
           lb_rows: list[dict]) -> None:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "?")
    nft_version = subprocess.run(["nft", "--version"], capture_output=True,
                                 text=True).stdout.strip()
    cpus = os.cpu_count()
    print(f"machine: {cpus} CPUs ({model}), kernel {platform.release()}, {nft_version}, "
          f"Python {platform.python_version()}; load average at start "
          + " ".join(f"{x:.1f}" for x in load_before))
    print(f"note: the {cpus} cores are shared by the load generator (Python threads in bn-1), "
          "the servers\n      (busybox httpd, a fork per connection), the three agents and "
          "whatever else runs on the box:\n      compare the paths with each other, not with "
          "other machines.")
    print()
    print(f"(1) load from bn-1: {args.concurrency} connections, a new TCP connection per "
          f"request, HTTP/1.0 GET /;\n    {args.rounds} rounds x {args.duration:g} s (1 s "
          f"warm-up each), targets in turn; {SERVICE}: {REPLICAS} replicas, on bn-2 and bn-3")
    base = load_rows[0]
    print(f"{'target':<40} {'req/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
          f"{'>=0.9s':>6} {'errors':>6} {'req/s/a':>7} {'p99/a':>6}")
    for r in load_rows:
        target = f"{r['label'].split(',')[0]} {r['addr']}"
        print(f"{target:<40} {r['rps']:>6.0f} {r['p50']:>7.2f} {r['p99']:>7.2f} "
              f"{r['max']:>7.1f} {r['slow']:>6} {r['errors']:>6} "
              f"{r['rps'] / base['rps']:>7.2f} {r['p99'] / base['p99']:>6.2f}")
    for r in load_rows[1:]:
        total = sum(r["hosts"].values()) or 1
        print(f"    spread {r['label'][:3]}: " + ", ".join(
            f"{h[:12]} {100 * v / total:.1f}%" for h, v in sorted(r["hosts"].items())))
    for r in load_rows:
        if r["error_kinds"]:
            print(f"    errors {r['label'][:3]}: {r['error_kinds']}")
    print("    the servers' accept queues, after (1): " + ", ".join(
        f"{k} {v}" for k, v in drops.items()) + " (SYNs dropped: resent after 1 s, 3 s)")
    print()
    print(f"(2) {SERVICE} scaled up by one, {args.trials} times ({REPLICAS} -> "
          f"{REPLICAS + args.trials}); seconds from the scale call to the\n"
          "    new container's start (StartedAt), from there to the task's RUNNING "
          "(Status.Timestamp,\n    as the manager has it), and from RUNNING to the new "
          "container's first answer, probed from\n    bn-1 every 5 ms through the VIP, the "
          "mesh on the task's machine and the mesh on the other worker")
    keys = ("to_started", "to_running", "vip", "mesh_own", "mesh_other")
    heads = ("scale->start", "start->RUN", "RUN->VIP", "->mesh own", "->mesh other")
    widths = [max(len(h), 7) for h in heads]
    print(f"{'trial':>5} {'on':<5} " + " ".join(f"{h:>{w}}" for h, w in zip(heads, widths,
                                                                           strict=True))
          + f" {'errors':>6} {'>=0.9s':>6}")
    for i, r in enumerate(ttt_rows, 1):
        cells = " ".join(f"{fmt(r[k]):>{w}}" for k, w in zip(keys, widths, strict=True))
        print(f"{i:>5} {r['machine']:<5} {cells} {r['errors']:>6} {r['slow']:>6}")

    cells = " ".join(f"{fmt(median(ttt_rows, k)):>{w}}"
                     for k, w in zip(keys, widths, strict=True))
    print(f"{'median':<11} {cells}")
    print()
    report_leave(args, ttl_rows)
    print()
    print(f"(3) programming, in a namespace of its own ({NETNS}); each service: a VIP on an "
          "overlay,\n    a VIP on ingress and a published port (3 chains); ms, medians")
    print(f"{'services x backends':<20} {'rules kB':>8} {'plan+render':>11} {'first nft':>9} "
          f"{'1 backend changed (max)':>23} {'1 chain only':>12}")
    for r in lb_rows:
        size = f"{r['n']} x {r['m']}"
        changed = f"{r['change']:.0f} ({r['change_max']:.0f})"
        print(f"{size:<20} {r['kb']:>8.0f} {r['render']:>11.1f} {r['first']:>9.0f} "
              f"{changed:>23} {r['chain']:>12.1f}")
    print("    '1 backend changed': what the agent does (plan + render + `nft -f` of the whole "
          "transaction);\n    '1 chain only': a `flush chain` + `add rule` transaction, what an "
          "incremental update\n    would cost (the agent does not do this)")



def median(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r[key] is not None]
    return statistics.median(values) if values else None


def report_leave(args: argparse.Namespace, rows: list[dict]) -> None:
    print(f"(2b) {SERVICE} scaled down by one, {args.trials} times ({REPLICAS + args.trials} "
          f"-> {REPLICAS}); seconds from the scale call\n"
          "    to the task's new desired state (its UpdatedAt, as the manager has it; * "
          "where the manager\n    had moved on and the command's return is taken instead), "
          "to the container's stop\n    (State.FinishedAt) and to the start of its last "
          "answered request, probed from bn-1 every 5 ms\n    through the VIP, the mesh on the "
          "task's machine (own) and the mesh on the other worker; each\n    last answer minus the "
          "stop (negative: the backend left before the container stopped); failed\n"
          f"    requests, from the probe's start to {AFTER_STOP:g} s after the stop")
    keys = ("desired", "stop", "vip", "mesh_own", "mesh_other", "vip_stop", "mesh_own_stop",
            "mesh_other_stop")
    heads = ("->desired", "->stop", "->last VIP", "->last own", "->last other", "VIP-stop",
             "own-stop", "other-stop")
    widths = [max(len(h), 7) for h in heads]
    print(f"{'':<11} {'from the scale call':^{sum(widths[:5]) + 4}} "
          f"{'last answer - stop':^{sum(widths[5:]) + 2}}".rstrip())
    print(f"{'trial':>5} {'on':<5} " + " ".join(f"{h:>{w}}" for h, w in zip(heads, widths,
                                                                           strict=True))
          + f" {'errors':>6} {'>=0.9s':>6}")
    for i, r in enumerate(rows, 1):
        cells = [f"{fmt(r[k])}{'*' if k == 'desired' and r['source'] != 'manager' else ''}"
                 for k in keys]
        cells = " ".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True))
        print(f"{i:>5} {r['machine']:<5} {cells} {r['errors']:>6} {r['slow']:>6}")
    cells = " ".join(f"{fmt(median(rows, k)):>{w}}" for k, w in zip(keys, widths, strict=True))
    print(f"{'median':<11} {cells}")
    told = sorted({r["told"] or "?" for r in rows})
    term = median(rows, "sigterm_to_stop")
    print(f"    desired state set: {', '.join(told)}; the container stopped "
          f"{fmt(term and term * 1000, '.0f')} ms after its SIGTERM (median)")
    print(f"    conntrack entries at each trial's start ({' / '.join(NODES)}): " + "; ".join(
        f"{i}: " + " / ".join(f"{r['conntrack'][node] / 1000:.1f}k" for node in NODES)
        for i, r in enumerate(rows, 1)))
    print("    (when a backend leaves, each agent looks up its UDP flows in conntrack before "
          "it hands\n    the assignments to its executor: a stop late by seconds would "
          "point there)")
    for i, r in enumerate(rows, 1):
        for o in r["others"]:
            print(f"    trial {i}: another task told to go too, {o['container']}: "
                  f"{o['desired']} at {o['since']:+.2f} s (task {o['state']}: {o['message']})")
        groups: dict[tuple[str, str], list[float]] = {}
        for target, since, kind in r["error_list"]:
            groups.setdefault((target, kind), []).append(since)
        for (target, kind), since in sorted(groups.items()):
            path = "VIP" if target == "vip" else f"mesh {target}"
            print(f"    errors, trial {i}: {path}, {len(since)} x {kind}, requests started "
                  f"{min(since):+.3f} .. {max(since):+.3f} s from the stop")


if __name__ == "__main__":
    main()
