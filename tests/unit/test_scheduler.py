"""schedule(): a snapshot in, a Plan out. Spreading, filters, preferences, determinism."""

from __future__ import annotations

import copy
import itertools
import random
from collections import Counter

from swarmlet.manager.scheduler import Plan, schedule

GB = 1 << 30
_ids = itertools.count()


def node(nid: str, state: str = "ready", availability: str = "active", cpus: float = 4,
         memory: int = 8 * GB, **labels: str) -> dict:
    return {"ID": nid,
            "Spec": {"Role": "worker", "Availability": availability, "Labels": labels},
            "Description": {"Hostname": nid,
                            "Platform": {"OS": "linux", "Architecture": "x86_64"},
                            "Resources": {"NanoCPUs": int(cpus * 1e9), "MemoryBytes": memory}},
            "Status": {"State": state, "Addr": "10.0.0.1"}}


def service(sid: str, constraints: list[str] | None = None, spread: list[str] | None = None,
            max_replicas: int = 0, cpus: float = 0, memory: int = 0,
            host_port: int = 0) -> dict:
    placement: dict = {"Constraints": constraints or [], "MaxReplicas": max_replicas,
                       "Preferences": [{"Spread": {"SpreadDescriptor": d}}
                                       for d in spread or []]}
    template = {"ContainerSpec": {"Image": "nginx"}, "Placement": placement,
                "Resources": {"Reservations": {"NanoCPUs": int(cpus * 1e9),
                                               "MemoryBytes": memory}}}
    ports = [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": host_port,
              "PublishMode": "host"}] if host_port else []
    return {"ID": sid, "Spec": {"Name": sid, "TaskTemplate": template,
                                "Mode": {"Replicated": {"Replicas": 1}},
                                "EndpointSpec": {"Ports": ports}}}


def tasks(svc: dict, n: int, node_id: str = "", state: str = "pending",
          desired: str = "running") -> list[dict]:
    out = []
    for slot in range(1, n + 1):
        t = {"ID": f"{svc['ID']}-t{next(_ids):05d}", "ServiceID": svc["ID"], "Slot": slot,
             "NodeID": node_id, "Spec": copy.deepcopy(svc["Spec"]["TaskTemplate"]),
             "Status": {"State": state, "Message": "", "Err": ""}, "DesiredState": desired}
        if svc["Spec"]["EndpointSpec"]["Ports"]:
            t["Endpoint"] = {"Ports": copy.deepcopy(svc["Spec"]["EndpointSpec"]["Ports"])}
        out.append(t)
    return out


def run(nodes: list[dict], services: list[dict], all_tasks: list[dict]) -> Plan:
    return schedule(nodes, all_tasks, {s["ID"]: s for s in services})


def spread(plan: Plan) -> dict[str, int]:
    return dict(Counter(plan.assignments.values()))


def abc(**kwargs: object) -> list[dict]:
    return [node(n, **kwargs) for n in "abc"]  # type: ignore[arg-type]


# --- spreading -------------------------------------------------------------------------------

def test_replicas_spread_evenly_over_ready_nodes() -> None:
    web = service("web")
    plan = run(abc(), [web], tasks(web, 6))
    assert spread(plan) == {"a": 2, "b": 2, "c": 2}
    assert plan.unschedulable == {}


def test_only_pending_tasks_that_should_run_are_placed() -> None:
    web = service("web")
    todo = tasks(web, 2)
    others = (tasks(web, 1, desired="shutdown") + tasks(web, 1, state="new")
              + tasks(web, 1, state="running", node_id="a"))
    plan = run(abc(), [web], todo + others)
    assert set(plan.assignments) == {t["ID"] for t in todo}
    assert "a" not in plan.assignments.values()  # the running one is load there


def test_delayed_restart_tasks_desired_ready_are_placed() -> None:
    web = service("web")
    [t] = tasks(web, 1, desired="ready")
    assert run(abc(), [web], [t]).assignments == {t["ID"]: "a"}


def test_existing_load_steers_new_tasks_to_emptier_nodes() -> None:
    web, db = service("web"), service("db")
    load = tasks(db, 3, node_id="a", state="running") + tasks(db, 1, node_id="b",
                                                             state="running")
    plan = run(abc(), [web, db], load + tasks(web, 2))
    assert spread(plan) == {"c": 1, "b": 1}


def test_tasks_of_the_same_service_count_before_total_load() -> None:
    web, db = service("web"), service("db")
    load = (tasks(db, 5, node_id="a", state="running")
            + tasks(web, 1, node_id="b", state="running")
            + tasks(web, 1, node_id="c", state="running"))
    plan = run(abc(), [web, db], load + tasks(web, 1))
    assert spread(plan) == {"a": 1}


def test_tasks_shutting_down_do_not_count_for_spreading() -> None:
    web = service("web")
    leaving = tasks(web, 3, node_id="a", state="running", desired="shutdown")
    plan = run(abc(), [web], leaving + tasks(web, 3))
    assert spread(plan) == {"a": 1, "b": 1, "c": 1}


def test_two_services_in_one_pass_share_the_nodes() -> None:
    web, db = service("web"), service("db")
    plan = run(abc(), [web, db], tasks(web, 3) + tasks(db, 3))
    by_node = Counter((t.split("-")[0], n) for t, n in plan.assignments.items())
    assert by_node == {(s, n): 1 for s in ("web", "db") for n in "abc"}


# --- filters ---------------------------------------------------------------------------------

def test_equality_constraint_pins_tasks_to_the_labelled_node() -> None:
    dbs = service("db", constraints=["node.labels.type==db"])
    nodes = [node("a"), node("b", type="db"), node("c", type="web")]
    assert spread(run(nodes, [dbs], tasks(dbs, 5))) == {"b": 5}


def test_inequality_constraint_avoids_the_labelled_node() -> None:
    web = service("web", constraints=["node.labels.type!=db"])
    nodes = [node("a"), node("b", type="db"), node("c", type="web")]
    assert spread(run(nodes, [web], tasks(web, 4))) == {"a": 2, "c": 2}


def test_drained_paused_and_down_nodes_get_nothing() -> None:
    web = service("web")
    nodes = [node("a"), node("b", availability="drain"), node("c", availability="pause"),
             node("d", state="down")]
    assert spread(run(nodes, [web], tasks(web, 4))) == {"a": 4}
    plan = run(nodes[1:], [web], tasks(web, 2))
    assert plan.assignments == {}
    assert set(plan.unschedulable.values()) == {
        "no suitable node (3 nodes not available for new tasks)"}


def test_reservations_beyond_capacity_are_unschedulable() -> None:
    big = service("big", cpus=8)
    plan = run(abc(cpus=4), [big], tasks(big, 2))
    assert plan.assignments == {}
    assert list(plan.unschedulable.values()) == [
        "no suitable node (insufficient resources on 3 nodes)"] * 2


def test_reservations_fill_nodes_then_stop() -> None:
    half = service("half", cpus=1, memory=3 * GB)  # memory allows 2 per node
    held = tasks(half, 1, node_id="a", state="running")
    plan = run(abc(cpus=4, memory=6 * GB), [half], held + tasks(half, 6))
    assert spread(plan) == {"a": 1, "b": 2, "c": 2}
    assert set(plan.unschedulable.values()) == {
        "no suitable node (insufficient resources on 3 nodes)"}


def test_reservations_are_shared_between_services_in_one_pass() -> None:
    web, db = service("web", cpus=2), service("db", cpus=2)
    plan = run([node("a", cpus=4), node("b", cpus=4)], [web, db],
               tasks(web, 3) + tasks(db, 2))
    assert spread(plan) == {"a": 2, "b": 2}
    assert len(plan.unschedulable) == 1


def test_unsatisfiable_constraints() -> None:
    db = service("db", constraints=["node.labels.type==db"])
    plan = run(abc(), [db], tasks(db, 2))
    assert set(plan.unschedulable.values()) == {
        "no suitable node (scheduling constraints not satisfied on 3 nodes)"}


def test_mixed_reasons_are_joined_most_frequent_first() -> None:
    db = service("db", constraints=["node.labels.type==db"], cpus=2)
    nodes = [node("a", state="down", type="db"), node("b", type="web"), node("c"),
             node("d", cpus=1, type="db")]
    plan = run(nodes, [db], tasks(db, 1))
    assert list(plan.unschedulable.values()) == [
        "no suitable node (scheduling constraints not satisfied on 2 nodes; "
        "1 node not available for new tasks; insufficient resources on 1 node)"]


def test_max_replicas_per_node() -> None:
    web = service("web", max_replicas=1)
    plan = run(abc(), [web], tasks(web, 4))
    assert spread(plan) == {"a": 1, "b": 1, "c": 1}
    assert list(plan.unschedulable.values()) == ["no suitable node (max replicas per node "
                                                 "limit exceed)"]


def test_host_port_conflicts_with_other_tasks_and_within_the_pass() -> None:
    old, web = service("old", host_port=8080), service("web", host_port=8080)
    held = tasks(old, 1, node_id="a", state="running")
    plan = run(abc(), [old, web], held + tasks(web, 3))
    assert spread(plan) == {"b": 1, "c": 1}
    assert list(plan.unschedulable.values()) == [
        "no suitable node (host-mode port already in use on 3 nodes)"]


def test_host_port_of_a_finished_task_is_free_again() -> None:
    old, web = service("old", host_port=8080), service("web", host_port=8080)
    gone = tasks(old, 1, node_id="a", state="complete")
    assert spread(run([node("a")], [old, web], gone + tasks(web, 1))) == {"a": 1}


def test_endpoint_comes_from_the_service_when_the_task_lacks_it() -> None:
    old, web, db = service("old", host_port=8080), service("web", host_port=8080), service("db")
    held = tasks(old, 1, node_id="a", state="running")
    busier = tasks(db, 2, node_id="b", state="running")  # without the port, a would win
    fresh = tasks(web, 1)
    del fresh[0]["Endpoint"]
    plan = run([node("a"), node("b")], [old, web, db], held + busier + fresh)
    assert spread(plan) == {"b": 1}


# --- spread preferences ------------------------------------------------------------------------

def zones(*sizes: int, key: str = "zone") -> list[dict]:
    return [node(f"{chr(97 + z)}{i}", **{key: f"z{z}"})
            for z, size in enumerate(sizes) for i in range(size)]


def by_label(plan: Plan, nodes: list[dict], key: str = "zone") -> dict[str, int]:
    label = {n["ID"]: n["Spec"]["Labels"].get(key, "") for n in nodes}
    return dict(Counter(label[n] for n in plan.assignments.values()))


def test_spread_divides_tasks_evenly_between_label_values() -> None:
    web = service("web", spread=["node.labels.zone"])
    nodes = zones(1, 3)
    plan = run(nodes, [web], tasks(web, 8))
    assert by_label(plan, nodes) == {"z0": 4, "z1": 4}
    assert sorted(spread(plan).values()) == [1, 1, 2, 4]  # z1's 4 are spread over 3 nodes


def test_nodes_without_the_label_form_their_own_branch() -> None:
    web = service("web", spread=["node.labels.zone"])
    nodes = [*zones(1, 1), node("bare1"), node("bare2")]
    plan = run(nodes, [web], tasks(web, 6))
    assert by_label(plan, nodes) == {"z0": 2, "z1": 2, "": 2}


def test_spread_counts_existing_tasks() -> None:
    web = service("web", spread=["node.labels.zone"])
    nodes = zones(2, 2)
    held = tasks(web, 3, node_id="a0", state="running")
    plan = run(nodes, [web], held + tasks(web, 5))
    assert by_label(plan, nodes) == {"z0": 1, "z1": 4}


def test_a_branch_without_room_gives_its_share_to_the_others() -> None:
    web = service("web", spread=["node.labels.zone"], max_replicas=2)
    nodes = [*zones(1, 3), node("x", availability="drain", zone="z2")]
    plan = run(nodes, [web], tasks(web, 9))
    assert by_label(plan, nodes) == {"z0": 2, "z1": 6}
    assert len(plan.unschedulable) == 1


def test_spread_over_engine_labels_and_unknown_descriptors_are_ignored() -> None:
    web = service("web", spread=["engine.labels.disk", "node.hostname"])
    nodes = [node("a"), node("b"), node("c")]
    nodes[0]["Description"]["Engine"] = {"Labels": {"disk": "ssd"}}
    plan = run(nodes, [web], tasks(web, 4))
    assert spread(plan) == {"a": 2, "b": 1, "c": 1}


def test_nested_preferences_spread_level_by_level() -> None:
    web = service("web", spread=["node.labels.dc", "node.labels.rack"])
    nodes = [node("n1", dc="east", rack="r1"), node("n2", dc="east", rack="r2"),
             node("n3", dc="east", rack="r2"), node("n4", dc="west", rack="r3")]
    plan = run(nodes, [web], tasks(web, 8))
    assert spread(plan) == {"n1": 2, "n2": 1, "n3": 1, "n4": 4}


def test_preferences_never_filter() -> None:
    web = service("web", spread=["node.labels.zone"])
    plan = run([node("a")], [web], tasks(web, 3))
    assert spread(plan) == {"a": 3}


# --- preassigned (global) tasks ----------------------------------------------------------------

def test_preassigned_tasks_are_only_checked_on_their_node() -> None:
    agent = service("agent", cpus=1)
    nodes = [node("a"), node("b", availability="drain"), node("c", cpus=0.5)]
    ts = [tasks(agent, 1, node_id=n["ID"])[0] for n in nodes]
    ts.append(tasks(agent, 1, node_id="gone")[0])
    plan = run(nodes, [agent], ts)
    assert plan.assignments == {ts[0]["ID"]: "a"}
    assert plan.unschedulable == {
        ts[1]["ID"]: "no suitable node (1 node not available for new tasks)",
        ts[2]["ID"]: "no suitable node (insufficient resources on 1 node)",
        ts[3]["ID"]: "no suitable node (node gone not found)",
    }


def test_preassigned_tasks_go_first_and_take_their_resources() -> None:
    agent, web = service("agent", cpus=3), service("web", cpus=3)
    [global_task] = tasks(agent, 1, node_id="a")
    plan = run([node("a"), node("b")], [agent, web], [*tasks(web, 2), global_task])
    assert plan.assignments[global_task["ID"]] == "a"
    assert spread(plan) == {"a": 1, "b": 1}
    assert list(plan.unschedulable.values()) == [
        "no suitable node (insufficient resources on 2 nodes)"]


# --- determinism -------------------------------------------------------------------------------

def test_same_snapshot_same_plan_whatever_the_order() -> None:
    rng = random.Random(7)
    services = [service("web", spread=["node.labels.zone"]),
                service("db", constraints=["node.labels.zone!=z0"], cpus=1),
                service("cache", max_replicas=2)]
    nodes = zones(3, 4, 2)
    snapshot = [t for s in services for t in tasks(s, 17)]
    snapshot += tasks(services[0], 4, node_id="b1", state="running")
    first = run(nodes, services, snapshot)
    for _ in range(5):
        rng.shuffle(nodes)
        rng.shuffle(snapshot)
        again = run(copy.deepcopy(nodes), services, copy.deepcopy(snapshot))
        assert again == first
        assert list(again.assignments.items()) == list(first.assignments.items())
    assert len(first.assignments) + len(first.unschedulable) == 51


def test_a_large_pass_stays_balanced() -> None:
    nodes = [node(f"n{i:03d}") for i in range(100)]
    services = [service(f"s{i}") for i in range(10)]
    plan = run(nodes, services, [t for s in services for t in tasks(s, 300)])
    assert plan.unschedulable == {}
    per_service_node = Counter((t.split("-")[0], n) for t, n in plan.assignments.items())
    assert set(per_service_node.values()) == {3}
    assert len(per_service_node) == 1000
