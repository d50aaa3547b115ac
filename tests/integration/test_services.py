"""Services on three local machines, with real containers of swarmlet/demo:latest in the one
Docker Engine: placement, global mode, scaling, restart policies, health checks, failover,
drain and an agent restart. Each test removes the services it made."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter

import pytest
from swarm_cluster import Cluster, eventually, running_cluster

MANAGER, W1, W2 = "sv-1", "sv-2", "sv-3"
NODES = [MANAGER, W1, W2]
IMAGE = "swarmlet/demo:latest"


@pytest.fixture(scope="module")
def cluster(swarmlet):
    with running_cluster(swarmlet, [MANAGER], [W1, W2], leftovers=("sv-4",)) as c:
        yield c


def tasks(cluster: Cluster, service: str, *flags: str) -> list[dict]:
    out = cluster.cli(MANAGER, f"service ps --format json {' '.join(flags)} {service}")
    return [json.loads(line) for line in out.splitlines()]


def running(cluster: Cluster, service: str) -> list[dict]:
    return [t for t in tasks(cluster, service, "--filter desired-state=running")
            if t["CurrentState"].startswith("Running")]


def replicas(cluster: Cluster, service: str) -> str:
    rows = [json.loads(line) for line in cluster.cli(MANAGER, "service ls --format json")
            .splitlines()]
    return next(r["Replicas"] for r in rows if r["Name"] == service)


def containers(everything: bool = False, **labels: str) -> list[dict]:
    """Running containers with these labels (with `everything`, stopped ones too)."""
    filters = [a for k, v in labels.items() for a in ("--filter", f"label={k}={v}")]
    ps = ["docker", "ps", "-q", *(["-a"] if everything else []), *filters]
    ids = subprocess.run(ps, capture_output=True, text=True, check=True).stdout.split()
    if not ids:
        return []
    # A container may go between ps and inspect: inspect prints the others and exits 1.
    out = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True).stdout
    return json.loads(out or "[]")


@pytest.fixture
def remove_services(cluster):
    made: list[str] = []
    yield made
    for name in made:
        cluster.run(MANAGER, f"swarmlet service rm {name}", check=False)
    eventually(lambda: not any(containers(True, **{"swarmlet.service.name": n}) for n in made),
               timeout=60)


def test_replicas_spread_evenly_and_run_real_containers(cluster, remove_services):
    remove_services.append("web")
    out = cluster.cli(MANAGER, f"service create --name web --replicas 6 {IMAGE}")
    assert "overall progress: 6 out of 6 tasks" in out
    assert "verify: Service converged" in out
    per_node = Counter(t["Node"] for t in running(cluster, "web"))
    assert per_node == {MANAGER: 2, W1: 2, W2: 2}
    assert replicas(cluster, "web") == "6/6"
    # Docker's Go-template --format, as scripts use it
    assert "web 6/6" in cluster.cli(MANAGER, "service ls --format '{{.Name}} {{.Replicas}}'"
                                    ).splitlines()
    where = cluster.cli(MANAGER, "service ps -f desired-state=running --format '{{.Node}}' web")
    assert Counter(where.split()) == per_node
    assert cluster.cli(MANAGER, "service inspect -f '{{.Spec.Name}} "
                       "{{.Spec.Mode.Replicated.Replicas}}' web") == "web 6\n"
    found = containers(**{"swarmlet.service.name": "web"})
    assert len(found) == 6
    ids = {t["ID"] for t in tasks(cluster, "web", "--no-trunc")}
    for c in found:
        name = c["Name"].lstrip("/")
        service, slot, task_id = name.split(".")
        assert service == "web" and slot.isdigit() and task_id in ids
        assert c["Config"]["Labels"]["swarmlet.task.id"] == task_id
    # The page of a task's container is its hostname (the container ID), seen from inside.
    c = found[0]
    page = subprocess.run(["docker", "exec", c["Id"], "sh", "-c",
                           "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 80"],
                          capture_output=True, text=True, check=True).stdout
    assert c["Config"]["Hostname"] in page

    assert cluster.cli(MANAGER, "service scale web=2 -d").strip() == "web scaled to 2"
    eventually(lambda: len(containers(**{"swarmlet.service.name": "web"})) == 2)
    assert len(running(cluster, "web")) == 2
    cluster.cli(MANAGER, "service scale web=4")
    assert len(running(cluster, "web")) == 4
    node_ps = cluster.cli(MANAGER, f"node ps {W1}")
    assert "web." in node_ps


def test_constraints_place_tasks_only_on_matching_nodes(cluster, remove_services):
    remove_services.append("db")
    cluster.cli(MANAGER, f"node update --label-add type=db {W2}")
    cluster.cli(MANAGER, "service create -d --name db --replicas 5 "
                         f"--constraint node.labels.type==db {IMAGE}")
    eventually(lambda: len(running(cluster, "db")) == 5)
    assert {t["Node"] for t in running(cluster, "db")} == {W2}


def test_a_task_no_node_fits_stays_pending_with_the_reason(cluster, remove_services):
    remove_services.append("nowhere")
    cluster.cli(MANAGER, "service create -d --name nowhere "
                         f"--constraint node.labels.type==nothing {IMAGE}")
    [task] = eventually(lambda: tasks(cluster, "nowhere", "--no-trunc"))
    assert task["CurrentState"].startswith("Pending")
    # Quoted, as Docker's task formatter prints errors.
    assert task["Error"] == ('"no suitable node (scheduling constraints not satisfied on 3 '
                             'nodes)"')
    assert replicas(cluster, "nowhere") == "0/1"


def test_restart_policies(cluster, remove_services):
    remove_services += ["crashy", "once"]
    cluster.cli(MANAGER, "service create -d --name crashy --restart-condition on-failure "
                         "--restart-max-attempts 2 --restart-delay 200ms "
                         f"{IMAGE} sh -c 'exit 3'")
    # The restart supervisor marks a failed task's desired state Shutdown in the pass after
    # its failure is reported: wait for both.
    history = eventually(lambda: (t := tasks(cluster, "crashy")) and len(t) == 3 and
                         all(x["CurrentState"].startswith("Failed") for x in t) and
                         all(x["DesiredState"] == "Shutdown" for x in t) and t)
    assert all(t["Error"] == '"task: non-zero exit (3)"' for t in history)
    assert replicas(cluster, "crashy") == "0/1"

    cluster.cli(MANAGER, f"service create -d --name once --restart-condition none {IMAGE} "
                         "sh -c 'exit 1'")
    eventually(lambda: tasks(cluster, "once")[0]["CurrentState"].startswith("Failed"))
    time.sleep(2)  # no second task appears
    assert len(tasks(cluster, "once")) == 1


def test_a_failing_health_check_replaces_the_task(cluster, remove_services):
    remove_services.append("sick")
    cluster.cli(MANAGER, "service create -d --name sick --restart-delay 100ms "
                         "--health-cmd 'test -e /tmp/never' --health-interval 300ms "
                         f"--health-retries 1 {IMAGE}")
    failed = eventually(lambda: [t for t in tasks(cluster, "sick", "--no-trunc")
                                 if t["CurrentState"].startswith("Failed")], timeout=40)
    assert failed[0]["Error"] == '"task: unhealthy container"'
    eventually(lambda: len(tasks(cluster, "sick")) >= 2)  # a replacement was made


def test_global_mode_covers_every_node_including_one_that_joins_later(cluster,
                                                                      remove_services):
    remove_services.append("everywhere")
    cluster.cli(MANAGER, f"service create -d --name everywhere --mode global {IMAGE}")
    eventually(lambda: {t["Node"] for t in running(cluster, "everywhere")} == set(NODES))
    names = {t["Name"] for t in tasks(cluster, "everywhere")}
    assert all(n.startswith("everywhere.") and len(n.split(".")[1]) == 25 for n in names)

    cluster.machines("machine", "create", "sv-4")
    token = cluster.cli(MANAGER, "swarm join-token -q worker").strip()
    cluster.cli("sv-4", f"swarm join --token {token} {cluster.addr(MANAGER)}")
    eventually(lambda: {t["Node"] for t in running(cluster, "everywhere")} ==
               {*NODES, "sv-4"})
    cluster.cli(MANAGER, "node update --availability drain sv-4")
    eventually(lambda: "sv-4" not in {t["Node"] for t in running(cluster, "everywhere")})
    cluster.cli("sv-4", "swarm leave")
    cluster.machines("machine", "rm", "sv-4")


def test_a_stopped_machines_tasks_come_back_on_the_others(cluster, remove_services):
    remove_services.append("moving")
    cluster.cli(MANAGER, f"service create --name moving --replicas 6 {IMAGE}")
    assert Counter(t["Node"] for t in running(cluster, "moving"))[W2] == 2
    cluster.machines("machine", "stop", W2)
    try:
        eventually(lambda: (r := running(cluster, "moving")) and len(r) == 6 and
                   W2 not in {t["Node"] for t in r}, timeout=45)
        assert cluster.nodes(MANAGER)[W2]["Status"] == "Down"
    finally:
        cluster.machines("machine", "start", W2)
    eventually(lambda: cluster.nodes(MANAGER)[W2]["Status"] == "Ready")
    # No rebalancing when it comes back, as in Docker; its old tasks are shut down there.
    eventually(lambda: not [c for c in containers(**{"swarmlet.machine": W2,
                                                     "swarmlet.service.name": "moving"})])
    assert W2 not in {t["Node"] for t in running(cluster, "moving")}


def test_drain_empties_a_node_and_pause_takes_no_new_tasks(cluster, remove_services):
    remove_services.append("drained")
    cluster.cli(MANAGER, f"service create --name drained --replicas 3 {IMAGE}")
    assert W1 in {t["Node"] for t in running(cluster, "drained")}
    cluster.cli(MANAGER, f"node update --availability drain {W1}")
    try:
        eventually(lambda: (r := running(cluster, "drained")) and len(r) == 3 and
                   W1 not in {t["Node"] for t in r})
        assert not containers(**{"swarmlet.machine": W1, "swarmlet.service.name": "drained"})
        cluster.cli(MANAGER, f"node update --availability pause {W1}")
        cluster.cli(MANAGER, "service scale drained=6")
        assert W1 not in {t["Node"] for t in running(cluster, "drained")}
    finally:
        cluster.cli(MANAGER, f"node update --availability active {W1}")


@pytest.fixture
def slow_heartbeat(cluster):
    """A 5 s heartbeat (Docker's default) while the test runs: the module's 1 s one marks a
    node down after 3 s, less than a busy 2-core machine may take to restart an agent."""
    cluster.cli(MANAGER, "swarm update --dispatcher-heartbeat 5s")
    yield
    cluster.cli(MANAGER, "swarm update --dispatcher-heartbeat 1s")


def test_an_agent_restart_adopts_its_containers(cluster, remove_services, slow_heartbeat):
    remove_services.append("steady")
    cluster.cli(MANAGER, f"service create --name steady --replicas 3 {IMAGE}")
    before = sorted(c["Id"] for c in containers(**{"swarmlet.service.name": "steady"}))
    tasks_before = sorted(t["ID"] for t in running(cluster, "steady"))
    cluster.run(W1, "kill $(cat /var/lib/swarmlet/swarmletd.pid)")
    eventually(lambda: json.loads(cluster.cli(W1, "info --format json"))["Swarm"][
        "LocalNodeState"] == "active")
    time.sleep(3)  # a few executor passes of the restarted agent
    status = {name: row["Status"] for name, row in cluster.nodes(MANAGER).items()
              if name in NODES}
    assert set(status.values()) == {"Ready"}, status  # a node marked down loses its tasks
    after = sorted(c["Id"] for c in containers(**{"swarmlet.service.name": "steady"}))
    assert after == before
    assert sorted(t["ID"] for t in running(cluster, "steady")) == tasks_before
    assert replicas(cluster, "steady") == "3/3"


def test_service_rm_removes_its_containers(cluster):
    cluster.cli(MANAGER, f"service create --name gone --replicas 2 {IMAGE}")
    assert len(containers(**{"swarmlet.service.name": "gone"})) == 2
    assert cluster.cli(MANAGER, "service rm gone").strip() == "gone"
    eventually(lambda: not containers(True, **{"swarmlet.service.name": "gone"}))
    refused = cluster.run(MANAGER, "swarmlet service inspect gone", check=False)
    assert refused.returncode == 1


def test_service_logs_come_from_every_node(cluster, remove_services):
    remove_services.append("talk")
    # sh ignores SIGTERM as PID 1: a short grace period, or its removal waits 10 s.
    cluster.cli(MANAGER, "service create --name talk --replicas 3 --restart-condition none "
                         f"--stop-grace-period 1s {IMAGE} "
                         "sh -c 'echo hello from $(hostname); echo bye; sleep 600'")
    names = {t["Name"]: t["Node"] for t in running(cluster, "talk")}

    def all_lines() -> list[str]:
        out = cluster.cli(MANAGER, "service logs talk").splitlines()
        return out if len(out) == 6 else []

    lines = eventually(all_lines)
    prefixes = {line.split("    | ")[0] for line in lines}
    assert {p.split("@")[1] for p in prefixes} == set(names.values())
    assert {".".join(p.split("@")[0].split(".")[:2]) for p in prefixes} == set(names)
    assert sum(line.endswith("| bye") for line in lines) == 3
    tail = cluster.cli(MANAGER, "service logs --tail 1 talk").splitlines()
    assert sorted(line.split("| ")[1] for line in tail) == ["bye", "bye", "bye"]


def test_a_replicated_job_runs_to_its_completions_and_force_runs_it_again(cluster,
                                                                          remove_services):
    remove_services.append("batch")
    out = cluster.cli(MANAGER, "service create --name batch --mode replicated-job --replicas 3 "
                               f"--max-concurrent 2 {IMAGE} sh -c 'sleep 1'")
    assert "job progress: 3 out of 3 complete" in out and "job complete" in out
    done = tasks(cluster, "batch")
    assert len(done) == 3
    assert all(t["DesiredState"] == "Complete" and t["CurrentState"].startswith("Complete")
               for t in done)
    rows = [json.loads(line) for line in cluster.cli(MANAGER, "service ls --format json")
            .splitlines()]
    row = next(r for r in rows if r["Name"] == "batch")
    assert (row["Mode"], row["Replicas"]) == ("replicated job", "0/2 (3/3 completed)")
    # At most two at once: the third started once one of the first two had finished.
    states = sorted((c["State"]["StartedAt"], c["State"]["FinishedAt"]) for c in
                    containers(True, **{"swarmlet.service.name": "batch"}))
    assert len(states) == 3 and states[2][0] >= min(states[0][1], states[1][1])
    time.sleep(2)
    assert len(tasks(cluster, "batch")) == 3  # completed tasks are not restarted

    out = cluster.cli(MANAGER, "service update --force batch")
    assert "job complete" in out
    again = tasks(cluster, "batch")
    assert len(again) == 6 and all(t["CurrentState"].startswith("Complete") for t in again)
    assert replicas(cluster, "batch") == "0/2 (3/3 completed)"
    job = json.loads(cluster.cli(MANAGER, "service inspect batch"))[0]
    assert job["JobStatus"]["JobIteration"]["Index"] == 1
