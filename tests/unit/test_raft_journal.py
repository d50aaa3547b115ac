"""The Raft journal on disk (store/journal.py): what a manager finds again after a restart."""

from __future__ import annotations

import json
from pathlib import Path

from pysyncobj.journal import FileJournal

from swarmlet.store.journal import MAGIC, DurableJournal, encode_record


def entries(n: int, start: int = 1, term: int = 1) -> list[tuple[bytes, int, int]]:
    return [(f"command-{i}".encode(), i, term) for i in range(start, start + n)]


def filled(path: Path, n: int) -> DurableJournal:
    journal = DurableJournal(path)
    for entry in entries(n):
        journal.add(*entry)
    journal.sync()
    return journal


def reopened(journal: DurableJournal) -> DurableJournal:
    journal._destroy()
    return DurableJournal(journal.path)


def as_list(journal: DurableJournal) -> list[tuple[bytes, int, int]]:
    return [journal[i] for i in range(len(journal))]


def test_entries_term_and_vote_come_back_after_a_restart(tmp_path):
    journal = filled(tmp_path / "raft.journal", 5)
    journal.setCurrentTerm(3, "127.0.0.1:2378")
    journal.setRaftCommitIndex(4)
    again = reopened(journal)
    assert as_list(again) == entries(5)
    assert (again.getCurrentTerm(), again.getVotedForNodeId()) == (3, "127.0.0.1:2378")
    assert again.getRaftCommitIndex() == 4
    again._destroy()


def test_a_fresh_journal_is_empty_with_term_zero(tmp_path):
    journal = DurableJournal(tmp_path / "raft.journal")
    assert len(journal) == 0
    assert (journal.getCurrentTerm(), journal.getVotedForNodeId()) == (0, None)
    assert journal.getRaftCommitIndex() == 1
    journal._destroy()


def test_a_vote_is_on_disk_before_set_current_term_returns(tmp_path):
    journal = DurableJournal(tmp_path / "raft.journal")
    journal.setCurrentTerm(7, "127.0.0.1:9")
    meta = json.loads((tmp_path / "raft.journal.meta").read_text())
    assert (meta["term"], meta["voted_for"]) == (7, "127.0.0.1:9")
    journal._destroy()


def test_a_torn_append_is_cut_off_and_the_journal_goes_on(tmp_path):
    path = tmp_path / "raft.journal"
    journal = filled(path, 3)
    journal._destroy()
    whole = path.read_bytes()
    record = encode_record(b"never-finished", 4, 1)
    path.write_bytes(whole + record[:len(record) - 3])  # the cut came mid-append
    again = DurableJournal(path)
    assert as_list(again) == entries(3)
    assert path.read_bytes() == whole
    again.add(b"next", 4, 2)
    assert as_list(reopened(again)) == [*entries(3), (b"next", 4, 2)]


def test_a_record_whose_checksum_fails_ends_the_journal(tmp_path):
    path = tmp_path / "raft.journal"
    filled(path, 3)._destroy()
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # the last command's last byte
    path.write_bytes(bytes(data))
    journal = DurableJournal(path)
    assert as_list(journal) == entries(2)
    journal._destroy()


def test_a_conflicting_suffix_is_dropped_from_the_file(tmp_path):
    journal = filled(tmp_path / "raft.journal", 5)
    journal.deleteEntriesFrom(2)
    journal.add(b"new-leader", 3, 2)
    assert as_list(reopened(journal)) == [*entries(2), (b"new-leader", 3, 2)]


def test_compaction_keeps_the_entries_after_the_snapshot(tmp_path):
    journal = filled(tmp_path / "raft.journal", 6)
    journal.deleteEntriesTo(4)
    assert as_list(journal) == entries(2, start=5)
    journal.add(b"after", 7, 1)
    again = reopened(journal)
    assert as_list(again) == [*entries(2, start=5), (b"after", 7, 1)]
    again.clear()
    assert len(reopened(again)) == 0
    assert again.path.read_bytes() == MAGIC
    assert not again.path.with_name("raft.journal.tmp").exists()


def test_a_journal_of_pysyncobjs_format_is_converted(tmp_path):
    """A manager upgraded from a release whose journal was pysyncobj's own file."""
    path = tmp_path / "raft.journal"
    old = FileJournal(str(path))
    for entry in entries(4):
        old.add(*entry)
    old.setCurrentTerm(2, "127.0.0.1:7")
    old.setRaftCommitIndex(3)
    old.onOneSecondTimer()
    old._destroy()
    journal = DurableJournal(path)
    assert as_list(journal) == entries(4)
    assert (journal.getCurrentTerm(), journal.getVotedForNodeId()) == (2, "127.0.0.1:7")
    assert journal.getRaftCommitIndex() == 3
    assert path.read_bytes().startswith(MAGIC)
    journal._destroy()
