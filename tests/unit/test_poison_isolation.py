"""Failures stay with their object: a malformed service, cluster, node or task (written
straight into the store, as an older version or a worker could have) gets its error recorded
on it, and every pass still creates, allocates and schedules the healthy service beside it."""

from __future__ import annotations

import logging

import pytest
from memory_store import MemoryStore
from test_orchestrator import NOW

from swarmlet.manager import tasks as T
from swarmlet.manager.loops import run_pass
from swarmlet.manager.orchestrator.control_errors import FIELD
from swarmlet.manager.snapshot import Snapshot

GB = 1 << 30


def spec(name: str, replicas: object = 1, **extra: object) -> dict:
    return {"Name": name,
            "TaskTemplate": {"ContainerSpec": {"Image": "img"},
                             "RestartPolicy": {"Condition": "any", "Delay": 0,
                                               "MaxAttempts": 0, "Window": 0},
                             "Resources": {}, "Placement": {}},
            "Mode": {"Replicated": {"Replicas": replicas}}, **extra}


def node_obj(node_id: str, cpus: object = 4 * 10**9) -> dict:
    return {"ID": node_id, "Spec": {"Role": "worker", "Availability": "active", "Labels": {}},
            "Description": {"Hostname": node_id,
                            "Platform": {"OS": "linux", "Architecture": "x86_64"},
                            "Resources": {"NanoCPUs": cpus, "MemoryBytes": 8 * GB}},
            "Status": {"State": "ready", "Addr": "198.18.0.2"}}


def world(*nodes: dict) -> MemoryStore:
    store = MemoryStore()
    store.create("cluster", {"ID": "cluster0", "Spec": {"Name": "default", "Orchestration": {
        "TaskHistoryRetentionLimit": 5}}})
    for node in nodes or (node_obj("n1"),):
        store.create("node", node)
    return store


def add_service(store: MemoryStore, service_id: str, service_spec: dict, **extra: object) -> dict:
    return store.create("service", {"ID": service_id, "Spec": service_spec,
                                    "SpecVersion": {"Index": 1}, **extra})


def tasks_of(store: MemoryStore, service_id: str) -> list[dict]:
    return [t for t in store.list("task") if t.get("ServiceID") == service_id]


def converge(store: MemoryStore, passes: int = 3) -> None:
    for _ in range(passes):
        run_pass(store)


def assert_healthy_scheduled(store: MemoryStore, replicas: int = 2,
                             nodes: tuple[str, ...] = ("n1",)) -> None:
    """The healthy service's tasks were created, allocated (pending) and scheduled."""
    web = tasks_of(store, "web")
    assert len(web) == replicas
    assert {T.state_of(t) for t in web} == {"assigned"}
    assert {t["NodeID"] for t in web} <= set(nodes)
    assert FIELD not in store.get("service", "web")


def error_of(store: MemoryStore, kind: str, object_id: str) -> dict:
    error = store.get(kind, object_id).get(FIELD)
    assert error is not None, f"{kind} {object_id} has no {FIELD}"
    assert set(error) == {"Stage", "Message", "Since"}
    return error


# --- whole passes on an in-memory store ----------------------------------------------------

def test_replicas_that_do_not_read_stay_with_their_service() -> None:
    store = world()
    add_service(store, "bad", spec("bad", replicas="x"))
    add_service(store, "web", spec("web", replicas=2))
    converge(store)
    assert_healthy_scheduled(store)
    error = error_of(store, "service", "bad")
    assert error["Stage"] == "orchestrator"
    assert "Spec.Mode" in error["Message"] and "'x'" in error["Message"]
    assert tasks_of(store, "bad") == []


def test_job_counts_that_do_not_read_stay_with_their_job() -> None:
    store = world()
    add_service(store, "bad", {**spec("bad"), "Mode": {"ReplicatedJob": {
        "MaxConcurrent": "two", "TotalCompletions": 3}}})
    add_service(store, "web", spec("web", replicas=2))
    converge(store)
    assert_healthy_scheduled(store)
    error = error_of(store, "service", "bad")
    assert error["Stage"] == "orchestrator"
    assert "MaxConcurrent and TotalCompletions" in error["Message"]
    assert tasks_of(store, "bad") == []


def test_a_spec_without_mode_is_replicated_once_and_a_null_mode_is_an_error() -> None:
    store = world()
    no_mode = spec("nomode")
    del no_mode["Mode"]
    null_mode = {**spec("nullmode"), "Mode": None}
    add_service(store, "nomode", no_mode)
    add_service(store, "nullmode", null_mode)
    add_service(store, "web", spec("web", replicas=2))
    converge(store)
    assert_healthy_scheduled(store)
    assert len(tasks_of(store, "nomode")) == 1  # Docker's default mode: one replica
    assert FIELD not in store.get("service", "nomode")
    assert error_of(store, "service", "nullmode")["Message"] == \
        "Spec.Mode: None is not Replicated, Global, ReplicatedJob or GlobalJob"


def test_an_update_whose_parallelism_does_not_read_waits_with_the_error() -> None:
    store = world()
    bad = add_service(store, "bad", spec("bad", replicas=2))
    converge(store)
    old_tasks = {t["ID"] for t in tasks_of(store, "bad")}
    bad = store.get("service", "bad")
    bad["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] = "img:2"
    bad["Spec"]["UpdateConfig"] = {"Parallelism": "two", "Order": "stop-first"}
    bad["UpdateStatus"] = {"State": "updating", "StartedAt": "2026-01-01T00:00:00.000000Z",
                           "Message": "update in progress"}
    store.update("service", bad)
    add_service(store, "web", spec("web", replicas=2))
    converge(store)
    assert_healthy_scheduled(store)
    error = error_of(store, "service", "bad")
    assert error["Stage"] == "updater"
    assert error["Message"] == "Spec.UpdateConfig.Parallelism: 'two' is not a whole number"
    assert {t["ID"] for t in tasks_of(store, "bad")} == old_tasks  # the update waits
    assert store.get("service", "bad")["UpdateStatus"]["State"] == "updating"


def test_a_bad_retention_limit_falls_back_to_the_default_and_is_recorded() -> None:
    store = world()
    cluster = store.get("cluster", "cluster0")
    cluster["Spec"]["Orchestration"]["TaskHistoryRetentionLimit"] = "five"
    store.update("cluster", cluster)
    assert Snapshot.read(store).retention == 5
    add_service(store, "web", spec("web", replicas=2))
    converge(store)
    assert_healthy_scheduled(store)
    error = error_of(store, "cluster", "cluster0")
    assert error["Stage"] == "snapshot"
    assert error["Message"] == ("Spec.Orchestration.TaskHistoryRetentionLimit: 'five' is not "
                                "a whole number; the default, 5, applies")


def test_a_node_whose_resources_do_not_read_takes_no_task_and_shows_why() -> None:
    store = world(node_obj("n1"), node_obj("n2", cpus="lots"))
    add_service(store, "web", spec("web", replicas=2))
    converge(store)
    assert_healthy_scheduled(store, nodes=("n1",))  # spread would have used n2 as well
    error = error_of(store, "node", "n2")
    assert error["Stage"] == "scheduler"
    assert error["Message"] == "Description.Resources.NanoCPUs: 'lots' is not a whole number"
    assert FIELD not in store.get("node", "n1")


@pytest.mark.parametrize(("garble", "message"), [
    (lambda t: t["Status"].update(State="bogus"), "Status.State: 'bogus' is not a task state"),
    (lambda t: t.update(Status="garbled"), "Status: 'garbled' is not an object"),
    (lambda t: t.pop("ServiceID"), "ServiceID: None is not a service ID"),
    (lambda t: t.update(DesiredState=7), "DesiredState: 7 is not a task state"),
    (lambda t: t.update(JobIteration={"Index": "x"}),
     "JobIteration: {'Index': 'x'} is not a job iteration"),
])
def test_a_task_with_a_garbled_field_keeps_the_error(garble, message) -> None:
    store = world()
    other = add_service(store, "other", spec("other"))
    task = T.new_task(other, 1)
    task["ID"] = "garbled-task"
    garble(task)
    store.create("task", task)
    add_service(store, "web", spec("web", replicas=2))
    converge(store)
    assert_healthy_scheduled(store)
    stored = store.get("task", "garbled-task")
    assert stored[FIELD]["Message"] == message
    if isinstance(stored.get("Status"), dict):  # `service ps` shows it in ERROR
        assert stored["Status"]["Err"] == message


def test_a_steady_failure_is_written_and_logged_once(caplog) -> None:
    store = world()
    add_service(store, "bad", spec("bad", replicas="x"))
    add_service(store, "web", spec("web", replicas=2))
    with caplog.at_level(logging.WARNING, logger="swarmlet.orchestrator"):
        converge(store)
        version = store.get("service", "bad")["Version"]["Index"]
        since = error_of(store, "service", "bad")["Since"]
        writes = store.writes
        converge(store, passes=5)
    assert store.writes == writes  # nothing changes: nothing is written
    assert store.get("service", "bad")["Version"]["Index"] == version
    assert error_of(store, "service", "bad")["Since"] == since
    warnings = [r for r in caplog.records if "service bad" in r.getMessage()]
    assert len(warnings) == 1
    assert "the orchestrator cannot process it" in warnings[0].getMessage()


def test_the_error_goes_once_the_object_is_fixed() -> None:
    store = world()
    other = add_service(store, "other", spec("other"))
    task = T.new_task(other, 1)
    task["ID"] = "garbled-task"
    task["Status"]["State"] = "bogus"
    store.create("task", task)
    add_service(store, "bad", spec("bad", replicas="x"))
    converge(store)
    bad = store.get("service", "bad")
    bad["Spec"]["Mode"]["Replicated"]["Replicas"] = 1
    store.update("service", bad)
    task = store.get("task", "garbled-task")
    task["Status"]["State"] = "new"  # the worker's next report, say
    store.update("task", task)
    converge(store)
    assert FIELD not in store.get("service", "bad")
    assert len(tasks_of(store, "bad")) == 1
    fixed = store.get("task", "garbled-task")
    assert FIELD not in fixed and "Err" not in fixed["Status"]
    # Its slot got a new task while it did not read: the older one now stops.
    assert fixed["DesiredState"] == "shutdown"
    [replacement] = [t for t in tasks_of(store, "other") if t["ID"] != "garbled-task"]
    assert replacement["Slot"] == 1 and T.state_of(replacement) == "assigned"


# --- what users see -------------------------------------------------------------------------

def test_service_inspect_pretty_shows_the_error_of_a_malformed_service() -> None:
    from swarmlet.cli.service_format import pretty_service, task_rows

    store = world()
    bad = spec("bad", UpdateConfig={"Parallelism": "two", "Delay": "soon",
                                    "MaxFailureRatio": "half"})
    bad["Mode"] = None
    bad["TaskTemplate"]["RestartPolicy"]["Delay"] = "x"
    add_service(store, "bad", bad)
    converge(store)
    service = store.get("service", "bad")
    lines = pretty_service(service, now=NOW).splitlines()
    start = lines.index("ControlError:")
    assert lines[start + 1] == " Stage:\t\torchestrator"
    assert lines[start + 3] == \
        " Message:\tSpec.Mode: None is not Replicated, Global, ReplicatedJob or GlobalJob"

    other = add_service(store, "other", spec("other"))
    task = {**T.new_task(other, 1), "ID": "garbled-task"}
    task["Status"]["State"] = "bogus"
    store.create("task", task)
    run_pass(store)
    [row] = task_rows([store.get("task", "garbled-task")], {"other": "other"}, {}, NOW,
                      trunc=False)
    assert row["Error"] == "\"Status.State: 'bogus' is not a task state\""


def test_a_stage_that_fails_as_a_whole_is_skipped_logged_once_and_clears_nothing(
        monkeypatch, caplog) -> None:
    from swarmlet.manager import loops

    def broken(snap: Snapshot) -> list[dict]:
        raise RuntimeError("a bug, not an object")

    store = world()
    add_service(store, "bad", spec("bad", replicas="x"))
    converge(store, passes=1)
    monkeypatch.setattr(loops, "STAGES", tuple(
        (name, broken if name == "attachments" else stage) for name, stage in loops.STAGES))
    bad = store.get("service", "bad")
    bad["Spec"]["Mode"]["Replicated"]["Replicas"] = 1  # mended, but a stage did not run
    store.update("service", bad)
    add_service(store, "web", spec("web", replicas=2))
    errors: dict[str, str] = {}
    with caplog.at_level(logging.INFO, logger="swarmlet.orchestrator"):
        for _ in range(3):
            run_pass(store, errors)
    assert_healthy_scheduled(store)  # the stages before and after it ran
    assert FIELD in store.get("service", "bad")  # not cleared by an incomplete pass
    assert len([r for r in caplog.records if "failed as a whole" in r.getMessage()]) == 1
    assert errors == {"attachments": "a bug, not an object"}
    monkeypatch.undo()
    run_pass(store, errors)
    assert errors == {} and FIELD not in store.get("service", "bad")
