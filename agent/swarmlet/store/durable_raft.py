"""pysyncobj made durable: its journal, its snapshot files, and when it syncs.

What Raft needs on disk, and where this gives it (store/journal.py holds the files):
- An entry counts towards a commit only once it is durable on the member that holds it.
  A follower acknowledges entries in its answer to an AppendEntries, and a leader sends
  entries before it counts the acknowledgements: DurableTransport syncs the journal before
  any message leaves, so nothing is acknowledged (and no entry is sent) before it is on this
  member's disk. A leader counts itself when a tick computes the commit index:
  DurableSyncObj syncs at the start of every tick, so a manager alone commits only synced
  entries too. All entries added since the last sync share one fdatasync (group commit).
- Term and vote: DurableJournal.setCurrentTerm writes them durably before it returns, and
  pysyncobj sends the vote (or the request for votes) after it.
- Snapshots (log compaction, and a snapshot received from the leader): pysyncobj writes a
  temporary file and renames it; install() makes that rename durable_replace, which syncs
  the file before the rename and the directory after it. The journal is trimmed only after
  that returns.

pysyncobj creates its journal and renames its snapshots through module-level names;
install() points them at the functions here once, for the whole process (as raft_wire does).
"""

from __future__ import annotations

from typing import Any

from pysyncobj import serializer as syncobj_serializer
from pysyncobj import syncobj
from pysyncobj.journal import MemoryJournal
from pysyncobj.monotonic import monotonic
from pysyncobj.syncobj import SyncObj
from pysyncobj.transport import TCPTransport

from swarmlet.durable_files import durable_replace
from swarmlet.store.journal import DurableJournal
from swarmlet.store.raft_catch_up import CatchUpHint


def create_journal(path: str | None) -> Any:
    return MemoryJournal() if path is None else DurableJournal(path)


def _sync_journal(obj: SyncObj) -> None:
    journal = getattr(obj, "_SyncObj__raftLog", None)  # created by create_journal
    if isinstance(journal, DurableJournal):
        journal.sync()


class DurableTransport(TCPTransport):  # type: ignore[misc]
    """pysyncobj's TCP transport that syncs the journal before a message leaves."""

    def send(self, node: Any, message: Any) -> bool:
        _sync_journal(self._syncObj)
        return bool(super().send(node, message))


class DurableSyncObj(CatchUpHint):
    """A SyncObj that syncs its journal at the start of every tick (before it computes the
    commit index) and speaks through DurableTransport; as a follower it catches up past an
    old leader's uncommitted entries (store/raft_catch_up.py)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("transportClass", DurableTransport)
        super().__init__(*args, **kwargs)
        if self.otherNodes:
            # A manager that starts again hears from the leader only once the leader's
            # reconnect comes round (connectionRetryTime); without a vote of its own first,
            # pysyncobj (no pre-vote) would call an election as soon as it reaches another
            # member, and a higher term deposes the healthy leader: seconds without one.
            conf = self.conf
            self._SyncObj__raftElectionDeadline = (  # type: ignore[attr-defined]
                monotonic() + conf.connectionRetryTime + conf.raftMaxTimeout)

    def _onTick(self, timeToWait: float = 0.0) -> None:
        _sync_journal(self)
        super()._onTick(timeToWait)


def install() -> None:
    """Point pysyncobj at DurableJournal and durable_replace (idempotent)."""
    syncobj.createJournal = create_journal  # type: ignore[attr-defined]
    syncobj_serializer.atomicReplace = durable_replace  # type: ignore[attr-defined]
