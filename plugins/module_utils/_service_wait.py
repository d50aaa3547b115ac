# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""swarm_service's ``wait``: poll a service until it has converged, as ``swarmlet service
create/update`` without ``-d`` does (agent/swarmlet/cli/progress.py), but give up at a
deadline and on the first failure.

Converged: every slot of a replicated service (every node the agent gave a task of a global
one: it alone decides which nodes are eligible; the plan of the change says how many) has a
RUNNING task of the service's current task template, the service's UpdateStatus (if it has
one of this change) is ``completed``, and, when no update monitored the new tasks, they kept
running for the update monitor period (default 5 s: the CLI's "verify" step). A paused or
rolled back update, or a task of the new template that fails, ends the wait with the tasks'
errors.

A job is done once the run the change started has completed (``assess_job``); a failed task
that the agent retries is not a failure, one it gave up on is.

``assess`` is pure (a snapshot in, a verdict out); ``wait_for_service`` polls the API.
"""

from __future__ import annotations

import time

from ansible_collections.swarmlet.swarm.plugins.module_utils._spec_syntax import (
    FAILED,
    NANO,
    TERMINAL,
)

DEFAULT_MONITOR = 5 * NANO  # when the service has no UpdateConfig.Monitor (the CLI's verify)


class ConvergeError(Exception):
    """The service did not converge; the message says why, with the tasks' errors."""


# --- one look at the service ----------------------------------------------------------------

def _state(task):
    return (task.get("Status") or {}).get("State") or "new"


def _active(task):
    return task.get("DesiredState") in ("running", "ready") and _state(task) not in TERMINAL


def task_label(task, hostnames):
    """NAME.SLOT (or NAME.NODE for a global service) and where it runs: "web.2 on worker1"."""
    name = (task.get("ServiceAnnotations") or {}).get("Name") or task.get("ServiceID", "")
    slot = task.get("Slot") or (task.get("NodeID") or "")[:12]
    label = f"{name}.{slot}"
    node = task.get("NodeID")
    if node:
        label += f" on {hostnames.get(node) or node[:12]}"
    return label


def task_error(task):
    return (task.get("Status") or {}).get("Err") or _state(task)


class Assessment:
    def __init__(self):
        self.done = False
        self.running = 0
        self.wanted = 0
        self.failures = []  # "label: error" of failed tasks of the new template
        self.problems = []  # "label: error" of current tasks not running, with an error
        self.pending = []  # "label: state" of current tasks not running yet, without one
        self.error = None  # a paused or rolled back update
        self.update_completed = False


def _status(service, stale):
    """The service's UpdateStatus unless it is the one seen before the change."""
    status = service.get("UpdateStatus") or {}
    if not status.get("State"):
        return None
    if stale and status.get("StartedAt") == stale.get("StartedAt"):
        return None
    return status


def assess(service, tasks, nodes, target, known_failed=(), stale_status=None, expected=None):
    """Where the service stands. ``target``: the task template of the change waited for;
    ``known_failed``: IDs of tasks that had failed before it; ``expected``: how many tasks
    the plan of the change placed (a global service is not done before the agent has made
    its tasks)."""
    spec = service["Spec"]
    template = spec.get("TaskTemplate")
    hostnames = dict((n["ID"], (n.get("Description") or {}).get("Hostname")) for n in nodes)
    if "JobStatus" in service:
        return assess_job(service, tasks, hostnames, expected)
    down = set(n["ID"] for n in nodes if (n.get("Status") or {}).get("State") == "down")
    result = Assessment()

    current = [t for t in tasks if t.get("Spec", template) == template and t.get(
        "DesiredState") in ("running", "ready")]
    running = [t for t in current if _state(t) == "running" and t.get("NodeID") not in down]
    if "Global" in (spec.get("Mode") or {}):
        # The nodes the agent's global orchestrator gave a task (it alone reads the
        # constraints, availability and node states), less those down; a rolling update
        # replaces those of an older template (and says so in UpdateStatus).
        wanted = set(t.get("NodeID") for t in tasks
                     if t.get("NodeID") and (_active(t) or t in current)) - down
        have = set(t.get("NodeID") for t in running)
        result.wanted, result.running = max(len(wanted), expected or 0), len(have & wanted)
        result.done = wanted <= have and not (expected and not current)
    else:
        replicas = ((spec.get("Mode") or {}).get("Replicated") or {}).get("Replicas", 1)
        slots = set(t.get("Slot") for t in running)
        result.wanted, result.running = replicas, len(slots)
        result.done = len(slots) == replicas
    for task in sorted(current, key=lambda t: (t.get("Slot") or 0, t.get("NodeID") or "")):
        if _state(task) != "running" and _state(task) not in FAILED:
            line = f"{task_label(task, hostnames)}: {task_error(task)}"
            if (task.get("Status") or {}).get("Err"):
                result.problems.append(line)
            else:
                result.pending.append(line)
    failed = [t for t in tasks if t.get("Spec") == target and _state(t) in FAILED
              and t.get("ID") not in known_failed]
    for task in sorted(failed, key=lambda t: (t.get("Status") or {}).get("Timestamp") or ""):
        result.failures.append(f"{task_label(task, hostnames)}: {task_error(task)}")

    status = _status(service, stale_status)
    if status is not None:
        state, message = status["State"], status.get("Message") or ""
        if state == "paused":
            result.error = f"update paused: {message}"
        elif state.startswith("rollback"):
            result.error = f"update rolled back ({state}): {message}"
        elif state == "completed":
            result.update_completed = True
        else:  # updating
            result.done = False
    return result


def assess_job(service, tasks, hostnames, expected=None):
    """Where a job's current run stands (JobStatus.JobIteration: the run the change
    started): done once a replicated job has its completions, or every task of a global
    job has completed (no fewer than the plan placed). A failed task is retried as the
    restart policy says; only one the agent gave up on (it marks it RestartGivenUp) is a
    failure."""
    iteration = ((service.get("JobStatus") or {}).get("JobIteration") or {}).get("Index")
    mine = [t for t in tasks if (t.get("JobIteration") or {}).get("Index") == iteration]
    result = Assessment()
    job = service["Spec"]["Mode"].get("ReplicatedJob")
    complete = [t for t in mine if _state(t) == "complete"]
    result.running = len(complete)
    if job is not None:
        result.wanted = job.get("TotalCompletions", 1)
        result.done = len(set(t.get("Slot") for t in complete)) >= result.wanted
    else:
        nodes = set(t.get("NodeID") for t in mine if t.get("DesiredState") == "complete"
                    or _state(t) == "complete")
        result.wanted = max(len(nodes), expected or 0)
        result.done = bool(mine) and set(t.get("NodeID") for t in complete) >= nodes \
            and len(nodes) >= (expected or 0)
    for task in sorted(mine, key=lambda t: (t.get("Slot") or 0, t.get("NodeID") or "")):
        line = f"{task_label(task, hostnames)}: {task_error(task)}"
        if _state(task) in FAILED and "RestartGivenUp" in task:
            result.failures.append(line)
        elif _active_job_task(task):
            (result.problems if (task.get("Status") or {}).get("Err") else
             result.pending).append(line)
    return result


def _active_job_task(task):
    return task.get("DesiredState") == "complete" and _state(task) not in TERMINAL


def failure_message(name, assessment):
    parts = []
    if assessment.error:
        parts.append(assessment.error)
    if assessment.failures:
        parts.append("failed tasks: " + "; ".join(assessment.failures))
    if assessment.problems:
        parts.append("; ".join(assessment.problems))
    return f"Service {name} did not converge: " + "; ".join(parts)


# --- polling --------------------------------------------------------------------------------

def wait_for_service(client, service_id, timeout, known_failed=(), stale_status=None,
                     clock=time.monotonic, sleep=time.sleep, poll_interval=0.5, expected=None):
    """Poll until the service converges; ConvergeError when it cannot or ``timeout`` (s)
    passes. ``expected``: the number of tasks the change's plan placed."""
    deadline = clock() + timeout
    target, stable_since = None, None
    while True:
        service = client.get(f"/services/{service_id}")
        name = service["Spec"].get("Name", service_id)
        if target is None:
            target = service["Spec"].get("TaskTemplate")
        tasks = client.get("/tasks", service=service_id)
        nodes = client.get("/nodes")
        now = clock()
        result = assess(service, tasks, nodes, target, known_failed, stale_status, expected)
        if result.error or result.failures:
            raise ConvergeError(failure_message(name, result))
        if result.done:
            if result.update_completed or "JobStatus" in service:  # a job: done is done
                return
            monitor = (service["Spec"].get("UpdateConfig") or {}).get("Monitor") or \
                DEFAULT_MONITOR
            stable_since = now if stable_since is None else stable_since
            if now - stable_since >= monitor / NANO or now >= deadline:
                return
        else:
            stable_since = None
            if now >= deadline:
                verb = "completed" if "JobStatus" in service else "running"
                detail = "; ".join([f"{result.running} of {result.wanted} tasks {verb}",
                                    *result.problems, *result.pending])
                raise ConvergeError(f"Service {name} did not converge within {timeout} "
                                    f"seconds: {detail}")
        sleep(poll_interval)


def wait_for_removal(client, service_id, name, timeout, clock=time.monotonic,
                     sleep=time.sleep, poll_interval=0.5):
    """Poll until no task of a removed service is left running."""
    deadline = clock() + timeout
    while True:
        left = [t for t in client.get("/tasks")
                if t.get("ServiceID") == service_id and t.get("NodeID")
                and _state(t) not in TERMINAL]
        if not left:
            return
        if clock() >= deadline:
            raise ConvergeError(f"Service {name} was removed, but {len(left)} of its tasks "
                                f"were still running after {timeout} seconds")
        sleep(poll_interval)
