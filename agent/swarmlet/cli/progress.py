"""Docker's converge display for `service create/update/rollback/scale` without -d.

Polls the service and its tasks every 0.5 s and shows "overall progress: R out of N tasks", one
line per slot (or per node for global services) with Docker's state bar, then "verify: Waiting
N seconds to verify that tasks are stable..." and "verify: Service converged". On a TTY the
lines are redrawn in place; otherwise a line is printed only when its text changes.

Only up-to-date tasks count (Docker's `_up-to-date` task filter): those running the service's
current task template, so an update converges once every slot's new task runs. The service's
UpdateStatus is followed as Docker does: "rollback: <message>" when a rollback starts (and
"rolling back update: R out of N tasks"), an error when the update or rollback is paused.
An UpdateStatus the command saw before its request (`stale_status`) belongs to an earlier
update and is ignored.

Unlike Docker, which waits forever, it gives up (SwarmletError listing the task errors) when
tasks keep failing or an error (e.g. "no suitable node") stays shown for `stall_timeout`.
Time is injected (`clock`, `sleep`) so tests can drive it.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from swarmlet.cli.units import NANO
from swarmlet.errors import SwarmletError
from swarmlet.spec.syntax import past_running

Obj = dict[str, Any]
# Docker's CLI numbering of the states, for the bar's fill only (it has "allocated").
NUMBERED_STATES = {"new": 1, "allocated": 2, "pending": 3, "assigned": 4, "accepted": 5,
                   "preparing": 6, "ready": 7, "starting": 8, "running": 9, "complete": 10,
                   "shutdown": 11, "failed": 12, "rejected": 13}
RUNNING = NUMBERED_STATES["running"]
LONGEST_STATE = max(len(s) for s, n in NUMBERED_STATES.items() if n <= RUNNING)
MAX_PROGRESS_BARS = 20
BAR_WIDTH = 50
DEFAULT_MONITOR = 5.0
OVERALL, VERIFY, ROLLBACK = "overall progress", "verify", "rollback"


class ConvergeError(SwarmletError):
    """The service did not converge; the message lists the task errors, one a line."""


class Source(Protocol):
    def service(self) -> Obj: ...
    def tasks(self, service_id: str) -> list[Obj]: ...
    def active_nodes(self) -> set[str]: ...


class ApiSource:
    """The agent API: GET /services/{id}, /tasks?service=ID, /nodes."""

    def __init__(self, client: Any, service_ref: str) -> None:
        self.client, self.ref = client, service_ref

    def service(self) -> Obj:
        return self.client.get(f"/services/{self.ref}")

    def tasks(self, service_id: str) -> list[Obj]:
        return self.client.get("/tasks", service=service_id)

    def active_nodes(self) -> set[str]:
        return {n["ID"] for n in self.client.get("/nodes")
                if n.get("Status", {}).get("State") != "down"}


def state_number(state: str | None) -> int:
    return NUMBERED_STATES.get(state or "", 0)


def terminal(state: str | None) -> bool:
    """Past running (ending or ended), in the spec core's order of task states; "remove" and
    "orphaned" are too, though the progress bar does not number them."""
    return past_running(state)


def bar(state: str) -> str:
    """Docker's progress bar for a task state: [=====>     ] (new = 1/9 ... running = 9/9)."""
    filled = min(BAR_WIDTH, int(state_number(state) / RUNNING * 100) // 2)
    return f"[{'=' * filled}>{' ' * (BAR_WIDTH - filled)}]"


def trunc_error(message: str) -> str:
    message = message.replace("\n", " ")
    return message[:74] + "…" if len(message) > 75 else message


def task_line(task: Obj) -> str | None:
    """What a slot's line says for its current task (None: leave the line as it is)."""
    status = task.get("Status", {})
    if status.get("Err"):
        return trunc_error(status["Err"])
    state = status.get("State", "")
    if not terminal(task.get("DesiredState")) and not terminal(state):
        return f"{state:<{LONGEST_STATE}} {bar(state)}"
    return None


def up_to_date(service: Obj, task: Obj) -> bool:
    """Whether a task runs the service's current task template (what Docker's `_up-to-date`
    filter keeps); a task without its spec is taken as current."""
    return "Spec" not in task or task["Spec"] == service["Spec"].get("TaskTemplate")


def _age(task: Obj) -> tuple[str, int]:
    return task.get("CreatedAt") or "", (task.get("Version") or {}).get("Index", 0)


def pick_current(tasks: list[Obj], key: Callable[[Obj], Any],
                 active: set[str] | None = None) -> dict[Any, Obj]:
    """One task per slot (or node): the lowest desired state, then the lowest observed state,
    as Docker's tasksBySlot, then the newest; tasks on down nodes are left out."""
    chosen: dict[Any, Obj] = {}
    for task in tasks:
        desired, state = state_number(task.get("DesiredState")), state_number(
            task.get("Status", {}).get("State"))
        if not desired or not state:
            continue
        old = chosen.get(key(task))
        if old is not None:
            old_rank = (state_number(old.get("DesiredState")),
                        state_number(old.get("Status", {}).get("State")))
            if old_rank < (desired, state) or (
                    old_rank == (desired, state) and _age(old) >= _age(task)):
                continue
        if active is not None and task.get("NodeID") and task["NodeID"] not in active:
            continue
        chosen[key(task)] = task
    return chosen


@dataclass
class Tracker:
    """Docker's replicated/global progress updaters: keeps the display lines by ID."""

    lines: dict[str, str] = field(default_factory=dict)
    slot_map: dict[int, int] = field(default_factory=dict)
    initialized: bool = False
    done: bool = False
    problems: dict[str, str] = field(default_factory=dict)  # line ID -> error, current tasks
    replicas: int | None = None  # None: a global service
    rollback: bool = False  # the totals read "rolling back update: R out of N tasks"

    def update(self, service: Obj, tasks: list[Obj], active: set[str]) -> bool:
        mode = service["Spec"].get("Mode", {})
        if "Global" in mode:
            self.replicas = None
            return self._update_global(tasks, active)
        self.replicas = (mode.get("Replicated") or {}).get("Replicas", 1)
        return self._update_replicated(tasks, active, self.replicas)

    def label(self, task: Obj) -> str:
        """How a task's slot (or node) is named on its line: "2/3", or a node ID prefix."""
        if self.replicas is None:
            return (task.get("NodeID") or "")[:12]
        slot = task.get("Slot", 0)
        return f"{self.slot_map.get(slot, slot)}/{self.replicas}"

    def _update_replicated(self, tasks: list[Obj], active: set[str], replicas: int) -> bool:
        if not self.initialized:
            self.lines[OVERALL] = self.totals(0, replicas)
            if replicas <= MAX_PROGRESS_BARS:
                for i in range(1, replicas + 1):
                    self.lines[f"{i}/{replicas}"] = ""
            self.initialized = True
        by_slot = pick_current(tasks, lambda t: t.get("Slot", 0), active)
        current = [by_slot[slot] for slot in sorted(by_slot)]
        ids = []
        for task in current:
            mapped = self.slot_map.setdefault(task.get("Slot", 0), len(self.slot_map) + 1)
            ids.append(f"{mapped}/{replicas}" if mapped <= replicas else None)
        return self._apply(current, ids, replicas, replicas <= MAX_PROGRESS_BARS)

    def _update_global(self, tasks: list[Obj], active: set[str]) -> bool:
        by_node = pick_current(tasks, lambda t: t.get("NodeID") or "")
        count = len(by_node)
        if not self.initialized:
            if count == 0:
                self.lines[OVERALL] = "waiting for new tasks"
                return False
            self.lines[OVERALL] = self.totals(0, count)
            self.initialized = True
        current = [by_node[n] for n in sorted(by_node) if n in active]
        ids: list[str | None] = [(t.get("NodeID") or "")[:12] for t in current]
        return self._apply(current, ids, count, count <= MAX_PROGRESS_BARS)

    def _apply(self, current: list[Obj], ids: list[str | None], wanted: int,
               show_bars: bool) -> bool:
        if self.done and any(t.get("Status", {}).get("State") != "running" for t in current):
            self.done = False
        running = sum(1 for t in current if not terminal(t.get("DesiredState"))
                      and t.get("Status", {}).get("State") == "running")
        self.problems = {}
        for task, line_id in zip(current, ids, strict=True):
            status = task.get("Status", {})
            label = line_id or self.label(task)
            if status.get("State") != "running" and (status.get("Err") or terminal(
                    status.get("State"))):
                self.problems[label] = status.get("Err") or status.get("Message") or status.get(
                    "State", "")
            text = task_line(task)
            if line_id and show_bars and not self.done and text is not None:
                self.lines[line_id] = text
        if not self.done:  # (a scale down's surplus runs until removed: never "3 out of 2")
            self.lines[OVERALL] = self.totals(min(running, wanted), wanted)
            self.done = running == wanted
        return running == wanted

    def totals(self, running: int, wanted: int) -> str:
        prefix = "rolling back update: " if self.rollback else ""
        return f"{prefix}{running} out of {wanted} tasks"


class Display:
    """Writes the lines: redrawn in place on a TTY, else each line when its text changes."""

    def __init__(self, out: TextIO, tty: bool, last: tuple[str, ...] = (OVERALL, VERIFY)
                 ) -> None:
        self.out, self.tty, self.last = out, tty, last
        self.drawn = 0
        self.screen: list[str] = []
        self.printed: dict[str, str] = {}

    def show(self, lines: dict[str, str]) -> None:
        texts = {key: f"{key}: {value}".rstrip() for key, value in lines.items()}
        if self.tty:
            if list(texts.values()) == self.screen:
                return
            self.screen = list(texts.values())
            if self.drawn:
                self.out.write(f"\x1b[{self.drawn}A")
            for text in texts.values():
                self.out.write(f"\x1b[2K\r{text}\n")
            self.drawn = len(texts)
        else:  # in the order Docker emits them: tasks, then the totals, then verify
            last = [k for k in self.last if k in texts]
            for key in [*(k for k in texts if k not in last), *last]:
                text = texts[key]
                if lines[key].strip() and self.printed.get(key) != text:
                    self.out.write(text + "\n")
                    self.printed[key] = text
        self.out.flush()


@dataclass
class StatusFollower:
    """What Docker's ServiceProgress does with the service's UpdateStatus."""

    stale: Obj | None = None
    message: str | None = None  # shown after "Service converged": a rollback that completed

    def fresh(self, status: Obj | None) -> Obj | None:
        if not status or not status.get("State"):
            return None
        stale = self.stale or {}
        if stale and (status.get("StartedAt") == stale.get("StartedAt") if "StartedAt" in stale
                      else status == stale):
            return None
        return status

    def follow(self, service: Obj, tracker: Tracker, converged: bool) -> bool:
        """Note the update's state on `tracker`; True when the update completed before its
        convergence was seen (Docker stops waiting then); ConvergeError when it is paused."""
        status = self.fresh(service.get("UpdateStatus"))
        if status is None:
            return False
        state, message = status["State"], status.get("Message", "")
        if state == "updating":
            tracker.rollback = False
        elif state == "completed":
            return not converged
        elif state == "paused":
            raise ConvergeError(f"service update paused: {message}")
        elif state == "rollback_started":
            if not tracker.rollback and message:
                tracker.lines[ROLLBACK] = message
            tracker.rollback = True
        elif state == "rollback_paused":
            raise ConvergeError(f"service rollback paused: {message}")
        elif state == "rollback_completed":
            if not converged:
                self.message = message
            tracker.rollback = True
        return False


@dataclass
class Watching:
    """What a wait on a service or a job (cli/job_progress.py) watches with, and how long."""

    source: Source
    out: TextIO = sys.stdout
    tty: bool | None = None
    quiet: bool = False
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    poll_interval: float = 0.5
    stall_timeout: float = 30.0
    max_failures: int = 3


@dataclass
class Waiter(Watching):
    stale_status: Obj | None = None  # the UpdateStatus seen before the request

    def run(self) -> None:
        """Wait until the service converges; ConvergeError if it cannot."""
        tty = self.out.isatty() if self.tty is None else self.tty
        display = Display(self.out, tty)
        tracker = Tracker()
        status = StatusFollower(self.stale_status)
        converged, converged_at, problem_since = False, None, None
        known_failed: set[str] | None = None
        failures: dict[str, Obj] = {}
        while True:
            service = self.source.service()
            monitor = (service["Spec"].get("UpdateConfig") or {}).get("Monitor") or 0
            monitor_s = monitor / NANO if monitor else DEFAULT_MONITOR
            if status.follow(service, tracker, converged):
                return
            now = self.clock()
            if converged and converged_at is not None and now - converged_at >= monitor_s:
                tracker.lines[VERIFY] = "Service converged"
                self._show(display, tracker.lines)
                if status.message:
                    tracker.lines[ROLLBACK] = status.message
                    self._show(display, tracker.lines)
                return
            tasks = [t for t in self.source.tasks(service["ID"]) if up_to_date(service, t)]
            failed = {t["ID"]: t for t in tasks if t.get("Status", {}).get("State") in (
                "failed", "rejected")}
            if known_failed is None:
                known_failed = set(failed)
            failures.update({k: v for k, v in failed.items() if k not in known_failed})
            converged = tracker.update(service, tasks, self.source.active_nodes())
            if converged:
                converged_at = now if converged_at is None else converged_at
                problem_since = None
                wait = monitor_s - (now - converged_at)
                if wait >= 0:
                    tracker.lines[VERIFY] = (f"Waiting {max(1, math.ceil(wait))} seconds to "
                                             "verify that tasks are stable...")
            else:
                if converged_at is not None:
                    tracker.lines[VERIFY] = "Detected task failure"
                converged_at = None
                problem_since = (now if problem_since is None else problem_since
                                 ) if tracker.problems else None
            self._show(display, tracker.lines)
            if not converged and (len(failures) >= self.max_failures or (
                    problem_since is not None and now - problem_since >= self.stall_timeout)):
                raise ConvergeError(failure_message(tracker, failures.values()))
            self.sleep(self.poll_interval)

    def _show(self, display: Display, lines: dict[str, str]) -> None:
        if not self.quiet:
            display.show(lines)


def failure_message(tracker: Tracker, failed: Any) -> str:
    """One line per slot with an error; else the last error of each slot whose tasks failed."""
    if tracker.problems:
        return "\n".join(f"{key}: {err}" for key, err in tracker.problems.items())
    seen: dict[str, str] = {}
    for task in sorted(failed, key=lambda t: t.get("Status", {}).get("Timestamp", "")):
        key = tracker.label(task)
        status = task.get("Status", {})
        seen[key] = status.get("Err") or status.get("Message") or status.get("State", "")
    return "\n".join(f"{key}: {err}" for key, err in seen.items()) or "service did not converge"


def wait_on_service(client: Any, service_ref: str, quiet: bool = False,
                    out: TextIO | None = None, stale_status: Obj | None = None) -> None:
    """Docker's WaitOnService: show progress until converged; Ctrl-C leaves it running.
    `stale_status`: the service's UpdateStatus before the request (an earlier update's)."""
    out = out or sys.stdout
    try:
        Waiter(ApiSource(client, service_ref), out=out, quiet=quiet,
               stale_status=stale_status).run()
    except KeyboardInterrupt:
        if not quiet:
            continuing(out, service_ref)


def continuing(out: TextIO, service_ref: str) -> None:
    """What Ctrl-C during the wait says: the change goes on without us."""
    out.write("\nOperation continuing in background.\n"
              f"Use `swarmlet service ps {service_ref}` to check progress.\n")
