"""The machines' disk layer (swarmlet.machine.lazyfs): unsynced data is read back, reaches the
backing file only at fsync, and is gone when the process dies."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from swarmlet.machine.lazyfs_cache import PAGE, DirtyFile


@pytest.fixture
def dirty(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"on disk: " + b"x" * (PAGE + 100))  # two pages, the second partial
    fd = os.open(path, os.O_RDWR)
    yield path, DirtyFile(fd)
    os.close(fd)


def test_writes_are_read_back_over_the_backing_file_and_reach_it_only_at_flush(dirty):
    path, f = dirty
    f.write(3, b"ABC", now_ns=1)
    f.write(PAGE - 1, b"-|-", now_ns=2)  # across a page boundary
    expected = bytearray(path.read_bytes())
    expected[3:6], expected[PAGE - 1:PAGE + 2] = b"ABC", b"-|-"
    assert f.read(0, 10 * PAGE) == bytes(expected)
    assert f.read(PAGE - 2, 4) == b"x-|-"
    assert path.read_bytes() != bytes(expected)
    f.flush()
    assert path.read_bytes() == bytes(expected)
    assert f.pages == {}


def test_an_append_far_past_the_end_reads_as_zeros_in_the_hole(dirty):
    path, f = dirty
    size = path.stat().st_size
    f.write(10 * PAGE, b"end", now_ns=1)
    assert f.size == 10 * PAGE + 3
    assert f.read(size, 10 * PAGE - size) == bytes(10 * PAGE - size)
    assert path.stat().st_size == size
    f.flush()
    assert path.read_bytes()[size:] == bytes(10 * PAGE - size) + b"end"


def test_truncate_is_coherent_with_unsynced_data(dirty):
    path, f = dirty
    f.write(0, b"y" * (3 * PAGE), now_ns=1)
    f.truncate(PAGE + 10, now_ns=2)  # shorter than the disk's file: applied to it at once
    assert path.stat().st_size == PAGE + 10
    f.truncate(2 * PAGE, now_ns=3)  # longer again: the cut-off part reads as zeros
    assert f.read(0, 3 * PAGE) == b"y" * (PAGE + 10) + bytes(PAGE - 10)
    f.flush()
    assert path.read_bytes() == b"y" * (PAGE + 10) + bytes(PAGE - 10)


SCENARIO = r"""
import json, os, signal, subprocess, sys, time
backing, mnt = sys.argv[1:]
proc = subprocess.Popen([sys.executable, "-m", "swarmlet.machine.lazyfs", backing, mnt])
while not any(l.split()[1] == mnt for l in open("/proc/self/mounts")):
    assert proc.poll() is None, "lazyfs did not mount"
    time.sleep(0.01)
def write(name, data, sync=False, flags=0):
    fd = os.open(os.path.join(mnt, name), os.O_WRONLY | os.O_CREAT | flags, 0o644)
    os.write(fd, data)
    if sync:
        os.fsync(fd)
    os.close(fd)
def read(name):
    with open(os.path.join(mnt, name), "rb") as fh:
        return fh.read().decode()
write("synced", b"kept", sync=True)
write("unsynced", b"lost")
write("o_dsync", b"kept", flags=os.O_DSYNC)
write("old", b"old data", sync=True)
write("old", b"new", flags=os.O_TRUNC)
os.rename(os.path.join(mnt, "unsynced"), os.path.join(mnt, "moved"))
write("appended", b"one,", sync=True)
write("appended", b"two", flags=os.O_APPEND)
seen = {n: read(n) for n in ("synced", "moved", "o_dsync", "old", "appended")}
seen["size"] = os.stat(os.path.join(mnt, "moved")).st_size
proc.kill()  # the power cut
proc.wait()
subprocess.run(["umount", mnt], check=True)
on_disk = {n: open(os.path.join(backing, n)).read() for n in sorted(os.listdir(backing))}
print(json.dumps({"seen": seen, "on_disk": on_disk}))
"""


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/fuse")
                    or not shutil.which("unshare"), reason="needs root, /dev/fuse and unshare")
def test_a_killed_lazyfs_leaves_only_what_was_fsynced(tmp_path):
    backing, mnt = tmp_path / "disk", tmp_path / "mnt"
    backing.mkdir()
    mnt.mkdir()
    # A mount namespace of its own: nothing it mounts shows on the host, even if it fails.
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", sys.executable, "-c", SCENARIO,
         str(backing), str(mnt)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["seen"] == {"synced": "kept", "moved": "lost", "o_dsync": "kept",
                              "old": "new", "appended": "one,two", "size": 4}
    assert result["on_disk"] == {"synced": "kept", "moved": "", "o_dsync": "kept", "old": "",
                                 "appended": "one,"}


def test_a_flush_forgets_the_age_of_the_unsynced_data(dirty):
    _path, f = dirty
    assert f.dirty_since is None
    f.write(0, b"a", now_ns=1)
    first = f.dirty_since
    f.write(1, b"b", now_ns=2)
    assert f.dirty_since == first  # the oldest unsynced change counts
    f.flush()
    assert f.dirty_since is None
