"""A follower that holds entries a cut-off leader never committed catches up with the new
leader (store/raft_catch_up.py), even when the leader is many AppendEntries batches ahead.

Two of a swarm's three managers run pysyncobj as the agent does (DurableSyncObj, its journal),
wired by an in-memory transport that the test drives tick by tick; the third is the old
leader, cut off. bench/chaos.py's partitions hit this: a follower stuck this way held no
entry after its conflicting ones, so the next cut left the swarm without a quorum for good.
"""

from __future__ import annotations

import pickle
import time
from collections import deque
from pathlib import Path
from typing import Any

import pytest
from pysyncobj import SyncObjConf
from pysyncobj.node import TCPNode
from pysyncobj.syncobj import _COMMAND_TYPE
from pysyncobj.transport import Transport

from swarmlet.store import durable_raft
from swarmlet.store.journal import DurableJournal

NEW, OLD, CUT = "127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"
NO_OP = bytes([_COMMAND_TYPE.NO_OP])


class Wire:
    """Messages in flight between the members, in order; a member not on it is cut off."""

    def __init__(self) -> None:
        self.queue: deque[tuple[str, str, bytes]] = deque()
        self.ends: dict[str, MemoryTransport] = {}

    def deliver(self) -> None:
        for _ in range(len(self.queue)):
            sender, to, data = self.queue.popleft()
            if to in self.ends:
                self.ends[to]._onMessageReceived(TCPNode(sender), pickle.loads(data))


class MemoryTransport(Transport):  # type: ignore[misc]
    def __init__(self, wire: Wire, me: str) -> None:
        super().__init__(None, TCPNode(me), [])
        self.wire, self.me = wire, me
        wire.ends[me] = self

    def send(self, node: Any, message: Any) -> bool:
        if node.address not in self.wire.ends:
            return False
        self.wire.queue.append((self.me, node.address, pickle.dumps(message)))
        return True


def journal(path: Path, terms: list[int], term: int, commit: int) -> str:
    """A journal file whose entry i+1 has term terms[i] (no-ops), with its term and commit."""
    durable_raft.install()
    made = DurableJournal(path)
    for index, entry_term in enumerate(terms, start=1):
        made.add(NO_OP, index, entry_term)
    made.setCurrentTerm(term, None)
    made.setRaftCommitIndex(commit)
    made._destroy()
    return str(path)


def member(wire: Wire, me: str, journal_file: str) -> durable_raft.DurableSyncObj:
    conf = SyncObjConf(autoTick=False, journalFile=journal_file, appendEntriesUseBatch=False,
                       appendEntriesPeriod=0.02, raftMinTimeout=0.1, raftMaxTimeout=0.2,
                       leaderFallbackTimeout=5.0, dynamicMembershipChange=True,
                       connectionRetryTime=0.1,  # the start-up grace before a vote
                       appendEntriesBatchSizeBytes=4)  # 4 one-byte entries a batch
    transport = MemoryTransport(wire, me)
    return durable_raft.DurableSyncObj(me, [a for a in (NEW, OLD, CUT) if a != me], conf,
                                       transport=transport)


def entries(obj: durable_raft.DurableSyncObj) -> list[tuple[int, int]]:
    log = obj._SyncObj__raftLog
    return [(log[i][1], log[i][2]) for i in range(len(log))]


@pytest.mark.parametrize(("follower_terms", "follower_commit"), [
    # Entries 1-10 committed by all; the follower then led alone, cut off, and appended
    # 11-12 at term 2 that nobody else has; meanwhile the others went on to 60 at term 3
    # and committed them. Now the third is cut off in turn: the leader needs this follower.
    ([1] * 10 + [2] * 2, 10),
    # Only behind (it was away), its last entries not yet known committed.
    ([1] * 10 + [3] * 5, 10),
], ids=["old-leaders-entries", "behind"])
def test_a_follower_catches_up_with_a_leader_many_batches_ahead(tmp_path, follower_terms,
                                                                  follower_commit):
    wire = Wire()
    new = member(wire, NEW, journal(tmp_path / "new", [1] * 10 + [3] * 50, 3, 60))
    old = member(wire, OLD, journal(tmp_path / "old", follower_terms, 2, follower_commit))
    try:
        for a, b in ((new, OLD), (old, NEW)):
            a._SyncObj__transport._onNodeConnected(TCPNode(b))
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and not (new._isLeader() and
                                                    entries(old) == entries(new)):
            new.doTick(0.0)
            old.doTick(0.0)
            wire.deliver()
            time.sleep(0.005)
        assert new._isLeader()
        assert entries(old) == entries(new), f"follower stuck at {entries(old)[-3:]}"
    finally:
        new.destroy()
        old.destroy()


def test_a_manager_that_starts_again_waits_for_the_leader_before_calling_a_vote(tmp_path):
    """Without the grace, a restarted member connected to another follower calls an election
    after its first timeout (0.1-0.2 s here), before the leader's reconnect (every 1 s)
    reaches it, and its higher term deposes a healthy leader."""
    wire = Wire()
    conf = SyncObjConf(autoTick=False, journalFile=journal(tmp_path / "r", [1] * 3, 1, 3),
                       appendEntriesUseBatch=False, appendEntriesPeriod=0.02,
                       raftMinTimeout=0.1, raftMaxTimeout=0.2, connectionRetryTime=1.0,
                       dynamicMembershipChange=True)
    restarted = durable_raft.DurableSyncObj(OLD, [NEW, CUT], conf,
                                            transport=MemoryTransport(wire, OLD))
    try:
        restarted._SyncObj__transport._onNodeConnected(TCPNode(CUT))  # a follower, not NEW
        deadline = time.monotonic() + 0.8
        while time.monotonic() < deadline:
            restarted.doTick(0.0)
            wire.deliver()
            time.sleep(0.01)
        assert restarted.raftCurrentTerm == 1  # no vote called yet
    finally:
        restarted.destroy()
