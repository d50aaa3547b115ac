"""RaftStore with real pysyncobj nodes on 127.0.0.1 (one process, free ports, tmp dirs)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import wait_for
from swarmlet.store.journal import DurableJournal
from swarmlet.store.objects import new_id
from swarmlet.store.raft import NO_LEADER, NoLeader, RaftStore, UnknownOutcome
from swarmlet.store.state import StoreError

PASSWORD = "test-raft-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """Starts RaftStores and closes every one of them at teardown."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.started: list[RaftStore] = []

    def addrs(self, n: int) -> list[str]:
        return [f"127.0.0.1:{free_port()}" for _ in range(n)]

    def start(self, addr: str, partners: list[str], **options: object) -> RaftStore:
        store = RaftStore(addr, partners, self.dir(addr), PASSWORD, **options)
        self.started.append(store)
        return store

    def force_new(self, addr: str, **options: object) -> RaftStore:
        store = RaftStore.force_new_cluster(addr, self.dir(addr), PASSWORD, **options)
        self.started.append(store)
        return store

    def dir(self, addr: str) -> Path:
        return self.root / addr.replace(":", "_")

    def three(self, **options: object) -> list[RaftStore]:
        addrs = self.addrs(3)
        stores = [self.start(a, [p for p in addrs if p != a], **options) for a in addrs]
        leader_of(stores)
        return stores


def leader_of(stores: list[RaftStore]) -> RaftStore:
    return wait_for(lambda: next((s for s in stores if s.is_leader() and s.has_quorum()), None),
                    what="a leader")


def follower_of(stores: list[RaftStore]) -> RaftStore:
    return next(s for s in stores if not s.is_leader())


def svc(name: str) -> dict:
    return {"op": "create", "kind": "service",
            "object": {"ID": new_id(), "Spec": {"Name": name}}}


def everywhere(stores: list[RaftStore], oid: str, index: int | None = None) -> None:
    def ok() -> bool:
        objs = [s.get("service", oid) for s in stores]
        return all(o is not None and (index is None or o["Version"]["Index"] == index)
                   for o in objs)
    wait_for(ok, what=f"service {oid} on every store")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    yield c
    for store in c.started:
        store.close()


def test_follower_write_is_applied_on_all(cluster: Cluster) -> None:
    stores = cluster.three()
    follower = follower_of(stores)
    watch = stores[0].watch({"service"})
    [obj] = follower.write([svc("web")])
    everywhere(stores, obj["ID"], obj["Version"]["Index"])
    event = watch.get(timeout=5)
    assert event is not None and event.op == "create" and event.object == obj

    obj["Spec"]["Labels"] = {"x": "1"}
    [new] = follower.write([{"op": "update", "kind": "service", "object": obj}])
    everywhere(stores, obj["ID"], new["Version"]["Index"])
    # State-machine errors come back through Raft with their codes; nothing changes.
    with pytest.raises(StoreError, match="update out of sequence") as err:
        follower.write([{"op": "update", "kind": "service", "object": obj}])
    assert err.value.code == "conflict"
    with pytest.raises(StoreError, match="name conflicts with an existing object"):
        leader_of(stores).write([svc("other"), svc("WEB")])
    assert all(s.find_by_name("service", "other") is None for s in stores)
    index, view, watch2 = stores[2].view_and_watch({"service"})
    assert index == stores[2].index and [o["ID"] for o in view["service"]] == [obj["ID"]]
    [third] = follower.write([svc("third")])
    assert watch2.get(timeout=5).object == third
    status = follower.status()
    assert sorted(status["members"]) == sorted(s.self_addr for s in stores)
    assert status["members"][status["leader"]] == "leader"
    assert sorted(status["members"].values()) == ["leader", "reachable", "reachable"]


def test_leader_failover(cluster: Cluster) -> None:
    stores = cluster.three()
    old = leader_of(stores)
    [obj] = follower_of(stores).write([svc("before")])
    survivors = [s for s in stores if s is not old]
    everywhere(survivors, obj["ID"])
    old.close()
    start = time.monotonic()

    def write_once() -> dict | None:
        try:
            return survivors[0].write([svc(f"after-{new_id()}")], timeout=2)
        except StoreError:
            return None

    [after] = wait_for(write_once, timeout=15, what="a write after failover")
    elapsed = time.monotonic() - start
    assert elapsed < 8, elapsed
    new = leader_of(survivors)
    assert new.self_addr != old.self_addr
    everywhere(survivors, after["ID"])
    assert survivors[1].status()["members"][old.self_addr] == "unreachable"


def test_no_quorum_raises_no_leader_in_time(cluster: Cluster) -> None:
    stores = cluster.three()
    last = follower_of(stores)
    for s in stores:
        if s is not last:
            s.close()
    start = time.monotonic()
    with pytest.raises(NoLeader) as err:
        last.write([svc("lonely")], timeout=2)
    elapsed = time.monotonic() - start
    assert str(err.value) == NO_LEADER == (
        "The swarm does not have a leader. It's possible that too few managers are online. "
        "Make sure more than half of the managers are online.")
    assert err.value.code == "no_leader"
    assert 1.9 < elapsed < 3.5, elapsed
    assert not last.has_quorum()


def test_restart_comes_back_from_disk(cluster: Cluster) -> None:
    # A small snapshot interval so the restart goes through the dump and the journal.
    stores = cluster.three(snapshot_entries=20)
    writer = follower_of(stores)
    ids = [writer.write([svc(f"s{i}")])[0]["ID"] for i in range(60)]
    for s in stores:
        everywhere([s], ids[-1])
    addrs = [s.self_addr for s in stores]
    for s in stores:
        s.close()
    assert all((cluster.dir(a) / "raft.dump").exists() for a in addrs)
    again = [cluster.start(a, [p for p in addrs if p != a], snapshot_entries=20) for a in addrs]
    for s in again:
        wait_for(lambda s=s: len(s.list("service")) == 60, what="state replayed")
    assert {o["ID"] for o in again[0].list("service")} == set(ids)
    [more] = leader_of(again).write([svc("after-restart")])
    everywhere(again, more["ID"])
    assert again[1].index == again[0].index == 61


def test_add_member_grows_one_to_three(cluster: Cluster) -> None:
    a_addr, b_addr, c_addr = cluster.addrs(3)
    a = cluster.start(a_addr, [])
    wait_for(a.is_leader, what="single leader")
    [first] = a.write([svc("first")])
    a.add_member(b_addr)  # 1 -> 2: returns before the new member is up
    b = cluster.start(b_addr, [a_addr])
    everywhere([a, b], first["ID"])
    with pytest.raises(StoreError, match="already a member"):
        a.add_member(b_addr)
    b.add_member(c_addr)  # through a follower: forwarded to the leader, waits for commit
    c = cluster.start(c_addr, [a_addr, b_addr])
    [second] = c.write([svc("second")])
    everywhere([a, b, c], second["ID"])
    everywhere([c], first["ID"])
    for s in (a, b, c):
        assert s.members() == sorted([a_addr, b_addr, c_addr])


def test_remove_member(cluster: Cluster) -> None:
    stores = cluster.three()
    leader = leader_of(stores)
    dead, alive = [s for s in stores if s is not leader]
    dead.close()
    wait_for(lambda: leader.status()["members"][dead.self_addr] == "unreachable",
             what="dead member unreachable")
    # Removing a live member would leave 1 reachable of 2: refused, Docker's words.
    with pytest.raises(StoreError) as err:
        leader.remove_member(alive.self_addr)
    assert str(err.value) == ("can't remove member from the raft: "
                              "this would result in a loss of quorum")
    leader.remove_member(dead.self_addr, timeout=5)
    assert leader.members() == sorted([leader.self_addr, alive.self_addr])
    wait_for(lambda: alive.members() == leader.members(), what="membership on the follower")
    [obj] = alive.write([svc("two-members")])
    # The leader removes itself: it hands leadership over first.
    leader.remove_member(leader.self_addr, timeout=10)
    wait_for(lambda: alive.is_leader() and alive.members() == [alive.self_addr],
             what="the follower alone")
    leader.close()
    [last] = alive.write([svc("alone")])
    assert alive.get("service", obj["ID"]) and alive.get("service", last["ID"])
    with pytest.raises(StoreError, match="not a member"):
        alive.remove_member(dead.self_addr)


def test_force_new_cluster_keeps_objects(cluster: Cluster) -> None:
    stores = cluster.three(snapshot_entries=20)  # so the dump holds the old membership
    survivor = follower_of(stores)
    ids = [leader_of(stores).write([svc(f"s{i}")])[0]["ID"] for i in range(40)]
    everywhere(stores, ids[-1])
    addrs = [s.self_addr for s in stores]
    for s in stores:
        s.close()
    alone = cluster.force_new(survivor.self_addr)
    wait_for(lambda: alone.is_leader() and alone.has_quorum(), what="self-elected leader")
    assert alone.members() == [survivor.self_addr]
    assert {o["ID"] for o in alone.list("service")} == set(ids)
    [new] = alone.write([svc("after-force")], timeout=5)
    # A later ordinary restart, even with the old partners, stays a one-member cluster.
    alone.close()
    again = cluster.start(survivor.self_addr, [a for a in addrs if a != survivor.self_addr])
    wait_for(lambda: again.is_leader(), what="leader after restart")
    assert again.members() == [survivor.self_addr]
    assert again.get("service", new["ID"]) is not None
    again.write([svc("still-writable")], timeout=5)


def test_a_store_made_on_a_short_lived_thread_keeps_working(tmp_path):
    """pysyncobj stops ticking when the thread that created it ends; an API request thread
    creates the store at `swarm init`, so the store must outlive it."""
    made: list[RaftStore] = []
    port = free_port()
    thread = threading.Thread(target=lambda: made.append(
        RaftStore(f"127.0.0.1:{port}", [], tmp_path, PASSWORD)))
    thread.start()
    thread.join()
    store = made[0]
    try:
        time.sleep(1.5)
        store.write([{"op": "create", "kind": "node", "object": {"ID": "n1", "Spec": {}}}],
                    timeout=10)
        assert store.get("node", "n1") is not None
    finally:
        store.close()


def test_a_raft_port_taken_says_why(tmp_path):
    """pysyncobj keeps only "BindError": the error says what the system said, so a manager
    that cannot come back tells its operator (and its machine's log) why."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(StoreError, match=f"raft cannot listen on 127.0.0.1:{port}: "
                                             r"\[Errno 98\] Address already in use"):
            RaftStore(f"127.0.0.1:{port}", [], tmp_path, PASSWORD)


def test_barrier_returns_once_earlier_writes_are_applied(tmp_path):
    port = free_port()
    store = RaftStore(f"127.0.0.1:{port}", [], tmp_path, PASSWORD)
    try:
        store.write([{"op": "create", "kind": "node", "object": {"ID": "n1", "Spec": {}}}],
                    timeout=10)
        before = store.index
        store.barrier(timeout=10)
        assert store.index == before  # it changes nothing
        assert store.get("node", "n1") is not None
    finally:
        store.close()


def test_a_manager_alone_commits_each_write_at_once(cluster: Cluster) -> None:
    """A single manager has no peer whose answer ends pysyncobj's 50 ms wait between the
    tick that appends an entry and the one that commits it: 20 writes took a second."""
    [addr] = cluster.addrs(1)
    store = cluster.start(addr, [])
    wait_for(store.is_leader, what="a leader")
    started = time.monotonic()
    for n in range(20):
        store.write([svc(f"s{n}")], timeout=5)
    assert time.monotonic() - started < 0.5


class SyncedIndexes:
    """The highest Raft index each member's journal had fdatasync'd, recorded as it syncs
    (a spy around the real DurableJournal.sync)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.by_journal: dict[str, int] = {}
        real_sync = DurableJournal.sync
        spy = self

        def sync(journal: DurableJournal) -> None:
            last = journal[len(journal) - 1][1] if journal._dirty and len(journal) else None
            real_sync(journal)
            if last is not None:
                path = str(journal.path)
                spy.by_journal[path] = max(spy.by_journal.get(path, 0), last)
        monkeypatch.setattr(DurableJournal, "sync", sync)

    def holding(self, stores: list[RaftStore], marker: bytes) -> int:
        """How many members have the entry that contains `marker` on disk now."""
        count = 0
        for store in stores:
            journal = store._obj._SyncObj__raftLog
            index = next((journal[i][1] for i in range(len(journal) - 1, -1, -1)
                          if marker in journal[i][0]), None)
            if index is not None and self.by_journal.get(str(journal.path), 0) >= index:
                count += 1
        return count


def test_a_write_is_answered_once_a_majority_has_it_on_disk(cluster: Cluster,
                                                             monkeypatch) -> None:
    """Acknowledged means durable on a quorum: when write() returns, at least 2 of the 3
    members have fdatasync'd the entry (the leader counts itself only once synced)."""
    synced = SyncedIndexes(monkeypatch)
    stores = cluster.three()
    for n in range(30):
        writer = leader_of(stores) if n % 2 else follower_of(stores)
        made = svc(f"durable{n}")
        writer.write([made])
        assert synced.holding(stores, made["object"]["ID"].encode()) >= 2, n


def test_a_manager_alone_answers_a_write_once_it_is_on_its_disk(cluster: Cluster,
                                                                monkeypatch) -> None:
    synced = SyncedIndexes(monkeypatch)
    [addr] = cluster.addrs(1)
    store = cluster.start(addr, [])
    wait_for(store.is_leader, what="a leader")
    for n in range(10):
        made = svc(f"alone{n}")
        store.write([made], timeout=5)
        assert synced.holding([store], made["object"]["ID"].encode()) == 1, n


def test_a_stranger_on_the_raft_port_is_cut_off_and_costs_no_leadership(cluster: Cluster
                                                                          ) -> None:
    """Garbage and oversized frames from a host without the key, for 2 s: each connection
    is dropped after its frame's length, the leader stays, and writes go on."""
    stores = cluster.three()
    leader = leader_of(stores)
    host, port = leader.self_addr.rsplit(":", 1)
    term = leader.status()["term"]
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall((15 * 1024 * 1024).to_bytes(4, "little") + b"\0" * 65536)
        sock.settimeout(2)
        started = time.monotonic()
        closed = False
        with contextlib.suppress(ConnectionResetError):
            closed = sock.recv(1) == b""
        assert closed and time.monotonic() - started < 1.5
    stop = time.monotonic() + 2.0
    written = 0
    while time.monotonic() < stop:
        with socket.create_connection((host, int(port)), timeout=5) as sock, \
                contextlib.suppress(OSError):
            sock.sendall(os.urandom(4096))
        leader.write([svc(f"flood{written}")], timeout=1)
        written += 1
    assert written > 20
    assert leader.is_leader() and leader.status()["term"] == term


def test_a_write_the_leader_could_not_commit_says_its_outcome_is_unknown(cluster: Cluster
                                                                         ) -> None:
    """The leader appended it, then lost its followers: the write is not "no leader" (it is
    in the leader's log, and a new leader holding it would commit it)."""
    stores = cluster.three()
    leader = leader_of(stores)
    for store in stores:
        if store is not leader:
            store.close()
    with pytest.raises(UnknownOutcome) as err:
        leader.write([svc("maybe")], timeout=1)
    assert err.value.code == "unknown_outcome"
    assert "may or may not have taken effect" in str(err.value)
