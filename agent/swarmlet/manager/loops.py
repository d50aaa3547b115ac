"""The leader's control pass: orchestrators (replicated, global, jobs) → updater →
allocator → scheduler → node attachments → reaper.

A pass reads one snapshot of the store (manager/snapshot.py: every kind at one index, under
the store's lock, not copied) and its clock once. The stages share it: each returns changes
and never changes what it read; the next stage sees them through a copy-on-write view of the
snapshot (Snapshot.next), not by reading the store again. After the last stage, what the whole
pass changed is written at once, in batches (`write_in_batches`), each update at the version
the pass read. A pass runs when the store changes (a watch), when a rolling update's delay or
monitor runs out (update.next_check), and at least every half second (restart delays and
liveness are about time). Only the leader runs passes; a write that
conflicts with another (a task status report) just waits for the next pass.

A stage that cannot process one object (a malformed spec, a garbled field) goes on with the
others; after the stages, the pass records each such failure on its object and clears those
that went away (orchestrator/failures.py, control_errors.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any, Protocol

from swarmlet.manager.allocator.allocator import allocate, attach_nodes
from swarmlet.manager.orchestrator.control_errors import record
from swarmlet.manager.orchestrator.failures import Failures, describe
from swarmlet.manager.orchestrator.global_ import reconcile_global
from swarmlet.manager.orchestrator.jobs import reconcile_jobs
from swarmlet.manager.orchestrator.reaper import reap
from swarmlet.manager.orchestrator.replicated import reconcile_replicated
from swarmlet.manager.orchestrator.update import next_check, update_services
from swarmlet.manager.scheduler.stage import schedule_pending
from swarmlet.manager.snapshot import Snapshot
from swarmlet.metrics import CONTROL_PASS, timed
from swarmlet.store.raft import RaftStore
from swarmlet.store.state import StoreError, View
from swarmlet.store.watch import WatchClosed

log = logging.getLogger("swarmlet.orchestrator")
_SIMULATION_LOG = logging.getLogger("swarmlet.orchestrator.simulation")
_SIMULATION_LOG.disabled = True

PASS_INTERVAL = 0.5
QUIET = 0.005  # seconds without a store event that end a burst: one pass for the burst
BATCH = 200

Stage = Callable[[Snapshot], list[dict[str, Any]]]
STAGES: tuple[tuple[str, Stage], ...] = (
    ("orchestrator",
     lambda s: reconcile_replicated(s) + reconcile_global(s) + reconcile_jobs(s)),
    ("updater", update_services),
    ("allocator", allocate),
    ("scheduler", schedule_pending),
    ("attachments", attach_nodes),  # after the scheduler: tasks have their nodes now
    ("reaper", reap),
)


Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class PassStore(Protocol):
    """What a pass needs of the store: RaftStore, or an in-memory one (plans, tests)."""

    def view(self, kinds: Iterable[str] | None = None) -> View: ...

    def write(self, batch: list[dict]) -> list[dict]: ...


def write_in_batches(store: PassStore, changes: list[dict[str, Any]]) -> None:
    for start in range(0, len(changes), BATCH):
        store.write(changes[start:start + BATCH])


class ControlLoops:
    def __init__(self, store: RaftStore) -> None:
        self.store = store
        self._stopping = threading.Event()
        self._stage_errors: dict[str, str] = {}  # stages that failed as a whole, logged once
        self._wait = PASS_INTERVAL  # until the next pass when nothing changes
        self._thread = threading.Thread(target=self._run, name="control-loops", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        watch = None
        while not self._stopping.is_set():
            if not self.store.leads():  # a cut-off leader stops acting at once
                if watch is not None:
                    watch.close()
                    watch = None
                self._stopping.wait(PASS_INTERVAL)
                continue
            if watch is None:
                # Just became leader: act only on a replica that has applied all the
                # previous leader committed (else a slot could be updated twice).
                watch = self.store.watch({"service", "task", "node", "cluster", "network",
                                          "attachment"})
                try:
                    self.store.barrier()
                except StoreError as exc:
                    log.debug("barrier: %s", exc)
                    watch.close()
                    watch = None
                    continue
            try:
                self.run_pass()
            except StoreError as exc:
                log.debug("control pass: %s", exc)
            except Exception:
                log.exception("control pass failed; going on")
            try:
                if watch.get(timeout=self._wait) is not None:
                    while watch.get(timeout=QUIET) is not None:  # one pass for a burst
                        pass
            except WatchClosed:
                watch = None
        if watch is not None:
            watch.close()

    def run_pass(self) -> None:
        self._wait = PASS_INTERVAL
        run_pass(self.store, self._stage_errors, after=self._plan_next)

    def _plan_next(self, snap: Snapshot) -> None:
        wait = next_check(snap)
        if wait is not None:
            self._wait = min(PASS_INTERVAL, wait)


def run_pass(store: PassStore, stage_errors: dict[str, str] | None = None,
             simulated: bool = False, clock: Clock = utc_now,
             after: Callable[[Snapshot], None] | None = None) -> list[dict[str, Any]]:
    """One pass of every stage on one snapshot, then the failures recorded on their
    objects; returns the changes written (none: the store is at a fixed point).

    A stage that fails as a whole (not on one object: those are guarded) is skipped and
    the others run; `stage_errors` (stage → message, kept between passes) logs each such
    failure once rather than every half second. A `simulated` pass (a plan's, on an
    in-memory copy of the store) logs nothing: nothing real happened. `clock` gives the
    pass's time, read once (a harness passes a fake one). `after` is given the pass's last
    snapshot (its changes applied)."""
    logger = _SIMULATION_LOG if simulated else log
    errors = {} if stage_errors is None else stage_errors
    failures = Failures()
    whole = True  # every stage ran: an object without a failure now has none
    started = time.monotonic()
    snap = Snapshot.read(store, clock())
    for name, stage in STAGES:
        try:
            with _timed(name, simulated):
                changes = stage(snap)
        except Exception as exc:
            whole = False
            if errors.get(name) != describe(exc):
                errors[name] = describe(exc)
                logger.exception("control pass: the %s failed as a whole; the other stages go on",
                              name)
            snap = snap.next()
            continue
        if errors.pop(name, None) is not None:
            logger.info("control pass: the %s runs again", name)
        failures.merge(snap.failures)
        if changes:
            logger.debug("%s: %d changes", name, len(changes))
        snap = snap.next(changes)
    recorded = [r for r in record(snap, failures) if r.failed or whole]
    for item in recorded:  # only changes are recorded: each is logged once
        logger.log(logging.WARNING if item.failed else logging.INFO, "%s", item.sentence)
    snap = snap.next([item.change for item in recorded])
    written = snap.changes()
    with _timed("write", simulated):
        write_in_batches(store, written)
    if not simulated:
        CONTROL_PASS.labels("pass").observe(time.monotonic() - started)
    if after is not None:
        after(snap)
    return written


def _timed(stage: str, simulated: bool) -> AbstractContextManager[None]:
    """A stage's time into the control pass histogram; a plan's simulated pass is none."""
    return nullcontext() if simulated else timed(CONTROL_PASS.labels(stage))
