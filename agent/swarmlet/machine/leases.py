"""Underlay addresses held by machines of every store, running or stopped.

A stopped machine has no link on the bridge, so the links alone (underlay.addresses_in_use)
let a machine of another store take its address, and the two clash when it starts again.
Each machine therefore holds a lease, /var/lib/swarmlet-underlay/<ip>, naming its
machine.json; a lease whose machine.json is gone (a store deleted by hand) is stale.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LEASES = Path("/var/lib/swarmlet-underlay")
FRESH = 300.0  # seconds: a lease this young holds even before its machine.json exists


@contextmanager
def allocating() -> Iterator[None]:
    """Serialise address choices across stores (each store's own lock covers only it)."""
    LEASES.mkdir(parents=True, exist_ok=True, mode=0o755)
    with open(LEASES / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def leased() -> set[str]:
    """Addresses whose machine still exists, in any store (a fresh lease counts: its
    machine.json is being written)."""
    held = set()
    now = time.time()
    for lease in LEASES.glob("[0-9]*"):
        try:
            owner = Path(lease.read_text().strip())
            fresh = now - lease.stat().st_mtime < FRESH
        except OSError:
            continue
        if fresh or owner.is_file():
            held.add(lease.name)
    return held


def take(ip: str, machine_json: Path) -> None:
    (LEASES / ip).write_text(f"{machine_json}\n")


def release(ip: str, machine_json: Path) -> None:
    """Drop the lease if it is this machine's (another store may hold the address now)."""
    lease = LEASES / ip
    try:
        if Path(lease.read_text().strip()) == machine_json:
            lease.unlink()
    except FileNotFoundError:
        pass
