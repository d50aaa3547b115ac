"""Failures stay with their object, stage by stage: each stage of the leader's pass, given a
snapshot with a malformed object beside healthy ones, returns the healthy ones' changes and
keeps the failure against the bad object (test_poison_isolation.py runs whole passes)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from memory_store import MemoryStore
from test_orchestrator import NOW
from test_poison_isolation import add_service, node_obj, spec, world

from swarmlet.manager import tasks as T
from swarmlet.manager.allocator.allocator import allocate
from swarmlet.manager.allocator.network_objects import new_network
from swarmlet.manager.orchestrator.global_ import reconcile_global
from swarmlet.manager.orchestrator.reaper import reap
from swarmlet.manager.orchestrator.replicated import reconcile_replicated
from swarmlet.manager.orchestrator.update import update_services
from swarmlet.manager.scheduler import schedule
from swarmlet.manager.scheduler.stage import schedule_pending
from swarmlet.manager.snapshot import Snapshot


def snap_of(store: MemoryStore) -> Snapshot:
    snap = Snapshot.read(store)
    snap.now = NOW
    return snap


def test_orchestrators_go_on_past_a_service_they_cannot_read() -> None:
    store = world()
    add_service(store, "bad", spec("bad", replicas="x"))
    add_service(store, "badglobal", {**spec("badglobal"), "Mode": {"Global": {}},
                                     "TaskTemplate": None})
    add_service(store, "web", spec("web", replicas=2))
    snap = snap_of(store)
    changes = reconcile_replicated(snap) + reconcile_global(snap)
    assert {c["object"]["ServiceID"] for c in changes} == {"web"}
    assert {(f.kind, f.id, f.stage) for f in snap.failures} == {
        ("service", "bad", "orchestrator"), ("service", "badglobal", "orchestrator")}


def test_the_updater_goes_on_past_a_policy_it_cannot_read() -> None:
    store = world()
    for name, parallelism in (("bad", "two"), ("web", 1)):
        service = add_service(store, name, spec(name))
        store.create("task", {**T.new_task(service, 1, "n1"), "ID": f"{name}-old"})
        service = store.get("service", name)
        service["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] = "img:2"
        service["Spec"]["UpdateConfig"] = {"Parallelism": parallelism}
        service["UpdateStatus"] = {"State": "updating", "StartedAt": ""}
        store.update("service", service)
    snap = snap_of(store)
    changes = update_services(snap)
    assert {c["object"]["ServiceID"] for c in changes} == {"web"}
    [failure] = list(snap.failures)
    assert (failure.kind, failure.id, failure.stage) == ("service", "bad", "updater")


def test_the_reaper_goes_on_past_a_task_and_a_policy_it_cannot_read() -> None:
    store = world()
    web = add_service(store, "web", spec("web"))
    bad = add_service(store, "bad", spec("bad"))
    bad["Spec"]["TaskTemplate"]["RestartPolicy"]["MaxAttempts"] = "3"
    store.update("service", bad)
    for service in (web, bad):
        for i in range(8):  # more ended history than the retention limit keeps
            task = T.new_task(service, 1, "n1", desired="shutdown")
            task["ID"] = f"{service['ID']}-{i}"
            task["Status"]["State"] = "shutdown"
            store.create("task", task)
    garbled = T.new_task(web, 2)
    garbled["ID"] = "garbled"
    garbled["Slot"] = "two"
    store.create("task", garbled)
    snap = snap_of(store)
    deleted = {c["id"] for c in reap(snap) if c["op"] == "delete"}
    assert len(deleted) == 3 and all(d.startswith("web-") for d in deleted)
    assert {(f.kind, f.id) for f in snap.failures} == {("service", "bad"), ("task", "garbled")}


def test_the_scheduler_leaves_out_a_node_and_a_task_it_cannot_read() -> None:
    store = world(node_obj("n1"), node_obj("n2", cpus="lots"))
    web = add_service(store, "web", spec("web", replicas=2))
    for slot in (1, 2):
        task = T.new_task(web, slot)
        task["ID"] = f"web-{slot}"
        task["Status"]["State"] = "pending"
        store.create("task", task)
    load = T.new_task(web, 3, "n1")
    load["ID"] = "web-load"
    load["Status"]["State"] = "running"
    load["Spec"]["Resources"] = {"Reservations": {"NanoCPUs": "half"}}
    store.create("task", load)
    snap = snap_of(store)
    changes = schedule_pending(snap)
    assert {c["object"]["NodeID"] for c in changes} == {"n1"}
    assert len(changes) == 2
    assert {(f.kind, f.id) for f in snap.failures} == {("node", "n2"), ("task", "web-load")}


def test_schedule_places_other_groups_when_one_spec_does_not_read() -> None:
    nodes = [node_obj("n1")]
    nodes[0]["Description"]["Resources"]["NanoCPUs"] = 4 * 10**9
    good = {"ID": "good", "Spec": spec("good")}
    bad = {"ID": "bad", "Spec": spec("bad")}
    bad["Spec"]["TaskTemplate"]["Placement"] = {"MaxReplicas": "x"}
    tasks = []
    for service in (good, bad):
        task = T.new_task(service, 1)
        task["ID"] = f"{service['ID']}-1"
        task["Status"]["State"] = "pending"
        tasks.append(task)
    plan = schedule(nodes, tasks, {"good": good, "bad": bad})
    assert plan.assignments == {"good-1": "n1"}
    assert list(plan.failed) == ["bad-1"]
    assert plan.failed["bad-1"].startswith("scheduler could not read the task's spec")



def test_the_allocator_goes_on_past_a_network_and_a_service_it_cannot_read() -> None:
    store = world()
    store.create("network", new_network("backend", "backend", IPv4Network("10.0.1.0/24"),
                                         IPv4Address("10.0.1.1"), 4097))
    store.create("network", {"ID": "badnet", "Spec": "garbled", "IPAM": {"Configs": ["x"]}})
    web = add_service(store, "web", spec("web"))
    web["Spec"]["TaskTemplate"]["Networks"] = [{"Target": "backend"}]
    web = store.update("service", web)
    bad = add_service(store, "bad", spec("bad", EndpointSpec={"Ports": [
        {"TargetPort": 80, "PublishedPort": "eighty"}]}))
    for service in (web, bad):
        store.create("task", {**T.new_task(service, 1), "ID": f"{service['ID']}-1"})
    snap = snap_of(store)
    changes = allocate(snap)
    [web_task] = [c["object"] for c in changes if c["object"]["ID"] == "web-1"]
    assert T.state_of(web_task) == "pending"
    [address] = web_task["NetworksAttachments"][0]["Addresses"]
    assert address.startswith("10.0.1.")
    [bad_task] = [c["object"] for c in changes if c["object"]["ID"] == "bad-1"]
    assert T.state_of(bad_task) == "new" and bad_task["Status"]["Err"]  # waits, says why
    assert {(f.kind, f.id) for f in snap.failures} == {("network", "badnet"),
                                                        ("service", "bad")}
