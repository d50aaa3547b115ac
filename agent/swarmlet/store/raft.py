"""RaftStore: the object store replicated over the managers with pysyncobj.

One SyncObj per manager. Writes are batches proposed through one @replicated method; every
replica applies them in log order to its StoreState and publishes watch events. Reads are
local (possibly stale on a follower, like any Raft read without read-index).

Threads: pysyncobj runs replicated methods and callbacks in its tick thread. Nothing here
blocks that thread; the synchronous calls (write, add/remove_member) wait on callbacks from
the caller's thread and refuse to run on the tick thread.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pysyncobj import FAIL_REASON, SyncObj, SyncObjConf, SyncObjConsumer, replicated
from pysyncobj.utility import TcpUtility, UtilityException

from swarmlet.errors import UNKNOWN_OUTCOME
from swarmlet.metrics import RAFT_APPLY
from swarmlet.store import durable_raft, raft_pickle, raft_wire
from swarmlet.store.group_commit import GroupCommit
from swarmlet.store.keyring import RaftKeyRing
from swarmlet.store.objects import clone, now_rfc3339
from swarmlet.store.recovery import drop_other_members
from swarmlet.store.state import StoreError, StoreState, View, check_batch
from swarmlet.store.watch import DEFAULT_QUEUE_SIZE, Event, Watch, WatchHub

NO_LEADER = ("The swarm does not have a leader. It's possible that too few managers are "
             "online. Make sure more than half of the managers are online.")
LOSS_OF_QUORUM = "can't remove member from the raft: this would result in a loss of quorum"
JOURNAL, DUMP = "raft.journal", "raft.dump"

# Failures that mean the command never entered the log: safe to propose again.
_NOT_PROPOSED = (FAIL_REASON.MISSING_LEADER, FAIL_REASON.NOT_LEADER)
_RETRY_PAUSE = 0.05


class NoLeader(StoreError):
    def __init__(self) -> None:
        super().__init__(NO_LEADER, "no_leader")


class UnknownOutcome(StoreError):
    """The write entered the log but its commit was not seen: it may yet take effect (a new
    leader that holds it commits it) or not. A client retries after checking: a create finds
    its object by name, an update finds the version it wrote."""

    def __init__(self, why: str) -> None:
        super().__init__(f"raft: {why}: {UNKNOWN_OUTCOME}; check before retrying",
                         "unknown_outcome")


@dataclass(frozen=True)
class RaftTimings:
    """Seconds. Failover takes about election_min..election_max after the leader goes.

    A follower starts an election after election_min..election_max without a heartbeat, so
    election_min is 5 heartbeats: a follower whose process is starved for half a second on a
    loaded host does not depose a healthy leader (bench/swarm_api.py checks this under a CPU
    load). The range is as wide as its floor, so two survivors rarely time out together and
    split the vote."""

    heartbeat: float = 0.1          # appendEntriesPeriod; must be < election_min / 3
    election_min: float = 0.5
    election_max: float = 1.0
    leader_fallback: float = 1.5    # a leader cut off from the majority steps down after this
    reachable_within: float = 1.0   # has_quorum: a member answered the leader within this
    connection_retry: float = 1.0   # reconnect period to members that are down


class _TruncationNoise(logging.Filter):
    """pysyncobj logs CRITICAL on harmless overlapping AppendEntries (libs.md 1.9.5)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("truncating already-applied log entries")


raft_wire.install()
raft_pickle.install()
durable_raft.install()
_sync_log = logging.getLogger("pysyncobj.syncobj")
if not any(isinstance(f, _TruncationNoise) for f in _sync_log.filters):
    _sync_log.addFilter(_TruncationNoise())


class _Replica(SyncObjConsumer):
    """The replicated part. Attributes set before SyncObjConsumer.__init__ stay out of
    snapshots; the snapshot is _serialize() (plain data, not the class layout)."""

    def __init__(self, hub: WatchHub) -> None:
        self.hub = hub
        self.lock = threading.Lock()  # apply (tick thread) vs. reads (other threads)
        super().__init__()
        self.state = StoreState()

    @replicated
    def apply_batch(self, batch: list[dict] | tuple[list[dict], ...], timestamp: str) -> Any:
        """One batch, or a group of them (a tuple: GroupCommit's), each applied on its own:
        one result per batch. Runs on every replica; must not raise: a failed batch is an
        ordinary result."""
        with self.lock:
            if isinstance(batch, tuple):
                return [self._apply(one, timestamp) for one in batch]
            return self._apply(batch, timestamp)

    def _apply(self, batch: list[dict], timestamp: str) -> tuple[str, Any]:
        try:
            # The batch was just unpickled from the log: its objects are this replica's own.
            changes = self.state.apply_changes(batch, timestamp, owned=True)
        except StoreError as err:
            return ("error", (err.code, str(err)))
        # Under the lock so view_and_watch() sees each change exactly once.
        self.hub.publish([Event(c.kind, c.op, c.object, c.old) for c in changes])
        return ("ok", [c.object for c in changes])

    def _serialize(self) -> dict:
        with self.lock:
            return {"state": self.state.snapshot()}

    def _deserialize(self, data: dict) -> None:
        state = StoreState()
        state.restore(data["state"])
        with self.lock:
            self.state = state
        # A snapshot install skips events: watchers must re-list.
        self.hub.close_all("store state replaced by a snapshot", missed=True)


def _check_addr(addr: str) -> str:
    host, sep, port = addr.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise StoreError(f"invalid raft address {addr!r}: want host:port", "invalid")
    if host in ("0.0.0.0", "::", "[::]", "*"):
        raise StoreError(f"raft must bind a concrete address, not {host}", "invalid")
    return addr


def _bind_failure(addr: str) -> str:
    """Why the address cannot be bound, as the system says it (pysyncobj keeps only
    "BindError"): a bind as pysyncobj's, tried once more."""
    host, _, port = addr.rpartition(":")
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host.strip("[]"), int(port)))
            probe.listen(1)
    except OSError as exc:
        return str(exc)
    return ""


class RaftStore:
    """This manager's replica of the cluster store."""

    def __init__(self, self_addr: str, partners: list[str], data_dir: Path,
                 password: str | RaftKeyRing, *,
                 timings: RaftTimings = RaftTimings(), snapshot_entries: int = 5000,
                 watch_queue: int = DEFAULT_QUEUE_SIZE) -> None:
        if not password:
            raise StoreError("raft traffic must be encrypted: a password is required", "invalid")
        self.self_addr = _check_addr(self_addr)
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)  # the journal and dump are pickles
        self.timings = timings
        # Raft traffic is sealed with the ring's key in use (store/raft_wire.py)
        self.keys = (password if isinstance(password, RaftKeyRing)
                     else RaftKeyRing.single(password))
        self._password = self.keys
        self._hub = WatchHub(watch_queue)
        self._replica = _Replica(self._hub)
        conf = SyncObjConf(
            bindAddress=self.self_addr,
            password=self.keys,
            appendEntriesUseBatch=False,    # ~1000 sync writes/s instead of ~10
            dynamicMembershipChange=True,
            commandsWaitLeader=False,       # fail fast with no leader; write() retries
            useFork=False,
            journalFile=str(self.data_dir / JOURNAL),
            fullDumpFile=str(self.data_dir / DUMP),
            logCompactionMinEntries=snapshot_entries,
            appendEntriesPeriod=timings.heartbeat,
            raftMinTimeout=timings.election_min,
            raftMaxTimeout=timings.election_max,
            connectionTimeout=max(3.5, timings.election_max),
            leaderFallbackTimeout=timings.leader_fallback,
            connectionRetryTime=timings.connection_retry,
            maxBindRetries=5,
        )
        peers = [_check_addr(p) for p in partners if p != self.self_addr]
        self._obj = self._start_owned(lambda: durable_raft.DurableSyncObj(
            self.self_addr, peers, conf, consumers=[self._replica]))
        self._closed = False
        self._group = GroupCommit(self._propose_group, NoLeader)
        self._proposed: set[object] = set()  # sync proposals of this replica not yet answered
        self._answered: list[threading.Event] = []  # proposers to wake at the tick's end
        self._wake_tick = getattr(self._obj, "_SyncObj__pipeNotifier", None)
        self._obj.addOnTickCallback(self._after_tick)
        try:
            self._obj.waitBinded()
        except Exception as err:
            self.close()
            raise StoreError(f"raft cannot listen on {self.self_addr}: "
                             f"{_bind_failure(self.self_addr) or err}", "bind") from err

    @classmethod
    def force_new_cluster(cls, self_addr: str, data_dir: Path, password: str | RaftKeyRing,
                          **options: Any) -> RaftStore:
        """Restart from this manager's own journal and dump as the only member, keeping every
        object (`docker swarm init --force-new-cluster`). The store must be closed first."""
        drop_other_members(Path(data_dir), _check_addr(self_addr), JOURNAL, DUMP)
        return cls(self_addr, [], data_dir, password, **options)

    # --- writes -------------------------------------------------------------------------

    def write(self, batch: list[dict], timeout: float = 10.0, *,
              copies: bool = True) -> list[dict]:
        """Commit a batch through Raft; returns the stored objects in batch order: copies,
        or with `copies=False` the stored objects themselves, read-only (for a caller that
        does not change them or does not look at them).
        Raises StoreError from the state machine, NoLeader without leader/quorum in time.
        Writes made at once from several threads share an entry (store/group_commit.py)."""
        check_batch(batch)
        start = time.monotonic()
        status, payload = self._group.submit(batch, timeout)
        RAFT_APPLY.observe(time.monotonic() - start)  # committed and applied here
        if status == "error":
            code, message = payload
            raise StoreError(message, code)
        return clone(payload) if copies else payload

    def _propose_group(self, batches: list[list[dict]], timeout: float) -> list[Any]:
        timestamp = now_rfc3339()  # chosen once by the proposer: replicas stay deterministic
        group = tuple(batches)
        return self._propose(
            lambda cb: self._replica.apply_batch(group, timestamp, callback=cb), timeout)

    def barrier(self, timeout: float = 10.0) -> None:
        """Return once every entry committed before this call is applied here. A new leader
        runs this before it acts on its replica: Raft gives it every committed entry, but
        not necessarily applied yet. (An empty batch: proposed, refused by every replica
        alike, and changes nothing.)"""
        self._propose(
            lambda cb: self._replica.apply_batch([], now_rfc3339(), callback=cb), timeout)

    def _propose(self, start: Callable[[Callable], None], timeout: float,
                 retry: tuple[int, ...] = _NOT_PROPOSED) -> Any:
        """Propose until committed; retries only failures that never reached the log."""
        self._check_thread()
        deadline = time.monotonic() + timeout
        while True:
            if self._closed:
                raise StoreError("the raft store is closed", "closed")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NoLeader()
            done = threading.Event()
            box: list[tuple[Any, int]] = []
            token = object()

            def callback(res: Any, err: int, box: list = box, done: threading.Event = done,
                         token: object = token) -> None:
                self._proposed.discard(token)
                box.append((res, err))
                if self._on_tick_thread():
                    self._answered.append(done)  # woken by _after_tick
                else:
                    done.set()

            self._proposed.add(token)
            in_own_log = self.is_leader()  # else forwarded to the leader this member knows
            start(callback)
            if not done.wait(remaining):
                self._proposed.discard(token)
                if not in_own_log and not self.has_quorum():
                    raise NoLeader()  # forwarded to a leader that is gone, most likely
                raise UnknownOutcome(f"the write was not committed within {timeout:g} s "
                                     "(too few managers answer the leader)")
            res, err = box[0]
            if err == FAIL_REASON.SUCCESS:
                return res
            if err in retry:
                time.sleep(min(_RETRY_PAUSE, max(0.0, deadline - time.monotonic())))
                continue
            if err == FAIL_REASON.QUEUE_FULL:
                raise StoreError("raft: too many pending proposals", "unavailable")
            # LEADER_CHANGED, DISCARDED, UNKNOWN_OUTCOME: it may or may not have committed.
            raise UnknownOutcome("failed to process the request: node lost leader status")

    def _after_tick(self) -> None:
        """In the tick thread, at the end of each tick, before it waits for the network.

        Proposers answered during the tick are woken here rather than from the callback:
        a woken proposer wants the GIL at once, and the tick still had its messages to
        send (the commit index, the next proposals), a GIL handover and back at each send.
        Woken here, they run while the tick thread waits."""
        if self._answered:
            answered, self._answered = self._answered, []
            for done in answered:
                done.set()
        self._commit_alone()

    def _commit_alone(self) -> None:
        """pysyncobj appends a proposal in one tick and commits it in the next, and between
        ticks it waits for a socket event up to autoTickPeriod (50 ms). With peers, their
        acknowledgement is that event; a manager alone gets none, so each of its writes took
        50 ms (a service create, a control pass and every task status report, one after the
        other). Alone, with a proposal of ours open, the next tick starts at once instead;
        idle, nothing changes."""
        if self._proposed and self._wake_tick is not None and self._obj._isLeader() \
                and not self._obj.otherNodes:
            self._wake_tick.notify()

    def _on_tick_thread(self) -> bool:
        return threading.current_thread() is getattr(self._obj, "_SyncObj__thread", None)

    def _check_thread(self) -> None:
        if self._on_tick_thread():
            raise RuntimeError("synchronous Raft call from the Raft thread would deadlock")

    # --- reads (local replica, copies) --------------------------------------------------

    def get(self, kind: str, oid: str) -> dict | None:
        with self._replica.lock:
            return self._replica.state.get(kind, oid)

    def peek(self, kind: str, oid: str) -> dict | None:
        """The stored object itself, not copied: read-only. For the hot paths (every
        request's access check, every heartbeat): one dict read, which needs no lock, and
        a stored object never changes (apply is copy-on-write)."""
        return self._replica.state.peek(kind, oid)

    def list(self, kind: str) -> list[dict]:
        with self._replica.lock:
            return self._replica.state.list(kind)

    def view(self, kinds: Iterable[str] | None = None) -> View:
        """Every object of `kinds` at one index, read atomically under the replica's lock and
        not copied (StoreState.view): the leader's pass reads its snapshot this way. The
        objects are the store's own: read-only."""
        with self._replica.lock:
            return self._replica.state.view(kinds)

    def find_by_name(self, kind: str, name: str) -> dict | None:
        with self._replica.lock:
            return self._replica.state.find_by_name(kind, name)

    @property
    def index(self) -> int:
        """Batches applied on this replica (the Version.Index of the newest write)."""
        return self._replica.state.index

    def watch(self, kinds: set[str] | None = None) -> Watch:
        return self._hub.subscribe(kinds)

    def view_and_watch(self, kinds: set[str] | None = None,
                       ) -> tuple[int, dict[str, list[dict]], Watch]:
        """Atomically: the current objects of `kinds` and a watch starting right after them
        (SwarmKit's ViewAndWatch), so a control loop neither misses nor repeats a change."""
        with self._replica.lock:
            watch = self._hub.subscribe(kinds)
            state = self._replica.state
            wanted = sorted(kinds) if kinds is not None else list(state.objects)
            return state.index, {k: state.list(k) for k in wanted}, watch

    # --- raft status --------------------------------------------------------------------

    def is_leader(self) -> bool:
        """Raft state only; leader-only work should also check has_quorum() (a cut-off
        leader believes it leads until leader_fallback)."""
        return bool(self._obj._isLeader())

    def leads(self) -> bool:
        """Leader with a quorum behind it now: what the leader's loops check before they act.
        A leader cut off from the majority stops acting within reachable_within, before
        Raft itself deposes it (leader_fallback) and before a new leader acts."""
        return self.is_leader() and self.has_quorum()

    def leader(self) -> str | None:
        node = self._obj._getLeader()
        return str(node) if node is not None else None

    def members(self) -> list[str]:
        return sorted([self.self_addr, *(str(n) for n in self._obj.otherNodes)])

    def _reachable(self) -> dict[str, bool]:
        """Per other member: the leader counts a member reachable when it answered within
        the last reachable_within (heartbeats go every `heartbeat`); others use the
        connection state, the only view a follower has."""
        others = self._obj.otherNodes
        if self.is_leader():
            # pysyncobj keeps the last AppendEntries answer per node for leaderFallbackTimeout.
            last = getattr(self._obj, "_SyncObj__lastResponseTime", {})
            horizon = time.monotonic() - self.timings.reachable_within
            return {str(n): last.get(n, 0.0) > horizon and self._obj.isNodeConnected(n)
                    for n in others}
        return {str(n): self._obj.isNodeConnected(n) for n in others}

    def has_quorum(self) -> bool:
        """A leader: heard from a majority recently. A follower: knows a leader and is
        connected to a majority."""
        reach = self._reachable()
        count = 1 + sum(reach.values())
        majority = count > (len(reach) + 1) / 2
        return majority if self.is_leader() else majority and self.leader() is not None

    def status(self) -> dict:
        """Raft status for `node ls` MANAGER STATUS: members map to leader, reachable or
        unreachable, from this manager's point of view."""
        leader = self.leader()
        members = {self.self_addr: "reachable"}
        members.update({a: "reachable" if ok else "unreachable"
                        for a, ok in self._reachable().items()})
        if leader in members:
            members[leader] = "leader"
        return {
            "self": self.self_addr,
            "leader": leader,
            "is_leader": self.is_leader(),
            "has_quorum": self.has_quorum(),
            "term": self._obj.raftCurrentTerm,
            "commit_index": self._obj.raftCommitIndex,
            "applied_index": self._obj.raftLastApplied,
            "store_index": self.index,
            "members": dict(sorted(members.items())),
            "key_epoch": self.keys.send_epoch,  # store/keyring.py: the Raft key in use
        }

    # --- membership ---------------------------------------------------------------------

    def add_member(self, addr: str, timeout: float = 10.0) -> None:
        """Add a manager to the Raft membership. Start it afterwards with all current
        members as partners. From a single member, this returns once the change is in
        effect locally: it can only commit once the new member is up (pysyncobj #51)."""
        addr = _check_addr(addr)
        if addr in self.members():
            raise StoreError(f"{addr} is already a member of the raft", "exists")
        if len(self.members()) == 1:
            self._obj.addNodeToCluster(addr, callback=lambda res, err: None)
            deadline = time.monotonic() + timeout
            while addr not in self.members():
                if time.monotonic() > deadline:
                    raise NoLeader()
                time.sleep(_RETRY_PAUSE)
            return
        # REQUEST_DENIED: the new leader's no-op or a previous change is not committed yet.
        self._propose(lambda cb: self._obj.addNodeToCluster(addr, callback=cb), timeout,
                      (*_NOT_PROPOSED, FAIL_REASON.REQUEST_DENIED))

    def remove_member(self, addr: str, timeout: float = 10.0) -> None:
        """Remove a manager from the Raft membership; close that store afterwards."""
        addr = _check_addr(addr)
        members = self.members()
        if addr not in members:
            raise StoreError(f"{addr} is not a member of the raft", "not_found")
        reachable = {self.self_addr} | {a for a, ok in self._reachable().items() if ok}
        # SwarmKit's CanRemoveMember: the members left must still hold a quorum.
        if len(reachable - {addr}) < (len(members) - 1) // 2 + 1:
            raise StoreError(LOSS_OF_QUORUM, "quorum")
        deadline = time.monotonic() + timeout
        if addr == self.self_addr:
            self._remove_self(deadline)
            return
        if addr == self.leader():
            raise StoreError("the raft leader can only be removed through itself "
                             "(it hands over leadership first)", "leader")
        self._propose(lambda cb: self._obj.removeNodeFromCluster(addr, callback=cb),
                      deadline - time.monotonic(), (*_NOT_PROPOSED, FAIL_REASON.REQUEST_DENIED))

    def _remove_self(self, deadline: float) -> None:
        """The leader stops replicating to a member as soon as it appends that member's
        removal, so the member never sees it commit and a local callback would never fire.
        Ask the leader itself over pysyncobj's (encrypted) admin channel instead: it answers
        once the removal is committed."""
        self._check_thread()
        if self.is_leader():
            self._transfer_leadership(deadline)
        while True:
            leader = self.leader()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NoLeader()
            if leader is None or leader == self.self_addr:
                time.sleep(_RETRY_PAUSE)
                continue
            try:
                answer = TcpUtility(self._password, remaining).executeCommand(
                    leader, ["remove", self.self_addr])
            except UtilityException:
                answer = None
            if isinstance(answer, str) and answer.startswith("SUCCESS"):
                return
            time.sleep(_RETRY_PAUSE)  # e.g. the new leader's no-op is not committed yet

    def _transfer_leadership(self, deadline: float) -> None:
        """Hand leadership to the most up-to-date follower and wait for a new leader.
        transferLeadership touches tick-thread state, so it runs there via a tick callback."""
        last_try = [0.0]

        def on_tick() -> None:
            # Denied while no follower is fully caught up: ask again every 0.2 s.
            if self._obj._isLeader() and time.monotonic() - last_try[0] > 0.2:
                last_try[0] = time.monotonic()
                self._obj.transferLeadership(callback=lambda res, err: None)

        self._obj.addOnTickCallback(on_tick)
        try:
            while self.leader() in (self.self_addr, None) or self.is_leader():
                if time.monotonic() > deadline:
                    raise StoreError("raft: leadership transfer timed out", "leader")
                time.sleep(_RETRY_PAUSE)
        finally:
            self._obj.removeOnTickCallback(on_tick)

    # --- shutdown -----------------------------------------------------------------------

    def _start_owned(self, make: Callable[[], SyncObj]) -> SyncObj:
        """Create the SyncObj on a thread of its own that lives until close(): pysyncobj's
        tick thread stops for good once the thread that created it ends, and callers (an
        API request thread) may be short-lived."""
        self._owner_release = threading.Event()
        made: list[Any] = []
        ready = threading.Event()

        def own() -> None:
            try:
                made.append(make())
            except BaseException as err:  # handed to the caller below
                made.append(err)
            ready.set()
            self._owner_release.wait()

        threading.Thread(target=own, name=f"raft-owner-{self.self_addr}", daemon=True).start()
        ready.wait()
        if isinstance(made[0], BaseException):
            raise made[0]
        return made[0]

    def close(self) -> None:
        """Stop Raft, release the port and end all watches. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._hub.close_all("store closed")
        self._obj.destroy_synchronous()
        self._after_tick()  # answers of the last tick, if it ended early
        self._owner_release.set()

    def __enter__(self) -> RaftStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
