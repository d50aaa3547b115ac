"""A node's assignments from the dispatcher's shared view (manager/dispatcher/assignments.py)
through its sessions: each node gets its own tasks, and a write that changes nothing of a
node's set (a node's labels, another node's task) sends that node nothing."""

from __future__ import annotations

from swarmlet.manager.dispatcher.assignments import AssignmentView, node_assignments, node_inputs
from swarmlet.manager.dispatcher.sessions import Sessions
from swarmlet.manager.sealing import DataKeys
from swarmlet.store.keyring import RaftKeyRing
from swarmlet.store.memory import MemoryStore

KEYS = DataKeys(RaftKeyRing.single("raft-key"))


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
        return node_assignments(AssignmentView.read(store), node_id, KEYS,
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


def counted_world() -> tuple[Store, Sessions, list[str], list[object]]:
    """Nodes n1, n2 on ingress (with addresses) and n3 on none; sessions that count the
    nodes they compute, with the dispatcher's inputs (a log broker token included)."""
    store, _ = world()
    ingress = {"ID": "ing", "Spec": {"Name": "ingress", "Ingress": True}}
    updates = []
    for i, node_id in enumerate(("n1", "n2"), 2):
        attached = store.get("node", node_id)
        attached["Attachments"] = [{"Network": {"ID": "ing"}, "Addresses": [f"10.0.0.{i}/24"]}]
        updates.append({"op": "update", "kind": "node", "object": attached})
    store.write([{"op": "create", "kind": "network", "object": ingress},
                 {"op": "create", "kind": "node", "object": node("n3")}, *updates])
    computed: list[str] = []
    logs: list[object] = [object()]
    views: list[AssignmentView] = []

    def view() -> AssignmentView:
        if not views or views[-1].index != store.index:
            views.append(AssignmentView.read(store, views[-1] if views else None))
        return views[-1]

    def compute(node_id: str) -> dict:
        computed.append(node_id)
        return node_assignments(view(), node_id, KEYS, lambda _services: [])

    sessions = Sessions(compute, lambda: True,
                        lambda node_id: node_inputs(view(), node_id, logs[0]))
    return store, sessions, computed, logs


def test_a_join_or_another_nodes_news_computes_no_other_node_again():
    store, sessions, computed, _ = counted_world()
    held = {n: sessions.poll(n, "", 0)["ResultsIn"] for n in ("n1", "n2", "n3")}
    computed.clear()
    store.write([{"op": "create", "kind": "node", "object": node("n4")}])
    moved = store.get("node", "n3")
    moved["Status"]["Addr"] = "198.18.0.99"
    store.write([{"op": "update", "kind": "node", "object": moved}])
    assert all(sessions.poll(n, held[n], 0)["Changes"] == {} for n in held)
    assert computed == ["n3"]  # its own node changed; nobody else's inputs did


def test_what_a_node_shares_with_others_still_reaches_it():
    store, sessions, computed, logs = counted_world()
    held = {n: sessions.poll(n, "", 0)["ResultsIn"] for n in ("n1", "n2", "n3")}
    moved = store.get("node", "n2")  # its underlay address is in n1's ingress peers
    moved["Status"]["Addr"] = "198.18.0.99"
    store.write([{"op": "update", "kind": "node", "object": moved}])
    change = sessions.poll("n1", held["n1"], 0)
    [ingress] = change["Changes"]["Networks"]["Update"]
    assert ingress["Peers"] == [{"IP": "10.0.0.3", "NodeAddr": "198.18.0.99"}]
    held["n1"] = change["ResultsIn"]
    store.write([{"op": "create", "kind": "network", "object": {
        "ID": "att", "Spec": {"Name": "shared", "Attachable": True}}}])
    for node_id in ("n1", "n3"):
        change = sessions.poll(node_id, held[node_id], 0)
        assert [n["ID"] for n in change["Changes"]["AttachableNetworks"]["Update"]] == ["att"]
        held[node_id] = change["ResultsIn"]
    computed.clear()
    logs[0] = object()  # the log broker's subscriptions changed: everyone looks again
    assert sessions.poll("n3", held["n3"], 0)["Changes"] == {}
    assert computed == ["n3"]
