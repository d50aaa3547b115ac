"""The writes to one file that were never fsynced: what a machine's RAM holds of it.

A `DirtyFile` overlays 4 KiB pages of new data and a size on the backing file (the
machine's disk). Reads see the overlay; `flush` (the file's fsync or fdatasync) writes it to
the backing file; dropping it (a power cut) leaves the backing file as the last flush left it.

Invariant: the backing file is never longer than `size`, so between the backing file's end
and `size` the file reads as zeros unless a dirty page says otherwise. A truncate that
shrinks the file below the backing file's length is applied to the backing file at once
(as a journaling filesystem commits a truncate: see docs/machines.md).
"""

from __future__ import annotations

import os
import time

PAGE = 4096


class DirtyFile:
    def __init__(self, fd: int) -> None:
        self.fd = fd  # read-write on the backing file; it also pins the inode
        self.size = os.fstat(fd).st_size  # the file's size as the machine sees it
        self.pages: dict[int, bytearray] = {}
        self.mtime_ns: int | None = None  # of the last unsynced write or truncate
        self.dirty_since: float | None = None  # monotonic time of the oldest unsynced change

    def read(self, offset: int, length: int) -> bytes:
        end = min(offset + length, self.size)
        if end <= offset:
            return b""
        buf = bytearray(os.pread(self.fd, end - offset, offset))
        if len(buf) < end - offset:
            buf.extend(bytes(end - offset - len(buf)))
        if self.pages:
            for index in range(offset // PAGE, (end - 1) // PAGE + 1):
                page = self.pages.get(index)
                if page is not None:
                    start = index * PAGE
                    lo, hi = max(start, offset), min(start + PAGE, end)
                    buf[lo - offset:hi - offset] = page[lo - start:hi - start]
        return bytes(buf)

    def write(self, offset: int, data: bytes, now_ns: int) -> None:
        end = offset + len(data)
        view = memoryview(data)
        pos = offset
        while pos < end:
            index, start = divmod(pos, PAGE)
            n = min(PAGE - start, end - pos)
            page = self.pages.get(index)
            if page is None:
                if n == PAGE:
                    page = bytearray(PAGE)
                else:  # a partial page starts as what the file holds there now
                    page = bytearray(self.read(index * PAGE, PAGE).ljust(PAGE, b"\0"))
                self.pages[index] = page
            page[start:start + n] = view[pos - offset:pos - offset + n]
            pos += n
        self.size = max(self.size, end)
        self.mtime_ns = now_ns
        self.dirty_since = self.dirty_since or time.monotonic()

    def truncate(self, length: int, now_ns: int) -> None:
        if length < os.fstat(self.fd).st_size:
            os.ftruncate(self.fd, length)
        for index in [i for i in self.pages if i * PAGE >= length]:
            del self.pages[index]
        tail = self.pages.get(length // PAGE)
        if tail is not None:
            cut = length % PAGE
            tail[cut:] = bytes(PAGE - cut)
        self.size = length
        self.mtime_ns = now_ns
        self.dirty_since = self.dirty_since or time.monotonic()

    def flush(self) -> None:
        """Write the overlay to the backing file (the host's page cache is the machine's
        disk: it outlives the machine, so no fsync of the host's is needed)."""
        before = os.fstat(self.fd)
        end = before.st_size
        for index in sorted(self.pages):
            start = index * PAGE
            n = min(PAGE, self.size - start)
            if n > 0:
                os.pwrite(self.fd, memoryview(self.pages[index])[:n], start)
                end = max(end, start + n)
        if end != self.size:  # a hole at the end, or a truncate
            os.ftruncate(self.fd, self.size)
        # Keep the time of the machine's last write, not of this flush.
        os.utime(self.fd, ns=(before.st_atime_ns, self.mtime_ns or before.st_mtime_ns))
        self.pages.clear()
        self.mtime_ns = self.dirty_since = None
