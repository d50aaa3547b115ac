"""Files written so that a power cut leaves the old version or the new one, whole: what
each manager's Raft files (store/journal.py) and each node's keys (ca/files.py) rely on.
Standard library only."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make the directory's entries (a file created, renamed or removed in it) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def durable_replace(source: str | Path, target: str | Path) -> None:
    """rename(source, target) that survives a power cut: the new file's data is on disk
    before it takes the name, and the new name is on disk when this returns."""
    fd = os.open(source, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(source, target)
    fsync_dir(Path(target).parent)


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write a file whole or not at all (a temporary file beside it, fsynced, renamed, the
    directory fsynced), created with `mode` so a key is never readable by others, not even
    for a moment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp: 0600
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)
