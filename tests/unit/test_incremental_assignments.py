"""Incremental assignments (protocol/assignments.py, manager/dispatcher/sessions.py): a node
gets its whole set once, then only what changed, as soon as it changed; what it rebuilds is
what a complete answer would have held."""

from __future__ import annotations

import threading
import time

from swarmlet.manager.dispatcher.sessions import Sessions
from swarmlet.protocol.assignments import apply_changes, changes, keyed, listed


def task(tid: str, state: str = "running") -> dict:
    return {"ID": tid, "ServiceID": "s1", "Slot": 1, "NodeID": "n1",
            "Status": {"State": state}, "DesiredState": "running"}


def lists(*tasks: dict, services: list[dict] | None = None) -> dict:
    return {"Tasks": list(tasks), "Networks": [], "Services": services or [],
            "HostPorts": [], "Secrets": [], "Attachments": [], "AttachableNetworks": [],
            "LogSubscriptions": []}


def test_changes_applied_to_the_old_set_give_the_new_one():
    old = keyed(lists(task("a"), task("b"), services=[{"ID": "s2", "Name": "web"}]))
    new = keyed(lists(task("a", "failed"), task("c"),
                      services=[{"ID": "s1", "Name": "api"}, {"ID": "s2", "Name": "web"}]))
    delta = changes(old, new)
    assert delta["Tasks"]["Remove"] == ["b"]
    assert sorted(t["ID"] for t in delta["Tasks"]["Update"]) == ["a", "c"]
    assert delta["Services"] == {"Update": [{"ID": "s1", "Name": "api"}], "Remove": []}
    assert "Networks" not in delta  # unchanged sections are not sent
    assert listed(apply_changes(old, delta)) == listed(new)
    # Services are listed by name, as the dispatcher sorts them.
    assert [s["Name"] for s in listed(new)["Services"]] == ["api", "web"]


class World:
    def __init__(self) -> None:
        self.tasks = [task("a")]
        self.computed = 0

    def compute(self, node_id: str) -> dict:
        self.computed += 1
        return lists(*self.tasks)


def test_a_node_gets_its_set_once_then_only_what_changed():
    world = World()
    sessions = Sessions(world.compute, lambda: True)
    first = sessions.poll("n1", "", wait=0)
    assert first["Type"] == "complete" and [t["ID"] for t in first["Tasks"]] == ["a"]
    quiet = sessions.poll("n1", first["ResultsIn"], wait=0.05)
    assert quiet == {"Type": "incremental", "AppliesTo": first["ResultsIn"],
                     "ResultsIn": first["ResultsIn"], "Changes": {}}
    world.tasks.append(task("b"))
    sessions.notify()
    second = sessions.poll("n1", first["ResultsIn"], wait=1)
    assert second["Type"] == "incremental"
    assert second["Changes"] == {"Tasks": {"Update": [task("b")], "Remove": []}}
    # A node that holds another set (it restarted) gets a complete one again.
    again = sessions.poll("n1", "elsewhere.7", wait=0)
    assert again["Type"] == "complete" and len(again["Tasks"]) == 2


def test_a_waiting_poll_answers_when_a_change_is_notified_not_at_its_deadline():
    world = World()
    sessions = Sessions(world.compute, lambda: True)
    seq = sessions.poll("n1", "", wait=0)["ResultsIn"]
    answers: list[dict] = []
    waiting = threading.Thread(target=lambda: answers.append(sessions.poll("n1", seq, 20)))
    started = time.monotonic()
    waiting.start()
    while world.computed < 2:  # the poll has looked once and waits
        time.sleep(0.01)
    sessions.notify()  # a change that is not this node's: it keeps waiting
    time.sleep(0.1)
    assert not answers
    world.tasks = []
    sessions.notify()
    waiting.join(5)
    assert answers and answers[0]["Changes"] == {"Tasks": {"Update": [], "Remove": ["a"]}}
    assert time.monotonic() - started < 5


def test_a_manager_that_stops_leading_ends_the_polls():
    world = World()
    leading = [True]
    sessions = Sessions(world.compute, lambda: leading[0])
    seq = sessions.poll("n1", "", wait=0)["ResultsIn"]
    answers: list[dict] = []
    waiting = threading.Thread(target=lambda: answers.append(sessions.poll("n1", seq, 20)))
    waiting.start()
    while world.computed < 2:
        time.sleep(0.01)
    leading[0] = False
    sessions.reset()
    waiting.join(5)
    assert answers == [{"Type": "incremental", "AppliesTo": seq, "ResultsIn": seq,
                        "Changes": {}}]  # its next poll is told where the leader is
    leading[0] = True
    assert sessions.poll("n1", seq, wait=0)["Type"] == "complete"  # sent anew after a reset


def test_what_was_sent_to_a_removed_node_is_forgotten():
    world = World()
    sessions = Sessions(world.compute, lambda: True)
    seq = sessions.poll("n1", "", wait=0)["ResultsIn"]
    sessions.keep_only({"n1"})
    assert sessions.poll("n1", seq, wait=0)["Changes"] == {}  # still known
    sessions.keep_only({"n2"})
    assert sessions.poll("n1", seq, wait=0)["Type"] == "complete"  # forgotten: sent anew
