"""Scheduler throughput against a real store: read the snapshot, schedule, write the plan.

    .venv/bin/python bench/scheduler_throughput.py [--nodes 1000] [--tasks 30000]
                                                   [--services 30] [--batch 500] [--writers 1]
                                                   [--managers 1]

One in-process RaftStore on 127.0.0.1 (with --managers 3, the member of a Raft of three whose
other two run as processes of their own, bench/raft_writes.py's; every write is then
committed once fdatasync'd on two of the three) is loaded with ready nodes (varied labels)
and pending tasks spread over the services (some with constraints, reservations,
spread preferences, MaxReplicas and a host-mode port). Then three timed phases, as the
scheduler's shell would run them: list nodes/services/tasks from the store, schedule(), and
write every assignment back (NodeID + Status.State "assigned") in batches.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pysyncobj.version
from raft_writes import PASSWORD, Node, free_port

from swarmlet.manager.scheduler import Plan, schedule
from swarmlet.store.raft import RaftStore

GB = 1 << 30
ASSIGNED = "scheduler assigned task to node"


def make_node(i: int) -> dict:
    kind = "db" if i % 10 == 0 else "batch" if i % 10 < 4 else "web"
    return {
        "ID": f"node{i:05d}",
        "Spec": {"Role": "manager" if i < 3 else "worker", "Availability": "active",
                 "Labels": {"zone": f"z{i % 5}", "rack": f"r{i % 25:02d}", "type": kind}},
        "Description": {"Hostname": f"host-{i}",
                        "Platform": {"OS": "linux", "Architecture": "x86_64"},
                        "Resources": {"NanoCPUs": 16 * 10**9, "MemoryBytes": 64 * GB},
                        "Engine": {"EngineVersion": "swarmlet",
                                   "Labels": {"disk": "ssd" if i % 3 == 0 else "hdd"}}},
        "Status": {"State": "ready", "Addr": f"10.{i // 250}.{i % 250}.1"},
    }


def make_service(i: int) -> tuple[dict, str]:
    """A service and a short description of what it asks of placement."""
    placement: dict = {"Constraints": [], "Preferences": [], "MaxReplicas": 0}
    asks = []
    if i % 3 == 0:
        placement["Constraints"].append("node.labels.type!=db")
    if i % 7 == 0:
        placement["Constraints"].append("engine.labels.disk==ssd")
    if i % 4 == 0:
        placement["Preferences"].append({"Spread": {"SpreadDescriptor": "node.labels.zone"}})
    if i == 8:
        placement["Preferences"].append({"Spread": {"SpreadDescriptor": "node.labels.rack"}})
    if i == 10:
        placement["MaxReplicas"] = 2
    reservations = {"NanoCPUs": 10**8, "MemoryBytes": 128 << 20} if i % 2 else {}
    ports = ([{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080,
               "PublishMode": "host"}] if i == 29 else [])
    asks = [*placement["Constraints"],
            *(p["Spread"]["SpreadDescriptor"] for p in placement["Preferences"]),
            *(["max 2/node"] if placement["MaxReplicas"] else []),
            *(["reserves"] if reservations else []), *(["host port"] if ports else [])]
    template = {"ContainerSpec": {"Image": "nginx:alpine"}, "Placement": placement,
                "Resources": {"Limits": {}, "Reservations": reservations}}
    service = {"ID": f"svc{i:03d}",
               "Spec": {"Name": f"svc{i:03d}", "TaskTemplate": template,
                        "Mode": {"Replicated": {"Replicas": 0}},
                        "EndpointSpec": {"Ports": ports}}}
    return service, ", ".join(asks)


def make_tasks(service: dict, count: int) -> list[dict]:
    spec = service["Spec"]
    out = []
    for slot in range(1, count + 1):
        task = {"ID": f"{service['ID']}-{slot:06d}", "ServiceID": service["ID"], "Slot": slot,
                "NodeID": "", "Spec": spec["TaskTemplate"], "DesiredState": "running",
                "Status": {"State": "pending", "Message": "pending task scheduling",
                           "Err": ""}}
        if spec["EndpointSpec"]["Ports"]:
            task["Endpoint"] = {"Ports": spec["EndpointSpec"]["Ports"]}
        out.append(task)
    return out


def write_all(store: RaftStore, kind: str, objects: list[dict], batch: int,
              op: str = "create", writers: int = 1) -> None:
    """Sync batch writes; with several writers, batches in flight share Raft's ticks."""
    batches = [[{"op": op, "kind": kind, "object": obj} for obj in objects[i:i + batch]]
               for i in range(0, len(objects), batch)]
    with ThreadPoolExecutor(writers) as pool:
        for _ in pool.map(lambda b: store.write(b, timeout=60), batches):
            pass


def assigned(tasks: list[dict], plan: Plan) -> list[dict]:
    out = []
    for task in tasks:
        node_id = plan.assignments.get(task["ID"])
        if node_id is not None:
            out.append({**task, "NodeID": node_id,
                        "Status": {**task["Status"], "State": "assigned", "Message": ASSIGNED,
                                   "Err": ""}})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--tasks", type=int, default=30000)
    ap.add_argument("--services", type=int, default=30)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--writers", type=int, default=1, help="threads writing batches")
    ap.add_argument("--managers", type=int, default=1, choices=(1, 3, 5),
                    help="Raft members (the others in processes of their own)")
    args = ap.parse_args()

    nodes = [make_node(i) for i in range(args.nodes)]
    made = [make_service(i) for i in range(args.services)]
    services = [s for s, _ in made]
    per_service = [args.tasks // args.services + (i < args.tasks % args.services)
                   for i in range(args.services)]
    tasks = [t for s, n in zip(services, per_service, strict=True) for t in make_tasks(s, n)]

    root = tempfile.mkdtemp(prefix="swarmlet-sched-bench-")
    addrs = [f"127.0.0.1:{free_port()}" for _ in range(args.managers)]
    others = [Node(mp.get_context("spawn"), a, [p for p in addrs if p != a],
                   os.path.join(root, str(i))) for i, a in enumerate(addrs[1:], 1)]
    store = RaftStore(addrs[0], addrs[1:], Path(root) / "0", PASSWORD)
    try:
        while not (store.has_quorum() and store.leader()):
            time.sleep(0.05)
        t0 = time.perf_counter()
        write_all(store, "node", nodes, args.batch, writers=4)
        write_all(store, "service", services, args.batch, writers=4)
        write_all(store, "task", tasks, args.batch, writers=4)
        load = time.perf_counter() - t0

        t0 = time.perf_counter()
        snap_nodes = store.list("node")
        snap_services = {s["ID"]: s for s in store.list("service")}
        snap_tasks = store.list("task")
        t1 = time.perf_counter()
        plan = schedule(snap_nodes, snap_tasks, snap_services)
        t2 = time.perf_counter()
        updates = assigned(snap_tasks, plan)
        write_all(store, "task", updates, args.batch, op="update", writers=args.writers)
        t3 = time.perf_counter()

        stored = Counter(t["Status"]["State"] for t in store.list("task"))
    finally:
        store.close()
        for other in others:
            other.stop()
        shutil.rmtree(root, ignore_errors=True)

    n = len(tasks)
    per_node = Counter(plan.assignments.values())
    print(f"Scheduler throughput: {args.nodes} ready nodes, {n} pending tasks in "
          f"{args.services} services, RaftStore of {args.managers} member(s) on 127.0.0.1 "
          "(journal fdatasync'd before each acknowledgement), "
          f"writes in batches of {args.batch} from {args.writers} thread(s)")
    print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"pysyncobj {pysyncobj.version.VERSION}; store loaded in {load:.1f} s "
          f"({n / load:,.0f} tasks/s, not counted below)")
    print(f"plan: {len(plan.assignments)} assigned, {len(plan.unschedulable)} unschedulable; "
          f"tasks per node min {min(per_node.values(), default=0)} "
          f"max {max(per_node.values(), default=0)}; store after write: {dict(stored)}")
    for i, (_, asks) in enumerate(made):
        if asks:
            print(f"  svc{i:03d}: {asks}")
    rows = [("read snapshot (list nodes, services, tasks)", t1 - t0),
            ("schedule() (pure)", t2 - t1),
            (f"write assignments ({len(updates)} updates)", t3 - t2),
            ("overall", t3 - t0)]
    width = max(len(label) for label, _ in rows)
    print(f"  {'phase':<{width}}  {'seconds':>8}  {'tasks/s':>10}")
    for label, secs in rows:
        print(f"  {label:<{width}}  {secs:8.3f}  {n / secs:10,.0f}")


if __name__ == "__main__":
    main()
