"""Docker's progress display for a job (`service create/update/scale` of a replicated or
global job without -d): "job progress: C out of T complete", for a replicated job "active
tasks: A out of M tasks", a line per slot (or node) with its state, then "job complete".

Only the tasks of the job's current iteration count (JobStatus.JobIteration: the run the
request started). A global job's total is fixed by the nodes its first tasks went to, as
Docker's (a node that joins later runs the job too, but is not waited for). A job is done
once its tasks completed: there is no stability check, as Docker's. Unlike Docker, which
waits forever, it gives up (ConvergeError with the task errors) once `max_failures` tasks
failed, or an error stays shown for `stall_timeout` with no task completing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from swarmlet.cli import progress
from swarmlet.cli.progress import (
    MAX_PROGRESS_BARS,
    ApiSource,
    ConvergeError,
    Display,
    continuing,
    state_number,
    trunc_error,
)

Obj = dict[str, Any]
JOB, ACTIVE = "job progress", "active tasks"
BAR_WIDTH = 50
COMPLETE = state_number("complete")  # a job's bar is full when its task completed


def job_iteration(service: Obj) -> int | None:
    """The run of the job the service is on (JobStatus.JobIteration)."""
    return ((service.get("JobStatus") or {}).get("JobIteration") or {}).get("Index")


def task_iteration(task: Obj) -> int | None:
    return (task.get("JobIteration") or {}).get("Index")


@dataclass
class JobTracker:
    """The lines of Docker's replicatedJobProgressUpdater / globalJobProgressUpdater."""

    lines: dict[str, str] = field(default_factory=dict)
    nodes: list[str] | None = None  # a global job's nodes, from its first tasks
    problems: dict[str, str] = field(default_factory=dict)
    waiting: bool = False  # a global job that has no task yet

    def update(self, service: Obj, tasks: list[Obj]) -> tuple[bool, int]:
        """(whether the job is done, how many tasks completed)."""
        iteration = job_iteration(service)
        mine = [t for t in tasks if task_iteration(t) == iteration
                and state_number(t.get("Status", {}).get("State"))]
        job = service["Spec"]["Mode"].get("ReplicatedJob")
        if job is not None:
            return self._replicated(mine, job.get("MaxConcurrent", 1),
                                    job.get("TotalCompletions", 1))
        return self._global(mine)

    def _replicated(self, tasks: list[Obj], concurrent: int, total: int) -> tuple[bool, int]:
        if not self.lines and total <= MAX_PROGRESS_BARS:  # the slots' lines in their order
            self.lines.update({JOB: "", ACTIVE: ""})
            self.lines.update({f"{slot}/{total}": "" for slot in range(1, total + 1)})
        by_slot = _lowest_state(tasks, lambda t: t.get("Slot", 0))
        complete = sum(1 for t in by_slot.values() if _state(t) == "complete")
        active = sum(1 for t in by_slot.values()
                     if state_number(_state(t)) < state_number("complete"))
        digits = len(str(total))
        self.lines[JOB] = f"{complete:>{digits}} out of {total} complete"
        width = len(str(concurrent))
        self.lines[ACTIVE] = (f"{active:>{width}} out of "
                              f"{min(total - complete, concurrent):>{width}} tasks")
        self._task_lines(by_slot, lambda slot: f"{slot}/{total}", total)
        return complete == total, complete

    def _global(self, tasks: list[Obj]) -> tuple[bool, int]:
        self.waiting = self.nodes is None and not tasks
        if self.waiting:
            self.lines[JOB] = "waiting for tasks"
            return False, 0
        if self.nodes is None:
            self.nodes = sorted({t.get("NodeID") or "" for t in tasks})
        by_node = _lowest_state([t for t in tasks if t.get("NodeID") in self.nodes],
                                lambda t: t.get("NodeID") or "")
        complete = sum(1 for t in by_node.values() if _state(t) == "complete")
        total = len(self.nodes)
        self.lines[JOB] = f"{complete:>{len(str(total))}} out of {total} complete"
        self._task_lines(by_node, lambda node: node, total)
        return complete == total, complete

    def _task_lines(self, current: dict[Any, Obj], label: Callable[[Any], str],
                    total: int) -> None:
        self.problems = {}
        for key in sorted(current):
            task, line = current[key], label(key)
            status = task.get("Status", {})
            if status.get("Err") or _state(task) in ("failed", "rejected"):
                self.problems[line] = status.get("Err") or status.get("Message") or _state(task)
            if total > MAX_PROGRESS_BARS:
                continue
            state = _state(task)
            self.lines[line] = trunc_error(status["Err"]) if status.get("Err") else \
                f"{state:<9} {job_bar(state)}"


def job_bar(state: str) -> str:
    """Docker's bar for a job's task: [====>   ] up to COMPLETE (running is 9 of 10)."""
    filled = min(BAR_WIDTH, int(state_number(state) / COMPLETE * 100) // 2)
    return f"[{'=' * filled}>{' ' * (BAR_WIDTH - filled)}]"


def _state(task: Obj) -> str:
    return task.get("Status", {}).get("State", "")


def _lowest_state(tasks: list[Obj], key: Callable[[Obj], Any]) -> dict[Any, Obj]:
    """One task per slot (or node): the one in the lowest state, as Docker's updaters pick."""
    chosen: dict[Any, Obj] = {}
    for task in tasks:
        old = chosen.get(key(task))
        if old is None or state_number(_state(task)) < state_number(_state(old)):
            chosen[key(task)] = task
    return chosen


@dataclass
class JobWaiter(progress.Watching):

    def run(self) -> None:
        """Until the job's current run completed; ConvergeError if it cannot."""
        display = Display(self.out, self.out.isatty() if self.tty is None else self.tty,
                          last=(JOB, ACTIVE))
        tracker = JobTracker()
        failed: dict[str, Obj] = {}
        progress, since = -1, self.clock()
        while True:
            service = self.source.service()
            tasks = self.source.tasks(service["ID"])
            done, complete = tracker.update(service, tasks)
            if not self.quiet:
                display.show(tracker.lines)
            if done:
                if not self.quiet:
                    self.out.write("job complete\n")
                    self.out.flush()
                return
            iteration = job_iteration(service)
            failed.update({t["ID"]: t for t in tasks if task_iteration(t) == iteration
                           and _state(t) in ("failed", "rejected")})
            now = self.clock()
            if complete != progress or not (tracker.problems or tracker.waiting):
                progress, since = complete, now
            if tracker.waiting and now - since >= self.stall_timeout:
                raise ConvergeError("no task of the job was made: no node is eligible")
            if len(failed) >= self.max_failures or now - since >= self.stall_timeout:
                raise ConvergeError(_failure_message(tracker, failed.values()))
            self.sleep(self.poll_interval)


def _failure_message(tracker: JobTracker, failed: Any) -> str:
    if tracker.problems:
        return "\n".join(f"{key}: {err}" for key, err in tracker.problems.items())
    errors = [t.get("Status", {}).get("Err") or _state(t) for t in failed]
    return "\n".join(dict.fromkeys(errors)) or "job did not complete"


def wait_on_service(client: Any, service_ref: str, quiet: bool = False,
                    out: TextIO | None = None, stale_status: Obj | None = None) -> None:
    """Docker's WaitOnService, for a service or a job: a job's progress until its run
    completed, a service's until it converged (progress.wait_on_service)."""
    source = ApiSource(client, service_ref)
    if "JobStatus" not in source.service():
        progress.wait_on_service(client, service_ref, quiet, out, stale_status)
        return
    out = out or sys.stdout
    try:
        JobWaiter(source, out=out, quiet=quiet).run()
    except KeyboardInterrupt:
        if not quiet:
            continuing(out, service_ref)
