"""A node's assignments from the dispatcher's shared view (manager/dispatcher/assignments.py)
through its sessions: each node gets its own tasks, and a write that changes nothing of a
node's set (a node's labels, another node's task) sends that node nothing."""

from __future__ import annotations

from swarmlet.manager.dispatcher.assignments import AssignmentView, node_assignments
from swarmlet.manager.dispatcher.sessions import Sessions
from swarmlet.store.memory import MemoryStore


class Store(MemoryStore):
    @property
    def index(self) -> int:
        return self.state.index


def node(node_id: str) -> dict:
    return {"ID": node_id, "Spec": {"Role": "worker", "Availability": "active", "Labels": {}},
            "Status": {"State": "ready", "Addr": f"198.18.0.{node_id[-1]}"}}


def task(task_id: str, node_id: str) -> dict:
    return {"ID": task_id, "ServiceID": "s1", "ServiceAnnotations": {"Name": "web"},
            "Slot": int(task_id[-1]), "NodeID": node_id, "DesiredState": "running",
            "Status": {"State": "running"}, "Spec": {"ContainerSpec": {"Image": "img"}}}


def world() -> tuple[Store, Sessions]:
    store = Store()
    store.write([{"op": "create", "kind": "node", "object": node(n)} for n in ("n1", "n2")]
                + [{"op": "create", "kind": "service", "object": {
                    "ID": "s1", "Spec": {"Name": "web", "TaskTemplate": {}}}}]
                + [{"op": "create", "kind": "task", "object": task(t, n)}
                   for t, n in (("t1", "n1"), ("t2", "n2"))])

    def compute(node_id: str) -> dict:
        return node_assignments(AssignmentView.read(store), node_id, b"k" * 32,
                                lambda _services: [])

    return store, Sessions(compute, lambda: True)


def test_each_node_gets_its_own_tasks():
    _, sessions = world()
    assert [t["ID"] for t in sessions.poll("n1", "", 0)["Tasks"]] == ["t1"]
    assert [t["ID"] for t in sessions.poll("n2", "", 0)["Tasks"]] == ["t2"]


def test_a_write_that_changes_nothing_of_a_nodes_set_sends_it_nothing():
    store, sessions = world()
    seq1, seq2 = (sessions.poll(n, "", 0)["ResultsIn"] for n in ("n1", "n2"))
    labelled = store.get("node", "n1")
    labelled["Spec"]["Labels"] = {"zone": "a"}
    store.write([{"op": "update", "kind": "node", "object": labelled}])
    store.write([{"op": "create", "kind": "task", "object": task("t3", "n2")}])
    assert sessions.poll("n1", seq1, 0)["Changes"] == {}
    change = sessions.poll("n2", seq2, 0)
    assert [t["ID"] for t in change["Changes"]["Tasks"]["Update"]] == ["t3"]
    assert change["Changes"]["Tasks"]["Remove"] == []
