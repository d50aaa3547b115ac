"""Force-new-cluster recovery: make a manager's own Raft log restart it as the only member
(`docker swarm init --force-new-cluster`), keeping every object."""

from __future__ import annotations

import gzip
from pathlib import Path

from pysyncobj import pickle as sopickle
from pysyncobj.node import TCPNode
from pysyncobj.syncobj import _COMMAND_TYPE

from swarmlet.store.journal import DurableJournal
from swarmlet.store.state import StoreError


def drop_other_members(data_dir: Path, self_addr: str, journal_name: str, dump_name: str,
                       ) -> None:
    """Rewrite this manager's Raft log so that it restarts as the only member.

    How pysyncobj keeps membership: the constructor's partners are the starting set; with
    dynamicMembershipChange, loading the full dump replaces it with the set saved at the
    last compaction (`data[3]`); then replaying the journal re-applies every committed
    MEMBERSHIP entry ('add'/'rem' of one node, in order). So starting with no partners is
    not enough: the dump and the journal's 'add' entries would bring the others back.
    Instead, like SwarmKit's force-new-cluster (which appends ConfChange removals to its
    WAL), append a 'rem' entry for every other node the dump or journal ever named, mark
    them committed in the journal's meta file, and start with no partners: the first
    tick loads the dump, replays up to the new commit index, and ends with this node alone,
    which then elects itself. Entries past the old commit index are kept (and so committed):
    pysyncobj saves the commit index only once a second, so they may well be committed
    writes; a lone node would commit them on any restart anyway.
    """
    journal_path, dump_path = data_dir / journal_name, data_dir / dump_name
    if not journal_path.exists() and not dump_path.exists():
        raise StoreError(f"no raft state in {data_dir} to recover from", "not_found")
    dump = None
    if dump_path.exists():
        with gzip.open(dump_path, "rb") as f:
            dump = sopickle.load(f)  # (data, last entry, entry before it, member nodes)
    members: set[str] = {str(n) for n in dump[3]} if dump else set()
    journal = DurableJournal(journal_path)
    try:
        if dump is not None and (len(journal) < 2 or journal[0] != dump[2]
                                 or journal[1] != dump[1]):
            # What SyncObj does itself when the journal does not continue the dump.
            journal.clear()
            journal.add(*dump[2])
            journal.add(*dump[1])
        membership = bytes([_COMMAND_TYPE.MEMBERSHIP])
        for i in range(len(journal)):
            command = journal[i][0]
            if command[:1] == membership:
                members.add(str(sopickle.loads(command[1:])[1]))
        members.discard(self_addr)
        if len(journal) == 0:
            raise StoreError(f"no raft log in {data_dir} to recover from", "not_found")
        index = journal[-1][1]
        term = max(journal.getCurrentTerm(), journal[-1][2])
        for addr in sorted(members):
            index += 1
            journal.add(membership + sopickle.dumps(["rem", addr, TCPNode(addr)]), index, term)
        journal.setRaftCommitIndex(index)
    finally:
        journal._destroy()
