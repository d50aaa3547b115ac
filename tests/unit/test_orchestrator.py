"""The leader's orchestrators as pure passes: snapshot in, store changes out."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from harness import Harness

from swarmlet.manager import tasks as T
from swarmlet.manager.controlapi.service_status import service_status
from swarmlet.manager.orchestrator.global_ import reconcile_global
from swarmlet.manager.orchestrator.jobs import reconcile_jobs
from swarmlet.manager.orchestrator.reaper import reap
from swarmlet.manager.orchestrator.replicated import reconcile_replicated
from swarmlet.manager.orchestrator.restart import GAVE_UP_MARK
from swarmlet.manager.snapshot import Snapshot
from swarmlet.spec.service import normalise_spec

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def stamp(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def service(sid="s1", replicas=3, mode=None, restart=None, constraints=None, version=10):
    spec = {"Name": f"svc-{sid}", "TaskTemplate": {"ContainerSpec": {"Image": "img"}}}
    if mode == "global":
        spec["Mode"] = {"Global": {}}
    else:
        spec["Mode"] = {"Replicated": {"Replicas": replicas}}
    if restart:
        spec["TaskTemplate"]["RestartPolicy"] = restart
    if constraints:
        spec["TaskTemplate"]["Placement"] = {"Constraints": constraints}
    return {"ID": sid, "Version": {"Index": version}, "SpecVersion": {"Index": version},
            "Spec": normalise_spec(spec)}


def node(nid, state="ready", availability="active", labels=None):
    return {"ID": nid, "Spec": {"Role": "worker", "Availability": availability,
                                "Labels": labels or {}},
            "Description": {"Hostname": nid}, "Status": {"State": state}}


_seq = iter(range(1, 10**6))


def task(svc, slot, state="running", desired="running", node_id="n1", ago=100.0,
         version=10):
    i = next(_seq)
    return {"ID": f"t{i}", "Version": {"Index": i}, "CreatedAt": stamp(ago + 1),
            "ServiceID": svc["ID"], "Slot": slot, "NodeID": node_id, "SpecVersion": version,
            "Status": {"State": state, "Timestamp": stamp(ago)}, "DesiredState": desired,
            "Spec": {}}


def snap(services, nodes, tasks):
    return Snapshot({s["ID"]: s for s in services}, {n["ID"]: n for n in nodes}, tasks, 5, NOW)


def ops(changes, op):
    return [c for c in changes if c["op"] == op]


def test_missing_slots_get_new_tasks_in_the_lowest_free_slots():
    svc = service(replicas=3)
    changes = reconcile_replicated(snap([svc], [node("n1")], [task(svc, 2)]))
    created = ops(changes, "create")
    assert sorted(c["object"]["Slot"] for c in created) == [1, 3]
    assert all(c["object"]["Status"]["State"] == "new" for c in created)
    assert all(c["object"]["DesiredState"] == "running" for c in created)


def test_scale_down_removes_tasks_not_running_first_then_from_crowded_nodes():
    svc = service(replicas=2)
    tasks = [task(svc, 1, node_id="n1"), task(svc, 2, node_id="n1"),
             task(svc, 3, state="pending", node_id=""), task(svc, 4, node_id="n2")]
    changes = reconcile_replicated(snap([svc], [node("n1"), node("n2")], tasks))
    removed = sorted(c["object"]["Slot"] for c in changes
                     if c["object"].get("DesiredState") == "remove")
    assert removed == [2, 3]


def test_a_failed_task_is_restarted_in_its_slot_after_the_delay():
    svc = service(replicas=1, restart={"Condition": "any", "Delay": 5 * 10**9})
    recent = task(svc, 1, state="failed", ago=2)
    assert reconcile_replicated(snap([svc], [node("n1")], [recent])) == []
    old = task(svc, 1, state="failed", ago=6)
    changes = reconcile_replicated(snap([svc], [node("n1")], [old]))
    assert [c["object"]["DesiredState"] for c in ops(changes, "update")] == ["shutdown"]
    [new] = ops(changes, "create")
    assert new["object"]["Slot"] == 1


def test_condition_none_gives_the_slot_up_for_good():
    svc = service(replicas=1, restart={"Condition": "none"})
    done = task(svc, 1, state="complete")
    changes = reconcile_replicated(snap([svc], [node("n1")], [done]))
    assert ops(changes, "create") == []
    [given_up] = [c["object"] for c in ops(changes, "update")]
    assert given_up["ID"] == done["ID"]
    assert given_up["DesiredState"] == "shutdown" and given_up[GAVE_UP_MARK] == 10
    assert done["DesiredState"] == "running"  # what the stage read is left as it was
    assert reconcile_replicated(snap([svc], [node("n1")], [given_up])) == []


def test_on_failure_restarts_failures_but_not_completions():
    svc = service(replicas=2, restart={"Condition": "on-failure", "Delay": 0})
    changes = reconcile_replicated(snap([svc], [node("n1")], [
        task(svc, 1, state="complete"), task(svc, 2, state="failed")]))
    assert [c["object"]["Slot"] for c in ops(changes, "create")] == [2]


def test_max_attempts_counts_restarts_of_the_slot():
    svc = service(replicas=1, restart={"Condition": "any", "Delay": 0, "MaxAttempts": 2})
    history = [task(svc, 1, state="failed", desired="shutdown", ago=30),
               task(svc, 1, state="failed", desired="shutdown", ago=20)]
    third = task(svc, 1, state="failed", ago=10)
    changes = reconcile_replicated(snap([svc], [node("n1")], [*history, third]))
    assert ops(changes, "create") == []
    [given_up] = [c["object"] for c in ops(changes, "update")]
    assert given_up["ID"] == third["ID"] and given_up["DesiredState"] == "shutdown"
    changes = reconcile_replicated(snap([svc], [node("n1")], [*history[1:], given_up]))
    assert len(ops(changes, "create")) == 0  # still given up on the next pass


def test_tasks_on_a_down_or_drained_node_are_replaced_at_once():
    svc = service(replicas=2, restart={"Condition": "any", "Delay": 60 * 10**9})
    tasks = [task(svc, 1, node_id="gone"), task(svc, 2, node_id="drained")]
    nodes = [node("gone", state="down"), node("drained", availability="drain"), node("n3")]
    changes = reconcile_replicated(snap([svc], nodes, tasks))
    assert sorted(c["object"]["Slot"] for c in ops(changes, "create")) == [1, 2]
    assert {c["object"]["DesiredState"] for c in ops(changes, "update")} == {"shutdown"}


def test_global_runs_one_task_on_each_eligible_node():
    svc = service(mode="global", constraints=["node.labels.gpu!=no"])
    nodes = [node("a"), node("b", availability="drain"), node("c", state="down"),
             node("d", labels={"gpu": "no"}), node("e", availability="pause")]
    changes = reconcile_global(snap([svc], nodes, []))
    assert [c["object"]["NodeID"] for c in ops(changes, "create")] == ["a"]
    running = task(svc, 0, node_id="b")
    changes = reconcile_global(snap([svc], nodes, [running]))
    [stopped] = [c["object"] for c in ops(changes, "update")]
    assert stopped["ID"] == running["ID"]
    assert stopped["DesiredState"] == "shutdown"  # drained: its task stops


def test_global_covers_a_node_that_becomes_eligible():
    svc = service(mode="global")
    stopped = task(svc, 0, state="shutdown", desired="shutdown", node_id="a")
    changes = reconcile_global(snap([svc], [node("a")], [stopped]))
    assert [c["object"]["NodeID"] for c in ops(changes, "create")] == ["a"]


def test_reaper_keeps_the_history_limit_and_drops_removed_tasks():
    svc = service(replicas=1)
    history = [task(svc, 1, state="failed", desired="shutdown", ago=100 - i) for i in range(7)]
    current = task(svc, 1, ago=1)
    removed = task(svc, 2, state="shutdown", desired="remove")
    stopping = task(svc, 3, state="running", desired="remove")
    changes = reap(snap([svc], [node("n1")], [*history, current, removed, stopping]))
    deleted = {c["id"] for c in ops(changes, "delete")}
    assert deleted == {history[0]["ID"], history[1]["ID"], history[2]["ID"], removed["ID"]}


def test_reaper_deletes_the_tasks_of_a_removed_service_once_stopped():
    svc = service()
    ended, live = task(svc, 1, state="shutdown"), task(svc, 2, state="running")
    changes = reap(snap([], [node("n1")], [ended, live]))
    assert [c["id"] for c in ops(changes, "delete")] == [ended["ID"]]


def test_reaper_stops_a_task_made_for_a_service_already_removed():
    svc = service()
    late = task(svc, 1, state="assigned")
    changes = reap(snap([], [node("n1")], [late]))
    assert [c["object"]["DesiredState"] for c in ops(changes, "update")] == ["remove"]


# --- jobs (orchestrator/jobs.py), in the harness: the real passes, simulated workers ---------

def job_world(*nodes: str) -> Harness:
    h = Harness()
    for name in nodes or ("a", "b"):
        h.add_node(name)
    return h


def states(h: Harness, name: str) -> Counter:
    """Tasks of the job's current iteration by observed state (what `service ps` shows)."""
    iteration = T.job_iteration(h.service(name))
    return Counter(T.state_of(t) for t in h.tasks(name, active=False)
                   if T.task_iteration(t) == iteration)


def replicas_column(h: Harness, name: str) -> str:
    """`service ls` REPLICAS of a replicated job, from the ServiceStatus the API answers."""
    status = service_status(h.service(name), h.tasks(name, active=False))
    total = h.service(name)["Spec"]["Mode"]["ReplicatedJob"]["TotalCompletions"]
    return (f"{status['RunningTasks']}/{status['DesiredTasks']} "
            f"({status['CompletedTasks']}/{total} completed)")


def finish_running(h: Harness, name: str) -> None:
    for t in h.running(name):
        h.finish(t)
    h.run_to_fixed_point()


def test_a_replicated_job_runs_max_concurrent_tasks_until_its_completions() -> None:
    h = job_world()
    h.add_service("batch", replicas=5, mode="replicated-job", max_concurrent=2)
    h.run_to_fixed_point()
    assert sorted(t["Slot"] for t in h.running("batch")) == [1, 2]
    assert {t["DesiredState"] for t in h.running("batch")} == {"complete"}
    assert replicas_column(h, "batch") == "2/2 (0/5 completed)"
    h.finish(h.running("batch")[0])
    h.run_to_fixed_point()
    assert len(h.running("batch")) == 2  # the finished one's place goes to the next slot
    assert replicas_column(h, "batch") == "2/2 (1/5 completed)"
    finish_running(h, "batch")
    finish_running(h, "batch")
    assert states(h, "batch") == {"complete": 5}
    assert sorted(t["Slot"] for t in h.tasks("batch", active=False)) == [1, 2, 3, 4, 5]
    assert replicas_column(h, "batch") == "0/2 (5/5 completed)"
    h.run_for(30)  # done for good: nothing restarts what completed (restart condition any)
    assert states(h, "batch") == {"complete": 5}


def test_a_failed_job_task_is_retried_in_its_slot_after_the_restart_delay() -> None:
    h = job_world("a")
    h.add_service("batch", replicas=2, mode="replicated-job", max_concurrent=2)
    h.run_to_fixed_point()
    first, second = h.running("batch")
    h.finish(first)
    h.fail(second)
    h.run_to_fixed_point()
    assert h.running("batch") == []  # the restart delay (5 s) runs
    h.advance(5)
    [retry] = h.running("batch")
    assert retry["Slot"] == second["Slot"] and retry["ID"] != second["ID"]
    h.finish(retry)
    h.run_to_fixed_point()
    assert states(h, "batch") == {"complete": 2, "failed": 1}


def test_a_job_task_given_up_keeps_the_job_short_of_its_completions() -> None:
    h = job_world("a")
    h.add_service("batch", replicas=3, mode="replicated-job", max_concurrent=3,
                  restart={"Condition": "none"})
    h.run_to_fixed_point()
    a, b, c = h.running("batch")
    h.finish(a)
    h.finish(b)
    h.fail(c)
    h.run_for(10)
    assert states(h, "batch") == {"complete": 2, "failed": 1}
    assert replicas_column(h, "batch") == "0/3 (2/3 completed)"


def test_update_force_runs_a_job_again_as_its_next_iteration() -> None:
    h = job_world()
    h.add_service("batch", replicas=3, mode="replicated-job", max_concurrent=2)
    h.run_to_fixed_point()
    finish_running(h, "batch")
    finish_running(h, "batch")
    assert T.job_iteration(h.service("batch")) == 0
    running_before = h.running("batch")
    assert running_before == []
    h.update_service("batch", lambda spec: spec["TaskTemplate"].update(ForceUpdate=1))
    assert T.job_iteration(h.service("batch")) == 1
    assert "UpdateStatus" not in h.service("batch")  # a job is run again, not rolled out
    h.run_to_fixed_point()
    assert states(h, "batch") == {"running": 2}
    history = [t for t in h.tasks("batch", active=False) if T.task_iteration(t) == 0]
    assert Counter(T.state_of(t) for t in history) == {"complete": 3}  # `ps` keeps them
    finish_running(h, "batch")
    finish_running(h, "batch")
    assert states(h, "batch") == {"complete": 3}


def test_a_new_iteration_stops_the_tasks_of_the_one_before() -> None:
    h = job_world("a")
    h.add_service("batch", replicas=4, mode="replicated-job", max_concurrent=2)
    h.run_to_fixed_point()
    old = {t["ID"] for t in h.running("batch")}
    h.update_service("batch", lambda spec: spec["TaskTemplate"].update(ForceUpdate=1))
    h.run_to_fixed_point()
    assert not old & {t["ID"] for t in h.running("batch")}
    assert len(h.running("batch")) == 2
    assert all(T.task_iteration(t) == 1 for t in h.running("batch"))


def test_a_job_task_on_a_node_that_goes_down_is_replaced_at_once() -> None:
    h = job_world()
    h.add_service("batch", replicas=2, mode="replicated-job", max_concurrent=2)
    h.run_to_fixed_point()
    lost = next(t for t in h.running("batch") if t["NodeID"] == "a")
    h.mark_down("a")
    h.run_to_fixed_point()
    assert {t["NodeID"] for t in h.running("batch")} == {"b"}
    assert sorted(t["Slot"] for t in h.running("batch")) == [1, 2]
    assert h.task(lost["ID"])["DesiredState"] == "shutdown"


def test_a_global_job_runs_once_on_every_eligible_node_and_on_a_node_that_joins() -> None:
    h = job_world("a", "b")
    h.add_node("c", availability="drain")
    h.add_node("d", labels={"role": "db"})
    h.add_service("migrate", mode="global-job",
                  placement={"Constraints": ["node.labels.role!=db"]})
    h.run_to_fixed_point()
    assert h.placement("migrate") == {"a": 1, "b": 1}
    status = service_status(h.service("migrate"), h.tasks("migrate", active=False))
    assert status == {"RunningTasks": 2, "DesiredTasks": 2, "CompletedTasks": 0}
    finish_running(h, "migrate")
    assert states(h, "migrate") == {"complete": 2}
    h.add_node("e")
    h.run_to_fixed_point()
    assert h.placement("migrate") == {"e": 1}  # the others completed: they run nothing again
    finish_running(h, "migrate")
    status = service_status(h.service("migrate"), h.tasks("migrate", active=False))
    assert status == {"RunningTasks": 0, "DesiredTasks": 0, "CompletedTasks": 3}


def test_a_global_job_task_on_a_drained_node_stops() -> None:
    h = job_world("a", "b")
    h.add_service("migrate", mode="global-job")
    h.run_to_fixed_point()
    h.drain("b")
    h.run_to_fixed_point()
    assert h.placement("migrate") == {"a": 1}
    assert states(h, "migrate") == {"running": 1, "shutdown": 1}


def test_services_and_jobs_are_each_left_to_their_own_orchestrator() -> None:
    svc = service(replicas=2)
    job = {**service("j1"), "Spec": normalise_spec({
        "Name": "job", "Mode": {"GlobalJob": {}},
        "TaskTemplate": {"ContainerSpec": {"Image": "img"}}})}
    world = snap([svc, job], [node("n1")], [])
    assert {c["object"]["ServiceID"] for c in reconcile_jobs(world)} == {"j1"}
    assert {c["object"]["ServiceID"] for c in reconcile_replicated(world)} == {"s1"}
    assert reconcile_global(world) == []
