"""The scale-kill scenario of bench/chaos.py: one replicated service scaled 0 ↔ 20 in a loop,
with an agent SIGKILLed while each scale converges; what the containers and tasks look like
once a round has had its time.

Per round: the service is scaled (20, then 0, then 20, ...), and after a random 0-2 s the
agent of a randomly chosen machine is killed (the leader's, a follower manager's or the
worker's; seeded: the same seed kills the same roles at the same moments). Its machine's init
starts it again after 1 s. The round then waits (at most SETTLE s) until the swarm says the
service converged and the containers agree, and counts, from the one Docker Engine the
machines share (containers labelled with the service's ID):
- duplicates: running containers beyond the first of one slot (a slot runs one task);
- orphans: running containers whose task is not meant to run (gone, or desired shutdown);
- stuck: tasks meant to run that are not running, and tasks meant to stop that still run.
At the end the service is scaled to 0 and, 60 s later, every running container of it is an
orphan; and every node must be ready again (a manager reachable): the machines whose agent
did not come back are named.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import docker

if TYPE_CHECKING:
    from chaos import Chaos

SERVICE = "scalekill"
IMAGE = "swarmlet/demo:latest"
REPLICAS = 20
SETTLE = 60.0   # seconds a round may take to converge before it is counted as it is
FINAL = 60.0    # seconds after the last scale to 0 when orphans are counted
ROLES = ("leader", "follower", "worker")


def slot_of(container: dict[str, Any]) -> str:
    """A container's slot, from the task name it carries (`<service>.<slot>`)."""
    return container["Labels"].get("swarmlet.task.name", "").rpartition(".")[2]


def tally(containers: list[dict[str, Any]], tasks: list[dict[str, Any]]) -> dict[str, int]:
    """What is wrong now, counted: `containers` are the service's running containers (Docker's
    list entries), `tasks` the service's tasks as the swarm holds them."""
    per_slot = Counter(slot_of(c) for c in containers)
    meant = {t["ID"] for t in tasks if t.get("DesiredState") == "running"}
    state = {t["ID"]: t["Status"]["State"] for t in tasks}
    return {
        "duplicates": sum(n - 1 for n in per_slot.values() if n > 1),
        "orphans": sum(1 for c in containers
                       if c["Labels"].get("swarmlet.task.id") not in meant),
        "stuck": sum(1 for t in tasks if (t["ID"] in meant) != (state[t["ID"]] == "running")),
        "running": len(containers),
    }


def say_duplicates(containers: list[dict[str, Any]], tasks: list[dict[str, Any]]) -> None:
    """On stderr: the containers of each slot that runs more than one, with their tasks'
    desired and current states and nodes (so a reader can tell a node marked down, whose
    tasks were replaced while its containers still ran, from a worse cause)."""
    by_id = {t["ID"]: t for t in tasks}
    per_slot = Counter(slot_of(c) for c in containers)
    for c in containers:
        if per_slot[slot_of(c)] > 1:
            task = by_id.get(c["Labels"].get("swarmlet.task.id", ""), {})
            print(f"  duplicate: {c['Names'][0]} on node "
                  f"{c['Labels'].get('swarmlet.node.id')}: task desired "
                  f"{task.get('DesiredState')}, {task.get('Status', {}).get('State')}",
                  file=sys.stderr)


@dataclass
class Round:
    replicas: int
    killed: str          # the role whose agent was killed
    settled_s: float | None
    counts: dict[str, int]
    worst_duplicates: int  # the most seen at once while it converged


class ScaleKills:
    def __init__(self, chaos: Chaos, seed: int) -> None:
        self.chaos = chaos
        self.random = random.Random(seed)
        self.docker = docker.APIClient(timeout=30)
        self.service_id = ""

    # --- the swarm, through whichever manager answers ------------------------------------

    def call(self, action, deadline: float) -> Any:
        """`action(client)` on the first manager that answers it, until `deadline`."""
        assert self.chaos.load is not None
        last: Exception | None = None
        while time.monotonic() < deadline:
            for name in self.chaos.managers:
                try:
                    return action(self.chaos.load.client(self.chaos.ips[name]))
                except Exception as exc:  # killed, electing, or an outcome not known
                    last = exc
            time.sleep(0.2)
        raise RuntimeError(f"no manager answered within the scenario's time: {last}")

    def create(self) -> None:
        spec = {"Name": SERVICE, "TaskTemplate": {"ContainerSpec": {"Image": IMAGE}},
                "Mode": {"Replicated": {"Replicas": 0}}}
        deadline = time.monotonic() + SETTLE
        self.service_id = self.call(
            lambda c: c.post("/services/create", spec)["ID"], deadline)

    def scale(self, replicas: int, deadline: float) -> None:
        """Set the service's replicas (read, then write with its version: a retry after an
        unknown outcome finds the number already set)."""
        def attempt(client) -> None:
            service = client.get(f"/services/{self.service_id}")
            mode = service["Spec"]["Mode"]["Replicated"]
            if mode.get("Replicas") == replicas:
                return
            spec = dict(service["Spec"], Mode={"Replicated": {"Replicas": replicas}})
            client.post(f"/services/{self.service_id}/update", spec,
                        version=service["Version"]["Index"])
        self.call(attempt, deadline)

    def observe(self, deadline: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The service's running containers and its tasks, as of now."""
        tasks = self.call(lambda c: c.get("/tasks", service=self.service_id), deadline)
        containers = self.docker.containers(
            filters={"label": f"swarmlet.service.id={self.service_id}", "status": "running"})
        return containers, tasks

    # --- the scenario --------------------------------------------------------------------

    def victim(self, role: str, deadline: float) -> str:
        leader = self.chaos.leader(deadline)
        if role == "leader":
            return leader
        if role == "follower":
            return self.random.choice([m for m in self.chaos.managers if m != leader])
        return self.chaos.worker

    def round(self, replicas: int) -> Round:
        started = time.monotonic()
        deadline = started + SETTLE
        self.scale(replicas, deadline)
        role = self.random.choice(ROLES)
        time.sleep(self.random.uniform(0.0, 2.0))
        victim = self.victim(role, deadline)
        self.chaos.kill_agent(victim)
        worst = 0
        while True:
            containers, tasks = self.observe(deadline + SETTLE)
            counts = tally(containers, tasks)
            if counts["duplicates"] > worst:
                worst = counts["duplicates"]
                say_duplicates(containers, tasks)
            meant = sum(1 for t in tasks if t.get("DesiredState") == "running")
            settled = meant == replicas == counts["running"] and not any(
                counts[k] for k in ("duplicates", "orphans", "stuck"))
            if settled or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        took = round(time.monotonic() - started, 2)
        print(f"scale to {replicas}, {role}'s agent ({victim}) killed: "
              f"{f'settled in {took} s' if settled else f'not settled: {counts}'}",
              file=sys.stderr)
        return Round(replicas, role, took if settled else None, counts, worst)

    def not_back(self, deadline: float) -> list[str]:
        """The machines whose node is not ready (or, for a manager, not reachable) by
        `deadline`: an agent that did not come back after its kill."""
        def missing(client) -> list[str]:
            return sorted(n["Description"]["Hostname"] for n in client.get("/nodes")
                          if n["Status"]["State"] != "ready" or
                          (n.get("ManagerStatus") or {}).get("Reachability",
                                                             "reachable") != "reachable")
        while (gone := self.call(missing, deadline + SETTLE)) and time.monotonic() < deadline:
            time.sleep(0.5)
        return gone

    def run(self, n: int) -> dict[str, Any]:
        self.create()
        rounds = [self.round(REPLICAS if i % 2 == 0 else 0) for i in range(n)]
        deadline = time.monotonic() + FINAL + SETTLE
        self.scale(0, deadline)
        end = time.monotonic() + FINAL
        time.sleep(max(0.0, end - time.monotonic()))
        containers, tasks = self.observe(deadline)
        final = tally(containers, tasks)
        gone = self.not_back(time.monotonic() + SETTLE)
        for name in gone:  # what its machine's init and agent last said
            log = Path(self.chaos.machines.store) / "machines" / name / "machine.log"
            lines = log.read_text(errors="replace").splitlines() if log.exists() else []
            print(f"  {name} not back:", *lines[-4:], sep="\n    ", file=sys.stderr)
        self.call(lambda c: c.delete(f"/services/{self.service_id}"), deadline)
        settled = [r.settled_s for r in rounds if r.settled_s is not None]
        return {
            "scale_rounds": n,
            "scale_kills_by_role": dict(Counter(r.killed for r in rounds)),
            "scale_rounds_unsettled": sum(r.settled_s is None for r in rounds),
            "scale_settle_median_s": round(statistics.median(settled), 2) if settled else None,
            "scale_settle_max_s": max(settled) if settled else None,
            "duplicates_per_slot": sum(r.counts["duplicates"] for r in rounds),
            "duplicates_seen_converging": max((r.worst_duplicates for r in rounds), default=0),
            "orphans_in_rounds": sum(r.counts["orphans"] for r in rounds),
            "orphans_after_60s": final["orphans"],
            "tasks_stuck": sum(r.counts["stuck"] for r in rounds) + final["stuck"],
            "agents_not_back": gone,
        }
