"""The leader's orchestrators as pure passes: snapshot in, store changes out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from swarmlet.manager.orchestrator.global_ import reconcile_global
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
