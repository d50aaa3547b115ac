"""The control pass's one snapshot: read once from the store at one index without copies,
shared by the stages, never changed by them; their changes seen by the later stages and
written together at the versions read; time taken from the pass's clock."""

from __future__ import annotations

import copy

import pytest
from harness import SECOND, Harness
from test_allocator import BACKEND_ID, World, addresses_on

from swarmlet.manager import loops
from swarmlet.manager import tasks as T
from swarmlet.manager.allocator.allocator import allocate
from swarmlet.manager.loops import run_pass
from swarmlet.manager.orchestrator.control_errors import FIELD
from swarmlet.manager.snapshot import Snapshot
from swarmlet.store.memory import MemoryStore
from swarmlet.store.objects import KINDS, stamp
from swarmlet.store.state import StoreError


def busy() -> Harness:
    """A swarm where one pass has work for every stage, on objects read from the store and
    on objects an earlier stage made: a new service (orchestrator, allocator, scheduler), a
    failed task to restart, a node down, a rolling update, a published port (the service's
    endpoint), a node to attach to the ingress network, a removed service's tasks to reap,
    a task made for a service already removed, a task left new and one left pending by an
    earlier pass, and a malformed service (an error to record)."""
    h = Harness()
    for name in ("a", "b", "c"):
        h.add_node(name)
    h.add_service("web", replicas=3, restart={"Condition": "any", "Delay": 0})
    h.add_service("upd", replicas=2, update={"Parallelism": 1, "Monitor": 0})
    h.add_service("gone", replicas=2)
    h.add_service("left", replicas=2)
    h.run_to_fixed_point()
    h.fail(h.running("web")[0])
    h.mark_down("b")
    h.update_service("upd", image="img:2")
    h.remove_service("gone")
    left = h.update_service("left", replicas=4)
    for slot, state in ((3, "new"), (4, "pending")):  # left by earlier passes: not placed yet
        task = T.new_task(left, slot)
        task["Status"]["State"] = state
        h.store.write([T.create(task)])
    late = T.new_task({**left, "ID": "removed-meanwhile"}, 1, "a")
    late["Status"]["State"] = "running"
    h.store.write([T.create(late)])
    h.add_service("new", replicas=2, EndpointSpec={"Ports": [{"TargetPort": 80}]})
    h.add_node("d")
    bad = h.add_service("bad", replicas=1)
    bad["Spec"]["Mode"] = {"Replicated": {"Replicas": "x"}}
    h.store.write([{"op": "update", "kind": "service", "object": bad}])
    return h


def everything(snap: Snapshot) -> list:
    return [snap.services, snap.nodes, snap.tasks, snap.networks, snap.attachments,
            snap.cluster]


def test_a_pass_changes_nothing_it_read(monkeypatch) -> None:
    h = busy()
    changed_by: list[str] = []

    def watched(name, stage):
        def run(snap: Snapshot, *args: object) -> list:
            before = copy.deepcopy(everything(snap))
            changes = stage(snap, *args)
            if everything(snap) != before:
                changed_by.append(name)
            return changes
        return run

    monkeypatch.setattr(loops, "STAGES", tuple((name, watched(name, stage))
                                               for name, stage in loops.STAGES))
    monkeypatch.setattr(loops, "record", watched("recording the failures", loops.record))
    view = h.store.view()
    read = copy.deepcopy(view.objects)
    written = h.run_pass()
    assert view.objects == read  # the very dicts the store handed the pass
    assert changed_by == []  # and what each stage was handed, earlier stages' changes too
    # ...and the pass did have work of every kind, so every stage was tried:
    done = {(c["op"], c["kind"]) for c in written}
    assert {("create", "task"), ("update", "task"), ("delete", "task"), ("update", "service"),
            ("update", "node")} <= done
    placed = [c["object"] for c in written if c["kind"] == "task" and c["op"] == "update"
              and c["object"]["ServiceID"] == "left"]
    assert sorted((t["Slot"], T.state_of(t)) for t in placed) == [(3, "assigned"),
                                                                   (4, "assigned")]
    [late] = [c["object"] for c in written if c["op"] == "update"
              and c["object"].get("ServiceID") == "removed-meanwhile"]
    assert late["DesiredState"] == "remove"
    assert FIELD in h.service("bad")
    assert h.stage_errors == {}


def test_the_pass_reads_the_store_once_and_writes_once() -> None:
    h = busy()
    calls: list[str] = []
    store = h.store

    class Counting:
        def view(self, kinds=None):
            calls.append("view")
            return store.view(kinds)

        def list(self, kind):
            calls.append("list")
            return store.list(kind)

        def get(self, kind, oid):
            calls.append("get")
            return store.get(kind, oid)

        def write(self, batch):
            calls.append("write")
            return store.write(batch)

    run_pass(Counting(), clock=h.clock)
    assert calls == ["view", "write"]


def test_each_object_is_written_once_at_the_version_the_pass_read() -> None:
    """A task made, allocated and scheduled within one pass is one create; a task told to
    stop is one update carrying the version read."""
    h = Harness()
    h.add_node("a")
    h.add_service("web", replicas=2)
    created = [c for c in h.run_pass() if c["kind"] == "task"]
    assert [c["op"] for c in created] == ["create", "create"]
    assert {T.state_of(c["object"]) for c in created} == {"assigned"}
    h.run_to_fixed_point()
    read = {t["ID"]: t["Version"] for t in h.tasks("web")}
    h.update_service("web", replicas=1)
    [stop] = [c for c in h.run_pass() if c["kind"] == "task"]
    assert stop["op"] == "update" and stop["object"]["DesiredState"] == "remove"
    assert stop["object"]["Version"] == read[stop["object"]["ID"]]


def test_a_write_that_conflicts_waits_for_the_next_pass() -> None:
    h = Harness()
    h.add_node("a")
    h.add_service("web", replicas=2)
    h.run_to_fixed_point()
    h.update_service("web", replicas=1)  # the pass will tell one task to go
    store = h.store
    raced = []

    class Racing:
        """A worker's status report lands between the pass's read and its write."""

        def view(self, kinds=None):
            return store.view(kinds)

        def write(self, batch):
            if not raced:
                [change] = [c for c in batch if c["op"] == "update"]
                raced.append(h.report(change["object"]["ID"], "running"))
            return store.write(batch)

    index = store.state.index
    with pytest.raises(StoreError) as err:
        run_pass(Racing(), clock=h.clock)
    assert err.value.code == "conflict"
    assert store.state.index == index + 1  # the report only: the pass wrote nothing
    run_pass(Racing(), clock=h.clock)  # the next pass reads the report and goes on
    assert len(h.tasks("web")) == 1


def test_time_comes_from_the_pass_clock() -> None:
    h = Harness()
    h.add_node("a")
    h.add_service("web", replicas=1, restart={"Condition": "any", "Delay": 30 * SECOND})
    h.clock.advance(3600)
    moment = h.clock.now
    [created] = [c for c in h.run_pass() if c["kind"] == "task"]
    assert created["object"]["Status"]["Timestamp"] == stamp(moment)
    h.run_to_fixed_point()
    h.fail(h.running("web")[0])
    h.advance(29)
    assert h.running("web") == []  # 29 s of fake time: the restart delay still runs
    h.advance(1)
    assert len(h.running("web")) == 1


def test_next_applies_changes_copy_on_write_and_changes_collapses_them() -> None:
    service = {"ID": "s", "Version": {"Index": 3}, "Spec": {"Name": "s"}}
    node = {"ID": "n", "Version": {"Index": 2}, "Spec": {}, "Status": {"State": "ready"}}
    old = {"ID": "t0", "Version": {"Index": 4}, "ServiceID": "s", "Slot": 1,
           "Status": {"State": "running"}, "DesiredState": "running"}
    snap = Snapshot({"s": service}, {"n": node}, [old], index=4)
    kept = copy.deepcopy((service, node, old))
    new = {"ID": "t1", "ServiceID": "s", "Slot": 1, "Status": {"State": "new"},
           "DesiredState": "running"}
    one = snap.next([T.create(new), T.update(T.with_fields(old, DesiredState="shutdown"))])
    assert [t["ID"] for t in one.tasks] == ["t0", "t1"] and snap.tasks == [old]
    assert one.tasks[1]["Version"] == {"Index": 5} and one.tasks[1]["CreatedAt"]
    two = one.next([T.delete(one.tasks[1]),
                    {"op": "update", "kind": "node", "object": {**node}},  # changes nothing
                    T.update(T.with_fields(one.tasks[0], DesiredState="remove"))])
    assert (service, node, old) == kept
    assert two.changes() == [{"op": "update", "kind": "task", "object": {
        **two.tasks[0], "Version": {"Index": 4}}}]
    assert two.tasks[0]["DesiredState"] == "remove"
    assert snap.next().changes() == []


def test_an_address_released_in_a_pass_is_not_handed_out_again_in_that_pass() -> None:
    """The pass writes at the end: the write releasing an address (here, a task deleted by an
    earlier stage) could fail while the one reusing it succeeds."""
    w = World()
    svc = w.service("web", networks=[BACKEND_ID])
    [held] = w.tasks_of(svc, 1)
    w.run(allocate)
    [address] = addresses_on(w.get("task", held["ID"]), BACKEND_ID)
    [new] = w.tasks_of(svc, 1)
    snap = Snapshot.read(MemoryStore({k: w.state.list(k) for k in KINDS}))
    after = snap.next([T.delete(held)])  # an earlier stage of the pass released it
    [change] = [c for c in allocate(after) if c["object"]["ID"] == new["ID"]]
    assert address not in addresses_on(change["object"], BACKEND_ID)
