"""The updater as a pure pass: batches, delay, monitor, failure actions, start-first."""

from __future__ import annotations

import copy

import pytest
from test_orchestrator import node, ops, service, snap, stamp, task

from swarmlet.manager.orchestrator.replicated import reconcile_replicated
from swarmlet.manager.orchestrator.update import next_check, update_services

SECOND = 10**9
STARTED = stamp(60)


def updating(replicas=4, parallelism=2, delay=0, monitor=0, action="pause", order="stop-first",
             ratio=0.0):
    svc = service(replicas=replicas)
    old = copy.deepcopy(svc["Spec"])
    svc["PreviousSpec"] = old
    svc["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] = "img:2"
    svc["Spec"]["UpdateConfig"] = {"Parallelism": parallelism, "Delay": delay * SECOND,
                                   "Monitor": monitor * SECOND, "FailureAction": action,
                                   "Order": order, "MaxFailureRatio": ratio}
    svc["UpdateStatus"] = {"State": "updating", "StartedAt": STARTED}
    return svc, old["TaskTemplate"]


def old_task(svc, template, slot):
    t = task(svc, slot, ago=120)
    t["Spec"] = copy.deepcopy(template)
    return t


def new_task(svc, slot, state="running", ago=10.0):
    t = task(svc, slot, state=state, ago=ago)
    t["Spec"] = copy.deepcopy(svc["Spec"]["TaskTemplate"])
    t["CreatedAt"] = stamp(ago + 1)
    return t


def test_the_first_batch_replaces_parallelism_slots_stop_first():
    svc, old = updating()
    tasks = [old_task(svc, old, s) for s in (1, 2, 3, 4)]
    changes = update_services(snap([svc], [node("n1")], tasks))
    assert sorted(c["object"]["Slot"] for c in ops(changes, "create")) == [1, 2]
    assert all(c["object"]["Spec"]["ContainerSpec"]["Image"] == "img:2"
               for c in ops(changes, "create"))
    assert [c["object"]["DesiredState"] for c in ops(changes, "update")] == ["shutdown"] * 2


def test_the_next_batch_waits_for_the_running_tasks_and_the_delay():
    svc, old = updating(delay=10)
    tasks = [new_task(svc, 1, "starting"), new_task(svc, 2, "running", ago=1),
             old_task(svc, old, 3), old_task(svc, old, 4)]
    assert update_services(snap([svc], [node("n1")], tasks)) == []  # slot 1 not running yet
    tasks[:2] = [new_task(svc, 1, "running", ago=4), new_task(svc, 2, "running", ago=4)]
    assert update_services(snap([svc], [node("n1")], tasks)) == []  # 4 s < 10 s delay
    tasks[0] = new_task(svc, 1, "running", ago=11)
    tasks[1] = new_task(svc, 2, "running", ago=11)
    changes = update_services(snap([svc], [node("n1")], tasks))
    assert sorted(c["object"]["Slot"] for c in ops(changes, "create")) == [3, 4]


def test_completed_once_the_last_new_task_ran_for_the_monitor_period():
    svc, _ = updating(monitor=5)
    tasks = [new_task(svc, s, ago=2) for s in (1, 2, 3, 4)]
    assert update_services(snap([svc], [node("n1")], tasks)) == []
    tasks = [new_task(svc, s, ago=6) for s in (1, 2, 3, 4)]
    [change] = update_services(snap([svc], [node("n1")], tasks))
    assert change["object"]["UpdateStatus"]["State"] == "completed"
    assert change["object"]["UpdateStatus"]["Message"] == "update completed"


def test_a_failed_new_task_pauses_the_update():
    svc, old = updating()
    bad = new_task(svc, 1, "failed")
    tasks = [bad, old_task(svc, old, 2), old_task(svc, old, 3), old_task(svc, old, 4)]
    [change] = update_services(snap([svc], [node("n1")], tasks))
    status = change["object"]["UpdateStatus"]
    assert status["State"] == "paused"
    assert status["Message"] == ("update paused due to failure or early termination of task "
                                 f"{bad['ID']}")


def test_failure_action_rollback_brings_the_previous_spec_back():
    svc, old = updating(action="rollback")
    tasks = [new_task(svc, 1, "failed"), old_task(svc, old, 2)]
    [change] = update_services(snap([svc], [node("n1")], tasks))
    rolled = change["object"]
    assert rolled["Spec"]["TaskTemplate"] == old
    assert rolled["PreviousSpec"]["TaskTemplate"]["ContainerSpec"]["Image"] == "img:2"
    assert rolled["UpdateStatus"]["State"] == "rollback_started"
    assert "update rolled back due to failure" in rolled["UpdateStatus"]["Message"]


def test_failures_under_the_ratio_or_with_continue_do_not_stop_it():
    for kwargs in ({"ratio": 0.5}, {"action": "continue"}):
        svc, old = updating(**kwargs)
        tasks = [new_task(svc, 1, "failed"), old_task(svc, old, 2), old_task(svc, old, 3),
                 old_task(svc, old, 4)]
        changes = update_services(snap([svc], [node("n1")], tasks))
        assert ops(changes, "create"), kwargs


def test_start_first_keeps_the_old_task_until_the_new_one_runs():
    svc, old = updating(replicas=1, order="start-first", parallelism=1)
    old1 = old_task(svc, old, 1)
    changes = update_services(snap([svc], [node("n1")], [old1]))
    assert [c["object"]["Slot"] for c in ops(changes, "create")] == [1]
    assert ops(changes, "update") == []
    starting = new_task(svc, 1, "starting", ago=1)
    assert reconcile_replicated(snap([svc], [node("n1")], [old1, starting])) == []
    running = new_task(svc, 1, "running", ago=1)
    changes = reconcile_replicated(snap([svc], [node("n1")], [old1, running]))
    [stopped] = [c["object"] for c in ops(changes, "update")]
    assert stopped["ID"] == old1["ID"] and stopped["DesiredState"] == "shutdown"


def test_tasks_of_an_older_template_are_left_alone_unless_an_update_runs():
    svc, old = updating()
    tasks = [old_task(svc, old, s) for s in (1, 2, 3, 4)]
    assert ops(update_services(snap([svc], [node("n1")], tasks)), "create")  # updating: yes
    for status in (None, {"State": "paused"}, {"State": "completed"},
                   {"State": "rollback_paused"}, {"State": "rollback_completed"}):
        idle = {k: v for k, v in svc.items() if k != "UpdateStatus"}
        if status is not None:
            idle["UpdateStatus"] = {**status, "StartedAt": STARTED}
        before = copy.deepcopy([idle, *tasks])
        assert update_services(snap([idle], [node("n1")], tasks)) == [], status
        assert [idle, *tasks] == before  # and nothing it read was changed


def test_a_new_task_not_running_within_the_monitor_period_is_a_failure():
    svc, old = updating(replicas=2, parallelism=1, monitor=5)
    slow = new_task(svc, 1, "starting", ago=3)
    tasks = [slow, old_task(svc, old, 2)]
    assert update_services(snap([svc], [node("n1")], tasks)) == []
    slow = new_task(svc, 1, "starting", ago=7)
    [change] = update_services(snap([svc], [node("n1")], [slow, old_task(svc, old, 2)]))
    assert change["object"]["UpdateStatus"]["State"] == "paused"


def test_a_new_task_its_node_never_took_up_is_not_a_failure():
    """Assigned to a node that died before it was marked down: the orchestrator replaces
    it once the node is down; the update waits rather than pausing."""
    svc, old = updating(replicas=2, parallelism=1, monitor=5)
    stuck = new_task(svc, 1, "assigned", ago=7)
    assert update_services(snap([svc], [node("n1")], [stuck, old_task(svc, old, 2)])) == []


def test_the_loops_pass_when_a_delay_or_the_monitor_runs_out():
    """A pass comes when the update can move on, not up to a pass interval later."""
    svc, old = updating(delay=10, monitor=5)
    tasks = [new_task(svc, 1, ago=4), new_task(svc, 2, ago=3), old_task(svc, old, 3),
             old_task(svc, old, 4)]
    assert next_check(snap([svc], [node("n1")], tasks)) == pytest.approx(6)  # slot 1's delay
    svc["Spec"]["UpdateConfig"]["Delay"] = 0
    tasks = [new_task(svc, s, ago=a) for s, a in ((1, 4), (2, 2), (3, 3), (4, 2.5))]
    assert next_check(snap([svc], [node("n1")], tasks)) == pytest.approx(3)  # the monitor
    tasks[1] = new_task(svc, 2, "starting", ago=2)
    assert next_check(snap([svc], [node("n1")], tasks)) is None  # waits for slot 2, not time
    svc["UpdateStatus"]["State"] = "completed"
    assert next_check(snap([svc], [node("n1")], tasks)) is None
