"""Raft's log on disk, durable at the points Raft needs it (pysyncobj's Journal interface).

pysyncobj's own FileJournal writes through an mmap that is never synced, saves term and vote
with a rename that is never synced either, and rewrites itself in place when it is
compacted: a power cut loses acknowledged entries, can take a vote back, and can tear the
file. This journal is an append-only file of checksummed records:

    header  b"SWLRAFT1"
    record  <len u32><crc32 u32><index u64><term u64><command: len bytes>

`add` only appends (the page cache holds it); `sync()` makes everything appended so far
durable with one fdatasync. store/durable_raft.py calls it before any Raft message leaves
this manager and at the start of every tick, so a follower answers an AppendEntries only
with the entries on its disk and a leader counts itself towards a commit only with them on
its disk: an entry is committed only once a majority holds it durably, and a group of
entries shares one fdatasync. A torn record at the end (a cut in the middle of an append:
never acknowledged) is cut off when the file is opened.

Term and vote go to a small meta file (JSON) replaced durably before setCurrentTerm returns,
so no vote is sent before it is on disk. Every replacement is a new file, fsynced, renamed
over the old one, and the directory fsynced (durable_files.write_atomic).
"""

from __future__ import annotations

import json
import logging
import os
import struct
import zlib
from pathlib import Path
from typing import Any

from pysyncobj.journal import Journal

from swarmlet.durable_files import write_atomic

log = logging.getLogger("swarmlet.store")

MAGIC = b"SWLRAFT1"
_RECORD = struct.Struct("<IIQQ")  # command length, crc32, index, term
_OLD_MAGIC = b"PYSYNCOBJ"  # pysyncobj's FileJournal, converted on open
MAX_COMMAND = 1 << 30  # a length above this is a torn or foreign record, not an entry

Entry = tuple[bytes, int, int]  # (command, index, term), as pysyncobj keeps them


def encode_record(command: bytes, index: int, term: int) -> bytes:
    head = struct.pack("<QQ", index, term)
    crc = zlib.crc32(command, zlib.crc32(head))
    return _RECORD.pack(len(command), crc, index, term) + command


def decode_records(data: bytes) -> tuple[list[Entry], list[int], int]:
    """The entries of a journal file's bytes, each record's offset, and where the last whole
    record ends (anything after it is a torn append)."""
    if not data.startswith(MAGIC):
        raise ValueError("not a swarmlet Raft journal")
    entries: list[Entry] = []
    offsets: list[int] = []
    at = len(MAGIC)
    while at + _RECORD.size <= len(data):
        length, crc, index, term = _RECORD.unpack_from(data, at)
        end = at + _RECORD.size + length
        if length > MAX_COMMAND or end > len(data):
            break
        command = bytes(data[at + _RECORD.size:end])
        if zlib.crc32(command, zlib.crc32(struct.pack("<QQ", index, term))) != crc:
            break
        entries.append((command, index, term))
        offsets.append(at)
        at = end
    return entries, offsets, at


class DurableJournal(Journal):  # type: ignore[misc]
    """pysyncobj's Journal (its camelCase interface) over an append-only, checksummed file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.meta_path = self.path.with_name(self.path.name + ".meta")
        self._meta: dict[str, Any] = {}
        self._entries: list[Entry] = []
        self._offsets: list[int] = []
        self._dirty = False
        self._meta_dirty = False
        self._open()

    # --- opening --------------------------------------------------------------------------

    def _open(self) -> None:
        if self.path.exists() and self.path.read_bytes()[:len(_OLD_MAGIC)] == _OLD_MAGIC:
            self._convert_old()
        if not self.path.exists():
            write_atomic(self.path, MAGIC, 0o600)
        data = self.path.read_bytes()
        self._entries, self._offsets, end = decode_records(data)
        if end < len(data):
            log.warning("raft journal %s: %d bytes after the last whole record cut off (an "
                        "append the machine never finished)", self.path, len(data) - end)
        self._fd = os.open(self.path, os.O_WRONLY)
        if end < len(data):
            os.ftruncate(self._fd, end)
            os.fsync(self._fd)
        self._end = end
        if self.meta_path.exists():
            self._meta = json.loads(self.meta_path.read_bytes())

    def _convert_old(self) -> None:
        """A journal of pysyncobj's own format (written before this one): its entries and
        meta written again in this format, durably, before the old files go."""
        from pysyncobj.journal import FileJournal

        old = FileJournal(str(self.path))
        try:
            entries = [old[i] for i in range(len(old))]
            meta = {"term": old.getCurrentTerm(), "voted_for": old.getVotedForNodeId(),
                    "commit_index": old.getRaftCommitIndex()}
        finally:
            old._destroy()
        write_atomic(self.path, MAGIC + b"".join(
            encode_record(bytes(c), i, t) for c, i, t in entries), 0o600)
        write_atomic(self.meta_path, json.dumps(meta).encode(), 0o600)
        log.info("raft journal %s: %d entries converted from pysyncobj's format",
                 self.path, len(entries))

    # --- the log --------------------------------------------------------------------------

    def add(self, command: bytes, idx: int, term: int) -> None:
        command = bytes(command)
        record = encode_record(command, idx, term)
        os.pwrite(self._fd, record, self._end)
        self._entries.append((command, idx, term))
        self._offsets.append(self._end)
        self._end += len(record)
        self._dirty = True

    def sync(self) -> None:
        """Everything added so far on disk (one fdatasync for all of it)."""
        if self._dirty:
            os.fdatasync(self._fd)
            self._dirty = False

    def clear(self) -> None:
        self._rewrite([])

    def deleteEntriesFrom(self, entryFrom: int) -> None:
        """A follower drops a conflicting suffix: the file is cut where it began."""
        if entryFrom >= len(self._entries):
            return
        self._end = self._offsets[entryFrom]
        del self._entries[entryFrom:]
        del self._offsets[entryFrom:]
        os.ftruncate(self._fd, self._end)
        self._dirty = True

    def deleteEntriesTo(self, entryTo: int) -> None:
        """Compaction: the entries before `entryTo` are in the (durable) snapshot now."""
        self._rewrite(self._entries[entryTo:])

    def _rewrite(self, entries: list[Entry]) -> None:
        """A new file with `entries`, durable before it replaces the old one."""
        data = bytearray(MAGIC)
        offsets = []
        for command, idx, term in entries:
            offsets.append(len(data))
            data += encode_record(command, idx, term)
        os.close(self._fd)
        write_atomic(self.path, bytes(data), 0o600)
        self._fd = os.open(self.path, os.O_WRONLY)
        self._entries, self._offsets, self._end = list(entries), offsets, len(data)
        self._dirty = False

    def __getitem__(self, item: Any) -> Any:
        return self._entries[item]

    def __len__(self) -> int:
        return len(self._entries)

    def _destroy(self) -> None:
        if self._fd >= 0:
            self.sync()
            self._save_meta()
            os.close(self._fd)
            self._fd = -1

    # --- term, vote and commit index ------------------------------------------------------

    def setRaftCommitIndex(self, raftCommitIndex: int) -> None:
        """Kept lazily (once a second): on a restart it is learned again from the leader,
        and pysyncobj clamps it to the journal's end."""
        self._meta["commit_index"] = raftCommitIndex
        self._meta_dirty = True

    def getRaftCommitIndex(self) -> int:
        return int(self._meta.get("commit_index", 1))

    def setCurrentTerm(self, term: int, votedForNodeId: Any) -> None:
        """Durable before it returns: Raft sends no vote, and no message of the new term,
        that a restart could take back."""
        self._meta["term"] = term
        self._meta["voted_for"] = None if votedForNodeId is None else str(votedForNodeId)
        self._meta_dirty = True
        self._save_meta()

    def getCurrentTerm(self) -> int:
        return int(self._meta.get("term", 0))

    def getVotedForNodeId(self) -> str | None:
        voted = self._meta.get("voted_for")
        return None if voted is None else str(voted)

    def onOneSecondTimer(self) -> None:
        self._save_meta()

    def _save_meta(self) -> None:
        if self._meta_dirty:
            write_atomic(self.meta_path, json.dumps(self._meta).encode(), 0o600)
            self._meta_dirty = False
