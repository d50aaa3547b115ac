"""What a user of the swarm sees, decided by the leader's control passes alone: the harness
(harness.py) runs the real stages to a fixed point on an in-memory store and a fake clock,
with simulated workers, so no machine is needed."""

from __future__ import annotations

from harness import EXIT_FAILURE, SECOND, Harness

from swarmlet.manager import tasks as T


def three_nodes(**labels: dict[str, str]) -> Harness:
    h = Harness()
    for name in ("a", "b", "c"):
        h.add_node(name, labels=labels.get(name))
    return h


# --- scheduling ---------------------------------------------------------------------------

def test_one_pass_creates_allocates_and_assigns_a_new_service() -> None:
    """The stages of one pass see each other's changes: no second pass is needed."""
    h = three_nodes()
    h.add_service("web", replicas=3)
    h.run_pass()
    assert {T.state_of(t) for t in h.tasks("web")} == {"assigned"}
    assert h.run_to_fixed_point() == 2  # the workers start them; then nothing to do
    assert h.placement("web") == {"a": 1, "b": 1, "c": 1}


def test_replicas_spread_over_the_nodes() -> None:
    h = three_nodes()
    h.add_service("web", replicas=7)
    h.run_to_fixed_point()
    assert sorted(h.placement("web").values()) == [2, 2, 3]
    assert sorted(t["Slot"] for t in h.running("web")) == [1, 2, 3, 4, 5, 6, 7]


def test_scaling_down_and_up_keeps_the_spread() -> None:
    h = three_nodes()
    h.add_service("web", replicas=6)
    h.run_to_fixed_point()
    h.update_service("web", replicas=3)
    h.run_to_fixed_point()
    assert h.placement("web") == {"a": 1, "b": 1, "c": 1}
    h.update_service("web", replicas=5)
    h.run_to_fixed_point()
    assert sorted(h.placement("web").values()) == [1, 2, 2]


def test_a_global_service_runs_once_on_every_eligible_node() -> None:
    h = three_nodes(c={"gpu": "no"})
    h.add_node("d", availability="drain")
    h.add_service("agent", mode="global", placement={"Constraints": ["node.labels.gpu!=no"]})
    h.run_to_fixed_point()
    assert h.placement("agent") == {"a": 1, "b": 1}
    h.add_node("e")  # a node that joins later gets one too
    h.run_to_fixed_point()
    assert h.placement("agent") == {"a": 1, "b": 1, "e": 1}


def test_constraints_pick_the_nodes_and_say_why_when_none_fits() -> None:
    h = three_nodes(a={"zone": "east"}, b={"zone": "west"}, c={"zone": "east"})
    h.add_service("db", replicas=4, placement={"Constraints": ["node.labels.zone==east"]})
    h.add_service("cache", replicas=2, placement={"Constraints": ["node.labels.zone==north"]})
    h.run_to_fixed_point()
    assert h.placement("db") == {"a": 2, "c": 2}
    waiting = h.tasks("cache")
    assert [T.state_of(t) for t in waiting] == ["pending", "pending"]
    assert all(t["Status"]["Err"].startswith("no suitable node (scheduling constraints not "
                                             "satisfied on 3 nodes)") for t in waiting)
    h.add_node("d", labels={"zone": "north"})  # once a node fits, they run there
    h.run_to_fixed_point()
    assert h.placement("cache") == {"d": 2}


# --- restarts ------------------------------------------------------------------------------

def test_a_failed_task_is_restarted_after_the_delay_and_not_before() -> None:
    h = three_nodes()
    h.add_service("web", replicas=1, restart={"Condition": "any", "Delay": 10 * SECOND})
    h.run_to_fixed_point()
    [first] = h.running("web")
    h.fail(first)
    h.run_to_fixed_point()
    h.advance(9)
    assert h.running("web") == []  # 9 s < 10 s: still waiting
    assert [t["ID"] for t in h.tasks("web", active=False)] == [first["ID"]]  # no new one
    h.advance(2)
    [second] = h.running("web")
    assert second["ID"] != first["ID"] and second["Slot"] == first["Slot"]
    assert h.task(first["ID"])["DesiredState"] == "shutdown"


def test_max_attempts_gives_the_slot_up_for_good() -> None:
    h = three_nodes()
    h.failing_images.add("img:crash")
    h.add_service("crash", replicas=1, image="img:crash",
                  restart={"Condition": "any", "Delay": 0, "MaxAttempts": 2})
    h.run_to_fixed_point()
    h.run_for(30)
    history = h.tasks("crash", active=False)
    assert len(history) == 3  # the first run and two restarts
    assert all(T.state_of(t) == "failed" and t["Status"]["Err"] == EXIT_FAILURE
               for t in history)
    assert h.tasks("crash") == []  # REPLICAS 0/1: nothing is meant to run any more


def test_on_failure_does_not_restart_a_task_that_completed() -> None:
    h = three_nodes()
    h.add_service("job", replicas=2, restart={"Condition": "on-failure", "Delay": 0})
    h.run_to_fixed_point()
    done, failed = h.running("job")
    h.report(done, "complete")
    h.fail(failed)
    h.run_for(5)
    assert [t["Slot"] for t in h.running("job")] == [failed["Slot"]]
    assert h.task(done["ID"])["DesiredState"] == "shutdown"


# --- failover -----------------------------------------------------------------------------

def test_the_tasks_of_a_node_marked_down_are_replaced_elsewhere_at_once() -> None:
    h = three_nodes()
    h.add_service("web", replicas=6, restart={"Condition": "any", "Delay": 60 * SECOND})
    h.run_to_fixed_point()
    lost = [t for t in h.running("web") if t["NodeID"] == "b"]
    assert len(lost) == 2
    h.mark_down("b")
    h.run_to_fixed_point()  # no restart delay for a lost node
    assert h.placement("web") == {"a": 3, "c": 3}
    assert sorted(t["Slot"] for t in h.running("web")) == [1, 2, 3, 4, 5, 6]
    assert {h.task(t["ID"])["DesiredState"] for t in lost} == {"shutdown"}
    h.set_node("b", state="ready")  # it comes back: no rebalancing, as Docker
    h.run_to_fixed_point()
    assert h.placement("web") == {"a": 3, "c": 3}


def test_draining_a_node_moves_its_tasks_and_stops_the_old_ones() -> None:
    h = three_nodes()
    h.add_service("web", replicas=3)
    h.add_service("agent", mode="global")
    h.run_to_fixed_point()
    on_c = [t for t in h.tasks("web") + h.tasks("agent") if t["NodeID"] == "c"]
    h.drain("c")
    h.run_to_fixed_point()
    assert h.placement("web") == {"a": 2, "b": 1} or h.placement("web") == {"a": 1, "b": 2}
    assert h.placement("agent") == {"a": 1, "b": 1}
    assert {T.state_of(h.task(t["ID"])) for t in on_c} == {"shutdown"}  # its worker stopped them


# --- rolling updates and rollbacks ----------------------------------------------------------

def test_a_rolling_update_replaces_parallelism_tasks_at_a_time() -> None:
    h = three_nodes()
    h.add_service("web", replicas=6, update={"Parallelism": 2, "Delay": 0, "Monitor": 0})
    h.run_to_fixed_point()
    h.update_service("web", image="img:2")
    for updated in (2, 4, 6):
        h.run_to_fixed_point(workers=False)  # the updater's batch: made and placed
        fresh = [t for t in h.tasks("web") if t["Spec"]["ContainerSpec"]["Image"] == "img:2"]
        assert len(fresh) == updated
        assert sum(T.state_of(t) != "running" for t in fresh) == 2  # 2 at a time
        h.work()
    h.run_to_fixed_point()
    assert h.images("web") == {"img:2": 6}
    assert h.update_state("web") == "completed"


def test_stop_first_stops_the_old_task_first_and_start_first_keeps_it_until_the_new_runs(
        ) -> None:
    for order, old_still_meant_to_run in (("stop-first", 0), ("start-first", 1)):
        h = three_nodes()
        h.add_service("web", replicas=3, update={"Parallelism": 1, "Monitor": 0,
                                                 "Order": order})
        h.run_to_fixed_point()
        h.update_service("web", image="img:2")
        h.run_to_fixed_point(workers=False)
        old = [t for t in h.tasks("web", active=False)
               if t["Spec"]["ContainerSpec"]["Image"] == "img:1"]
        assert sum(t["DesiredState"] == "running" for t in old) == 3 - 1 + \
            old_still_meant_to_run, order
        h.run_to_fixed_point()
        assert h.images("web") == {"img:2": 3}, order
        assert h.update_state("web") == "completed", order


def test_an_update_that_fails_pauses_with_the_rest_on_the_old_image() -> None:
    h = three_nodes()
    h.failing_images.add("img:bad")
    h.add_service("web", replicas=4, update={"Parallelism": 2, "Monitor": 5 * SECOND,
                                             "FailureAction": "pause"})
    h.run_to_fixed_point()
    h.update_service("web", image="img:bad")
    h.run_for(20)
    status = h.service("web")["UpdateStatus"]
    assert status["State"] == "paused"
    assert status["Message"].startswith("update paused due to failure or early termination "
                                        "of task ")
    assert h.images("web") == {"img:1": 2}  # the first batch failed; no second one


def test_an_update_that_fails_rolls_back_to_the_previous_spec() -> None:
    h = three_nodes()
    h.failing_images.add("img:bad")
    h.add_service("web", replicas=4, update={"Parallelism": 1, "Monitor": 5 * SECOND,
                                             "FailureAction": "rollback"})
    h.run_to_fixed_point()
    h.update_service("web", image="img:bad")
    h.run_for(30)
    service = h.service("web")
    assert service["UpdateStatus"]["State"] == "rollback_completed"
    assert service["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == "img:1"
    assert h.images("web") == {"img:1": 4}
    assert sorted(t["Slot"] for t in h.running("web")) == [1, 2, 3, 4]


def test_a_manual_rollback_brings_the_previous_image_back() -> None:
    h = three_nodes()
    h.add_service("web", replicas=2, update={"Monitor": 0})
    h.run_to_fixed_point()
    h.update_service("web", image="img:2")
    h.run_to_fixed_point()
    assert h.images("web") == {"img:2": 2}
    h.update_service("web", rollback=True)
    h.run_to_fixed_point()
    assert h.images("web") == {"img:1": 2}
    assert h.update_state("web") == "rollback_started"  # RollbackConfig.Monitor: 5 s
    h.advance(5)
    assert h.update_state("web") == "rollback_completed"


def test_a_removed_service_leaves_nothing_behind() -> None:
    h = three_nodes()
    h.add_service("web", replicas=3)
    h.run_to_fixed_point()
    h.remove_service("web")
    h.run_to_fixed_point()
    assert h.tasks("web", active=False) == []
