"""Plans (?dry_run=1), pure: the leader's own stages run on an in-memory copy with the change
applied; nothing of the given state is changed."""

from __future__ import annotations

import copy

from swarmlet.manager.controlapi.plan import diff, service_plan, spec_plan
from swarmlet.manager.controlapi.spec_change import job_status, with_new_spec
from swarmlet.spec.service import normalise_spec

GB = 1 << 30


def node(nid: str, availability: str = "active", cpus: float = 2, **labels: str) -> dict:
    return {"ID": nid, "Version": {"Index": 1},
            "Spec": {"Role": "worker", "Availability": availability, "Labels": labels},
            "Description": {"Hostname": f"host-{nid}",
                            "Platform": {"OS": "linux", "Architecture": "x86_64"},
                            "Resources": {"NanoCPUs": int(cpus * 1e9), "MemoryBytes": 8 * GB}},
            "Status": {"State": "ready", "Addr": "198.18.0.9"}}


def service(sid: str, replicas: int, **template: object) -> dict:
    spec = normalise_spec({"Name": sid, "Mode": {"Replicated": {"Replicas": replicas}},
                           "TaskTemplate": {"ContainerSpec": {"Image": "x"}, **template}})
    return {"ID": sid, "Spec": spec, "SpecVersion": {"Index": 1}, "Version": {"Index": 2}}


def state(*nodes: dict) -> dict[str, list[dict]]:
    return {"node": list(nodes), "service": [], "task": [], "cluster": [], "network": []}


def test_a_create_places_replicas_over_the_nodes_and_writes_nothing() -> None:
    objects = state(node("a"), node("b"), node("c", availability="drain"))
    before = copy.deepcopy(objects)
    plan = service_plan(objects, "create", None, service("web", 4))
    assert plan["DryRun"] and plan["Action"] == "create" and not plan["TasksReplaced"]
    assert plan["Placement"] == {"Nodes": {"host-a": 2, "host-b": 2}, "Unplaced": []}
    assert objects == before


def test_tasks_that_cannot_be_placed_come_with_the_schedulers_reason() -> None:
    objects = state(node("a", zone="x"), node("b"))
    plan = service_plan(objects, "create", None,
                        service("db", 3, Placement={"Constraints": ["node.labels.zone==y"]}))
    assert plan["Placement"]["Nodes"] == {}
    [unplaced] = plan["Placement"]["Unplaced"]
    assert unplaced["Tasks"] == 3
    assert unplaced["Reason"].startswith("no suitable node (scheduling constraints not "
                                         "satisfied on 2 nodes)")


def test_reservations_beyond_capacity_leave_tasks_unplaced() -> None:
    objects = state(node("a", cpus=1))
    plan = service_plan(objects, "create", None,
                        service("big", 3, Resources={"Reservations": {"NanoCPUs": 600_000_000}}))
    assert plan["Placement"]["Nodes"] == {"host-a": 1}
    assert plan["Placement"]["Unplaced"][0]["Tasks"] == 2
    assert "insufficient resources" in plan["Placement"]["Unplaced"][0]["Reason"]


def test_an_update_says_whether_tasks_are_replaced_and_what_changed() -> None:
    old = service("web", 2)
    objects = state(node("a"))
    objects["service"] = [old]
    scaled = {**old, "Spec": {**old["Spec"], "Mode": {"Replicated": {"Replicas": 3}}}}
    plan = service_plan(objects, "update", old, scaled)
    assert plan["Placement"]["Nodes"] == {"host-a": 3}
    assert not plan["TasksReplaced"]
    assert plan["Diff"] == [{"Path": "Mode.Replicated.Replicas", "Old": 2, "New": 3}]
    template = copy.deepcopy(old["Spec"])
    template["TaskTemplate"]["ContainerSpec"]["Env"] = ["A=1"]
    plan = service_plan(objects, "update", old, {**old, "Spec": template})
    assert plan["TasksReplaced"]
    assert plan["Diff"] == [{"Path": "TaskTemplate.ContainerSpec.Env", "Old": None,
                             "New": ["A=1"]}]


def test_a_remove_plans_no_tasks() -> None:
    web = service("web", 2)
    objects = state(node("a"))
    objects["service"] = [web]
    plan = service_plan(objects, "remove", web, web)
    assert plan["Spec"] is None and plan["Placement"]["Nodes"] == {}


def test_spec_plans_diff_field_by_field() -> None:
    plan = spec_plan("node", "update", "n1", {"Role": "worker", "Labels": {}},
                     {"Role": "worker", "Labels": {"a": "1"}})
    assert plan["Diff"] == [{"Path": "Labels.a", "Old": None, "New": "1"}]
    assert diff({"a": [1]}, {"a": [1, 2]}) == [{"Path": "a", "Old": [1], "New": [1, 2]}]


def test_the_plan_of_a_job_places_its_first_tasks_and_those_of_its_next_run() -> None:
    spec = normalise_spec({"Name": "batch", "Mode": {"ReplicatedJob": {
        "MaxConcurrent": 2, "TotalCompletions": 5}},
        "TaskTemplate": {"ContainerSpec": {"Image": "x"}}})
    job = {"ID": "batch", "Spec": spec, "SpecVersion": {"Index": 1}, "Version": {"Index": 2},
           **job_status(spec, "2026-01-01T00:00:00.000000Z")}
    objects = state(node("a"), node("b"))
    plan = service_plan(objects, "create", None, job)
    assert plan["Placement"] == {"Nodes": {"host-a": 1, "host-b": 1}, "Unplaced": []}
    # Run once (its tasks completed): a scale is its next run, two at a time again.
    done = [{"ID": f"t{i}", "ServiceID": "batch", "Slot": i, "NodeID": "a",
             "Version": {"Index": 3}, "CreatedAt": "2026-01-01T00:00:01.000000Z",
             "DesiredState": "complete", "JobIteration": {"Index": 0}, "Spec": spec[
                 "TaskTemplate"], "Status": {"State": "complete", "Timestamp":
                                             "2026-01-01T00:00:02.000000Z"}}
            for i in range(1, 6)]
    objects = {**state(node("a"), node("b")), "service": [job], "task": done}
    scaled = normalise_spec({**spec, "Mode": {"ReplicatedJob": {"MaxConcurrent": 2,
                                                                "TotalCompletions": 6}}}, spec)
    plan = service_plan(objects, "update", job, with_new_spec(
        job, scaled, "updating", "", "2026-01-01T00:00:03.000000Z"))
    assert sum(plan["Placement"]["Nodes"].values()) == 2
    assert plan["Diff"] == [{"Path": "Mode.ReplicatedJob.TotalCompletions", "Old": 5, "New": 6}]
