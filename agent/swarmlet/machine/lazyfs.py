"""A machine's disk: a FUSE passthrough that keeps unsynced writes in memory, as LazyFS does.

    python -m swarmlet.machine.lazyfs BACKING MOUNTPOINT

The machine's init runs this inside the machine (its mount namespace and cgroup) over
`<store>/machines/NAME/root`, and bind-mounts /etc/swarmlet, /var/lib/swarmlet and
/opt/swarmlet from the mount. `machine stop` kills it with everything else of the machine:
what it held in memory is gone, as a power cut takes a real host's page cache.

- File data (close(2) writes nothing back: no flush operation, so the kernel sends none):
  a write lands in memory (lazyfs_cache.DirtyFile, per inode, so it follows the
  file across renames and hard links) and reaches the backing file only at an fsync or
  fdatasync of that file, a write to a file opened O_SYNC or O_DSYNC, a clean unmount, or
  when the machine's unsynced data passes MEMORY_LIMIT (then the file being written is
  written back, as a kernel under memory pressure would), when more files than half the
  descriptor limit hold unsynced data (the oldest quarter that no process has open is
  written back), or, only if WRITEBACK_AFTER is
  set, once it is that old. Reads see the unsynced data.
- Metadata (create, mkdir, rename, unlink, link, symlink, chmod, chown, utimes, and a
  truncate that shrinks a file) goes to the backing store at once, as LazyFS does. So a
  file created and never fsynced survives a cut, empty; a rename over a file whose new data
  was never fsynced leaves the new name with old or no data (durable_files.write_atomic
  fsyncs before it renames). A directory fsync has nothing left to write.
- mmap: shared writable mappings work; the kernel hands their dirty pages to this process
  when it writes them back (msync, munmap, close, or its periodic writeback), and they are
  unsynced writes like any other until msync(MS_SYNC) or fsync.

The kernel's page cache serves reads (kernel_cache) and lookups (long attribute and entry
timeouts): every change goes through this mount while the machine runs, so the kernel's
copy never goes stale. The host must not change a running machine's private directories
behind its back.
"""

from __future__ import annotations

import errno
import logging
import os
import resource
import stat
import sys
import threading
import time
from typing import Any

import mfusepy

from swarmlet.machine.lazyfs_cache import PAGE, DirtyFile

MEMORY_LIMIT = int(os.environ.get("SWARMLET_LAZYFS_MEMORY_MB", "1024")) << 20
# Off by default: unsynced data stays unsynced until the cut, however old. A number N makes
# the layer write back what has been unsynced for N seconds, as a kernel does after
# dirty_expire_centisecs (30 s on Linux): a cut then loses only the last N seconds.
WRITEBACK_AFTER = float(os.environ.get("SWARMLET_LAZYFS_WRITEBACK", "0"))
CACHE_TIMEOUT = 3600.0  # seconds the kernel may trust attributes and names

# Flags that the backing file must not get: the data goes through the overlay
# (O_APPEND would make pwrite append; O_DIRECT needs aligned buffers), O_TRUNC and O_CREAT are
# done by this layer, and sync flags are honoured here (a host fsync buys nothing).
_STRIP = (os.O_APPEND | os.O_TRUNC | os.O_CREAT | os.O_EXCL | os.O_NOCTTY | os.O_DIRECT
          | os.O_SYNC | os.O_DSYNC)
_SYNC = os.O_SYNC | os.O_DSYNC
_STAT_FIELDS = ("st_mode", "st_ino", "st_nlink", "st_uid", "st_gid", "st_size", "st_blocks",
                "st_atime_ns", "st_ctime_ns", "st_mtime_ns", "st_rdev", "st_blksize")

log = logging.getLogger("swarmlet.lazyfs")
Key = tuple[int, int]


class LazyFS(mfusepy.Operations):
    use_ns = True
    flag_nopath = False

    def __init__(self, backing: str) -> None:
        self.root = os.path.realpath(backing)
        self.mutex = threading.Lock()
        self.dirty: dict[Key, DirtyFile] = {}  # unsynced data per backing inode
        self.dirty_pages = 0
        self.handles: dict[int, tuple[Key, bool]] = {}  # fh (backing fd) -> inode, O_SYNC
        self.opens: dict[Key, int] = {}
        # Each file with unsynced data holds a descriptor: past this many, the oldest are
        # written back (a limit of the model; a kernel has none).
        self.max_files = resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 2

    def _path(self, path: str) -> str:
        return self.root + path

    # --- attributes --------------------------------------------------------------------
    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        st = os.fstat(fh) if fh is not None else os.lstat(self._path(path))
        attrs = {k: getattr(st, k) for k in _STAT_FIELDS}
        attrs["st_atime"], attrs["st_ctime"], attrs["st_mtime"] = (
            attrs.pop("st_atime_ns"), attrs.pop("st_ctime_ns"), attrs.pop("st_mtime_ns"))
        entry = self.dirty.get((st.st_dev, st.st_ino)) if stat.S_ISREG(st.st_mode) else None
        if entry is not None:
            attrs["st_size"] = entry.size
            attrs["st_blocks"] = (entry.size + 511) // 512
            if entry.mtime_ns is not None:
                attrs["st_mtime"] = attrs["st_ctime"] = entry.mtime_ns
        return attrs

    def chmod(self, path: str, mode: int) -> None:
        os.chmod(self._path(path), mode)

    def chown(self, path: str, uid: int, gid: int) -> None:
        os.lchown(self._path(path), uid, gid)

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> None:
        full = self._path(path)
        os.utime(full, ns=times, follow_symlinks=False) if times else os.utime(full)
        st = os.lstat(full)
        entry = self.dirty.get((st.st_dev, st.st_ino))
        if entry is not None:
            entry.mtime_ns = None  # the time set wins over the last write's

    # --- names ---------------------------------------------------------------------------
    def readdir(self, path: str, fh: int) -> list[tuple[str, dict[str, int], int]]:
        # With use_ino every entry needs its inode number: readdir(3) skips those with 0.
        full = self._path(path)
        entries = []
        for name, st in ((".", os.lstat(full)), ("..", os.lstat(os.path.dirname(full)))):
            entries.append((name, {"st_mode": st.st_mode, "st_ino": st.st_ino}, 0))
        with os.scandir(full) as it:
            for e in it:
                entries.append((e.name, {"st_mode": _type_bits(e), "st_ino": e.inode()}, 0))
        return entries

    def readlink(self, path: str) -> str:
        return os.readlink(self._path(path))

    def mknod(self, path: str, mode: int, dev: int) -> None:
        os.mknod(self._path(path), mode, dev)

    def mkdir(self, path: str, mode: int) -> None:
        os.mkdir(self._path(path), mode)

    def rmdir(self, path: str) -> None:
        os.rmdir(self._path(path))

    def symlink(self, target: str, source: str) -> None:
        os.symlink(source, self._path(target))

    def link(self, target: str, source: str) -> None:
        os.link(self._path(source), self._path(target))

    def unlink(self, path: str) -> None:
        key = self._key(path)
        os.unlink(self._path(path))
        self._forget_if_gone(key)

    def rename(self, old: str, new: str) -> None:
        replaced = self._key(new)
        os.rename(self._path(old), self._path(new))
        self._forget_if_gone(replaced)

    def statfs(self, path: str) -> dict[str, int]:
        sv = os.statvfs(self.root)
        return {k: getattr(sv, k) for k in ("f_bsize", "f_frsize", "f_blocks", "f_bfree",
                                            "f_bavail", "f_files", "f_ffree", "f_favail",
                                            "f_flag", "f_namemax")}

    def _key(self, path: str) -> Key | None:
        try:
            st = os.lstat(self._path(path))
        except FileNotFoundError:
            return None
        return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None

    def _forget_if_gone(self, key: Key | None) -> None:
        """Drop the unsynced data of a file that no name and no open file reaches any more."""
        with self.mutex:
            entry = self.dirty.get(key) if key else None
            if entry is not None and not self.opens.get(key) and os.fstat(entry.fd).st_nlink == 0:
                self._drop(key)

    # --- open files ----------------------------------------------------------------------
    def open(self, path: str, flags: int) -> int:
        return self._open(path, flags)

    def create(self, path: str, mode: int, flags: int) -> int:
        return self._open(path, flags | os.O_CREAT, mode)

    def _open(self, path: str, flags: int, mode: int = 0o666) -> int:
        backing_flags = flags & ~_STRIP
        if flags & os.O_ACCMODE == os.O_WRONLY:  # the overlay reads partial pages through it
            backing_flags = backing_flags & ~os.O_ACCMODE | os.O_RDWR
        fd = os.open(self._path(path), backing_flags | (flags & (os.O_CREAT | os.O_EXCL)), mode)
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino)
        with self.mutex:
            self.handles[fd] = (key, bool(flags & _SYNC))
            self.opens[key] = self.opens.get(key, 0) + 1
        if flags & os.O_TRUNC and stat.S_ISREG(st.st_mode):
            self.truncate(path, 0, fd)
        return fd

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        key, _sync = self.handles[fh]
        with self.mutex:
            entry = self.dirty.get(key)
            if entry is not None:
                return entry.read(offset, size)
        return os.pread(fh, size, offset)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        key, sync = self.handles[fh]
        with self.mutex:
            entry = self._entry(key, fh)
            before = len(entry.pages)
            entry.write(offset, data, time.time_ns())
            self.dirty_pages += len(entry.pages) - before
            if sync or self.dirty_pages * PAGE > MEMORY_LIMIT:
                self._flush(key)
        return len(data)

    def truncate(self, path: str | None, length: int, fh: int | None = None) -> None:
        if fh is None:
            full = self._path(path or "")
            st = os.stat(full)
            fd = os.open(full, os.O_RDWR)
            try:
                self._truncate((st.st_dev, st.st_ino), fd, length)
            finally:
                os.close(fd)
        else:
            self._truncate(self.handles[fh][0], fh, length)

    def _truncate(self, key: Key, fd: int, length: int) -> None:
        with self.mutex:
            if key not in self.dirty and length <= os.fstat(fd).st_size:
                os.ftruncate(fd, length)  # nothing in memory: the disk's truncate
                return
            entry = self._entry(key, fd)
            before = len(entry.pages)
            entry.truncate(length, time.time_ns())
            self.dirty_pages += len(entry.pages) - before

    def fsync(self, path: str, datasync: int, fh: int) -> None:
        with self.mutex:
            self._flush(self.handles[fh][0])

    def release(self, path: str, fh: int) -> None:
        with self.mutex:
            key, _sync = self.handles.pop(fh)
            self.opens[key] -= 1
            if not self.opens[key]:
                del self.opens[key]
                entry = self.dirty.get(key)
                if entry is not None:
                    st = os.fstat(entry.fd)
                    clean = not entry.pages and entry.size == st.st_size
                    if clean or st.st_nlink == 0:
                        self._drop(key)  # nothing to keep, or no name reaches it any more
        os.close(fh)

    def init(self, path: str) -> None:
        if WRITEBACK_AFTER > 0:
            threading.Thread(target=self._write_back_old, daemon=True).start()

    def _write_back_old(self) -> None:
        while True:
            time.sleep(min(1.0, WRITEBACK_AFTER))
            deadline = time.monotonic() - WRITEBACK_AFTER
            with self.mutex:
                for key, entry in list(self.dirty.items()):
                    if entry.dirty_since is not None and entry.dirty_since <= deadline:
                        self._flush(key)

    def fsyncdir(self, path: str, datasync: int, fh: int) -> None:
        """Metadata is on the backing store already."""

    def destroy(self, path: str) -> None:
        """A clean unmount writes everything back, as a clean shutdown does."""
        with self.mutex:
            for key in list(self.dirty):
                self._flush(key)

    # --- the overlay (callers hold self.mutex) ------------------------------------------------
    def _entry(self, key: Key, fd: int) -> DirtyFile:
        entry = self.dirty.get(key)
        if entry is None:
            if len(self.dirty) >= self.max_files:
                for old in [k for k in self.dirty if not self.opens.get(k)][:len(self.dirty) // 4]:
                    self._flush(old)  # oldest first (dicts keep insertion order)
            entry = self.dirty[key] = DirtyFile(os.dup(fd))
        return entry

    def _flush(self, key: Key) -> None:
        entry = self.dirty.get(key)
        if entry is not None:
            pages = len(entry.pages)
            entry.flush()
            self.dirty_pages -= pages
            if not self.opens.get(key):
                self._drop(key)  # else kept, clean, for the next write (a journal's append)

    def _drop(self, key: Key) -> None:
        entry = self.dirty.pop(key)
        self.dirty_pages -= len(entry.pages)
        os.close(entry.fd)


def _type_bits(entry: os.DirEntry) -> int:
    """The file type of a directory entry, from readdir's d_type (no stat) where it can."""
    if entry.is_symlink():
        return stat.S_IFLNK
    if entry.is_dir(follow_symlinks=False):
        return stat.S_IFDIR
    if entry.is_file(follow_symlinks=False):
        return stat.S_IFREG
    return entry.stat(follow_symlinks=False).st_mode


class _FUSE(mfusepy.FUSE):
    def rename_fuse_3(self, old: bytes, new: bytes, flags: int) -> int:
        # RENAME_NOREPLACE / RENAME_EXCHANGE are not passed through: refuse rather than
        # silently replace.
        return -errno.EINVAL if flags else self.rename_fuse_2(old, new)


def serve(backing: str, mountpoint: str) -> None:
    # Every dirty file holds a descriptor (it pins the inode until its data is flushed).
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    _FUSE(
        LazyFS(backing), mountpoint, foreground=True, fsname="swarmlet-lazyfs",
        allow_other=True, default_permissions=True, kernel_cache=True, use_ino=True,
        hard_remove=True, attr_timeout=CACHE_TIMEOUT, entry_timeout=CACHE_TIMEOUT,
        negative_timeout=CACHE_TIMEOUT,
    )


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s lazyfs: %(message)s")
    backing, mountpoint = argv
    serve(backing, mountpoint)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
