"""Store watches: filtering, copies, closing, and never blocking the publisher."""

from __future__ import annotations

import threading
import time

import pytest

from swarmlet.store.watch import Event, WatchClosed, WatchHub


def ev(kind: str, n: int) -> Event:
    return Event(kind, "create", {"ID": f"{kind}{n}", "Spec": {"n": n}}, None)


def test_filtering_and_order() -> None:
    hub = WatchHub()
    tasks = hub.subscribe({"task"})
    everything = hub.subscribe()
    hub.publish([ev("task", 1), ev("node", 1), ev("task", 2)])
    assert [e.object["ID"] for e in (tasks.get(0), tasks.get(0))] == ["task1", "task2"]
    assert tasks.get(timeout=0.01) is None
    assert [everything.get(0).object["ID"] for _ in range(3)] == ["task1", "node1", "task2"]


def test_each_watcher_gets_its_own_copy() -> None:
    hub = WatchHub()
    a, b = hub.subscribe(), hub.subscribe()
    original = ev("service", 1)
    hub.publish([original])
    got = a.get(0)
    got.object["Spec"]["n"] = 99
    assert b.get(0).object["Spec"]["n"] == 1
    assert original.object["Spec"]["n"] == 1


def test_close_ends_iteration_and_wakes_reader() -> None:
    hub = WatchHub()
    w = hub.subscribe()
    seen: list[str] = []
    got_one = threading.Event()

    def reader() -> None:
        for event in w:
            seen.append(event.object["ID"])
            got_one.set()

    t = threading.Thread(target=reader)
    t.start()
    hub.publish([ev("task", 1)])
    # Close only once the reader has the event (close drops what is still queued), however
    # slow the machine: wait for that, not for a fixed time.
    assert got_one.wait(10)
    w.close()
    t.join(2)
    assert not t.is_alive() and seen == ["task1"]
    assert len(hub) == 0
    with pytest.raises(WatchClosed):
        w.get(0)


def test_slow_watcher_is_dropped_not_waited_for() -> None:
    hub = WatchHub(maxsize=10)
    slow, fast = hub.subscribe(), hub.subscribe(maxsize=10_000)
    start = time.monotonic()
    hub.publish(ev("task", i) for i in range(5000))
    assert time.monotonic() - start < 1.0
    assert slow.closed and not fast.closed
    with pytest.raises(WatchClosed) as err:
        slow.get(0)
    assert err.value.missed and "fell behind" in str(err.value)
    with pytest.raises(WatchClosed):
        next(iter(slow))
    assert sum(1 for _ in iter(lambda: fast.get(0), None)) == 5000
    assert len(hub) == 1


def test_close_all_missed_makes_iterators_raise() -> None:
    hub = WatchHub()
    w = hub.subscribe({"node"})
    hub.close_all("store state replaced by a snapshot", missed=True)
    with pytest.raises(WatchClosed) as err:
        list(w)
    assert err.value.missed
    with pytest.raises(Exception, match="invalid object kind"):
        hub.subscribe({"volume"})
