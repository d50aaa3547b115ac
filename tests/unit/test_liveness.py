"""Node liveness on the leader (manager/dispatcher/heartbeats.py, protocol/heartbeat.py) on a
fake clock: a node that goes silent is marked down within 0.7 of a period (at least 3 s), one
that said its agent restarts gets 3 periods, and a new leader gives everyone time to find it."""

from __future__ import annotations

from memory_store import MemoryStore

from swarmlet.manager.dispatcher.heartbeats import Liveness
from swarmlet.protocol.heartbeat import beat_interval, down_after, heartbeat_timeout

SECOND = 10**9


class Store(MemoryStore):
    leader = True

    def is_leader(self) -> bool:
        return self.leader

    def leads(self) -> bool:
        return self.leader

    def write(self, batch: list[dict], timeout: float = 0) -> list[dict]:
        return super().write(batch)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def world(period: float = 5.0) -> tuple[Store, Clock, Liveness]:
    store, clock = Store(), Clock()
    store.create("cluster", {"ID": "c", "Spec": {"Dispatcher": {
        "HeartbeatPeriod": int(period * SECOND)}}})
    for node_id in ("n1", "n2"):
        store.create("node", {"ID": node_id, "Spec": {"Role": "worker"},
                              "Status": {"State": "unknown"}})
    liveness = Liveness(store, period, clock)
    liveness.check_liveness()  # starts leading: the grace of a new leader begins now
    clock.now += heartbeat_timeout(period) + beat_interval(period)
    for node_id in ("n1", "n2"):
        liveness.heartbeat(node_id, f"198.18.0.{node_id[-1]}")
    return store, clock, liveness


def state(store: Store, node_id: str) -> str:
    return store.get("node", node_id)["Status"]["State"]


def test_the_timing_at_dockers_default_period_and_at_the_tests_one():
    assert (beat_interval(5), down_after(5)) == (1.0, 3.5)
    assert (beat_interval(1), down_after(1)) == (0.5, 3.0)
    assert heartbeat_timeout(5) < down_after(5)
    # A large swarm beats at the leader's pace: 1,000 beats a second at most.
    assert (beat_interval(5, 1000), down_after(5, 1000)) == (1.0, 3.5)
    assert (beat_interval(5, 5000), down_after(5, 5000)) == (5.0, 17.5)


def test_a_silent_node_is_down_once_it_missed_its_beats_and_not_before():
    store, clock, liveness = world()
    assert state(store, "n1") == "ready"
    for _ in range(10):  # n2 beats every second; n1 has gone quiet
        clock.now += 0.5
        liveness.heartbeat("n2", "198.18.0.2")
        liveness.check_liveness()
        if clock.now - 1000 - heartbeat_timeout(5) - beat_interval(5) <= down_after(5):
            assert state(store, "n1") == "ready"
    assert state(store, "n1") == "down"
    assert store.get("node", "n1")["Status"]["Message"] == "heartbeat failure"
    assert state(store, "n2") == "ready"
    liveness.heartbeat("n1", "198.18.0.1")  # back: ready again
    assert state(store, "n1") == "ready"


def test_an_agent_that_says_it_restarts_gets_three_periods():
    store, clock, liveness = world()
    liveness.heartbeat("n1", "198.18.0.1", restarting=True)
    clock.now += 14.0
    liveness.heartbeat("n2", "198.18.0.2")
    liveness.check_liveness()
    assert state(store, "n1") == "ready"
    clock.now += 1.5
    liveness.heartbeat("n2", "198.18.0.2")
    liveness.check_liveness()
    assert state(store, "n1") == "down"


def test_a_follower_marks_nobody_down():
    store, clock, liveness = world()
    store.leader = False
    clock.now += 60
    liveness.check_liveness()
    assert state(store, "n1") == state(store, "n2") == "ready"


def test_nodes_coming_up_are_marked_ready_in_one_batch():
    from swarmlet.manager.dispatcher.ready_writer import ReadyWriter

    store, _, _ = world()
    store.create("node", {"ID": "n3", "Spec": {"Role": "worker"},
                          "Status": {"State": "down"}})
    writes = store.writes
    ready = ReadyWriter(store)
    ready.submit("n3", "198.18.0.3")
    ready.submit("n1", "198.18.0.9")  # a new address
    ready.submit("n2", "198.18.0.2")  # nothing new: not written
    assert ready.flush() == 2
    assert store.writes == writes + 1
    assert store.get("node", "n3")["Status"] == {"State": "ready", "Addr": "198.18.0.3"}
    assert store.get("node", "n1")["Status"]["Addr"] == "198.18.0.9"
    assert ready.flush() == 0 and store.writes == writes + 1


def test_a_node_that_just_joined_is_not_down_before_its_first_beat():
    store, clock, liveness = world()
    clock.now += 60  # the leader has led for long
    liveness.check_liveness()
    store.create("node", {"ID": "n4", "Spec": {"Role": "worker"},
                          "Status": {"State": "ready", "Addr": "198.18.0.4"}})  # as joined
    liveness.check_liveness()
    clock.now += 1.0
    liveness.check_liveness()
    assert state(store, "n4") == "ready"
    clock.now += down_after(5)  # and it never beat
    liveness.check_liveness()
    assert state(store, "n4") == "down"
