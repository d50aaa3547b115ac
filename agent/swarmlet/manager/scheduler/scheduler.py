"""Placement as a pure function: a snapshot of nodes, tasks and services in, a Plan out
(Nomad's shape; SwarmKit's algorithm). Nothing here reads the store or a clock, so the same
snapshot always gives the same plan and the plan is what `--check` can show.

Tasks waiting for a node are grouped by service and by everything placement reads from the
spec; each group gets one decision tree (SwarmKit's scheduleTaskGroup):
- spread preferences make the tree's levels, one branch per label value ("" for nodes
  without the label); tasks are divided evenly between branches, counting the service's
  tasks already there (scheduleNTasksOnSubtree);
- each leaf is a heap of nodes ordered by (tasks of this service, tasks in total, node ID);
  a task goes to the top node that still passes the pipeline, which is then pushed back with
  its new counts, so a pass costs O(tasks log nodes) rather than O(tasks x nodes).

A group whose spec the filters cannot read (a field an older version wrote) fails alone: its
tasks go to Plan.failed with the reason, the other groups are placed.
"""

from __future__ import annotations

import heapq
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from swarmlet.manager.scheduler.filters import Pipeline, no_suitable_node
from swarmlet.manager.scheduler.nodeinfo import NodeInfo, build_node_infos, host_ports, reservations
from swarmlet.protocol.tasks import MEANT_TO_RUN
from swarmlet.spec.constraints import label_getter

# Desired READY is a restart delay: the task is placed and prepared but not started;
# desired COMPLETE is a job's task.
SCHEDULABLE_DESIRED = frozenset(MEANT_TO_RUN)
R = TypeVar("R")


@dataclass
class Plan:
    """task ID -> node ID for tasks to move to ASSIGNED; task ID -> the reason, in Docker's
    words, for tasks that stay PENDING; task ID -> why its spec could not be placed at all."""

    assignments: dict[str, str] = field(default_factory=dict)
    unschedulable: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def schedule(nodes: list[dict], tasks: list[dict], services: dict[str, dict]) -> Plan:
    """Place every pending task (no NodeID, meant to run) of `tasks`, the whole
    store's tasks; the others are only load. A pending task that already has a NodeID (a
    global service's) is only checked against that node, and goes first as in SwarmKit."""
    infos = build_node_infos(nodes, tasks)
    plan = Plan()
    preassigned, groups = _pending(tasks, services, plan)
    pipelines: dict[tuple[str, str], Pipeline] = {}
    for key, task in preassigned:
        def confirm(key: tuple[str, str] = key, task: dict = task) -> None:
            if key not in pipelines:
                pipelines[key] = Pipeline(task)
            _confirm(task, pipelines[key], infos, plan)
        _isolated([task], confirm, plan)
    spread = _SpreadLevels(list(infos.values()))
    for key in sorted(groups):
        _isolated(groups[key], lambda g=groups[key]: _schedule_group(g, spread, plan), plan)
    return plan


def _isolated(tasks: list[dict], step: Callable[[], R], plan: Plan) -> R | None:
    """step() for these tasks; if it raises, they fail with the reason, none of them is
    placed, and None is returned (what it reserved on nodes stays counted: erring on the
    full side is safe)."""
    try:
        return step()
    except Exception as exc:  # a spec the filters cannot read: only its tasks fail
        reason = f"{type(exc).__name__}: {exc}" if isinstance(exc, KeyError) or not str(exc) \
            else str(exc)
        for task in tasks:
            plan.assignments.pop(task["ID"], None)
            plan.unschedulable.pop(task["ID"], None)
            plan.failed[task["ID"]] = f"scheduler could not read the task's spec: {reason}"
        return None


# --- which tasks, in which groups ----------------------------------------------------------

def _with_service(task: dict, services: dict[str, dict]) -> dict:
    """Fill a task's missing Spec or Endpoint from its service (tasks normally carry both)."""
    service = services.get(task.get("ServiceID", ""))
    if service is None:
        return task
    spec = service.get("Spec") or {}
    ports = (spec.get("EndpointSpec") or {}).get("Ports")
    fill_spec, fill_ports = not task.get("Spec"), "Endpoint" not in task and bool(ports)
    if not (fill_spec or fill_ports):
        return task
    task = dict(task)
    if fill_spec:
        task["Spec"] = spec.get("TaskTemplate") or {}
    if fill_ports:
        task["Endpoint"] = {"Ports": ports}
    return task


def _keyed(task: dict, services: dict[str, dict]) -> tuple[tuple[str, str], dict]:
    task = _with_service(task, services)
    return (task.get("ServiceID", ""), _group_key(task)), task


def _group_key(task: dict) -> str:
    """What the filters and the tree read from a task besides its service."""
    spec = task.get("Spec") or {}
    return json.dumps([reservations(task), spec.get("Placement"), host_ports(task)],
                      sort_keys=True, default=str)


def _pending(tasks: list[dict], services: dict[str, dict], plan: Plan,
             ) -> tuple[list[tuple[tuple[str, str], dict]], dict[tuple[str, str], list[dict]]]:
    preassigned: list[tuple[tuple[str, str], dict]] = []
    groups: dict[tuple[str, str], list[dict]] = {}
    for task in tasks:
        if ((task.get("Status") or {}).get("State") != "pending"
                or task.get("DesiredState") not in SCHEDULABLE_DESIRED):
            continue
        keyed = _isolated([task], lambda t=task: _keyed(t, services), plan)
        if keyed is None:
            continue
        key, task = keyed
        if task.get("NodeID"):
            preassigned.append((key, task))
        else:
            groups.setdefault(key, []).append(task)
    preassigned.sort(key=lambda item: item[1]["ID"])
    for group in groups.values():
        group.sort(key=lambda t: (t.get("Slot") or 0, t["ID"]))
    return preassigned, groups


# --- preassigned tasks -----------------------------------------------------------------------

def _confirm(task: dict, pipeline: Pipeline, infos: dict[str, NodeInfo], plan: Plan) -> None:
    info = infos.get(task["NodeID"])
    if info is None:
        plan.unschedulable[task["ID"]] = no_suitable_node(f"node {task['NodeID']} not found")
        return
    failed = pipeline.first_failure(info)
    if failed is not None:
        plan.unschedulable[task["ID"]] = no_suitable_node(failed.explain(1))
        return
    info.add_task(task)
    plan.assignments[task["ID"]] = info.id


# --- one group: decision tree and fill -------------------------------------------------------

class _Branch:
    """A tree level's branch: its service tasks (existing + placed), then either children by
    label value or, at a leaf, a heap of (service tasks, all tasks, node ID, info, checked)."""

    __slots__ = ("children", "heap", "tasks")

    def __init__(self) -> None:
        self.tasks = 0
        self.children: dict[str, _Branch] | None = None
        self.heap: list[tuple[int, int, str, NodeInfo, bool]] = []


class _SpreadLevels:
    """Spread label values of every node, read once per pass and shared by all groups."""

    def __init__(self, infos: list[NodeInfo]) -> None:
        self.infos = infos
        self._values: dict[str, list[str]] = {}

    def for_task(self, task: dict) -> list[list[str]]:
        """One list of values (aligned with `infos`) per honoured preference. Only spread
        over node or engine labels is honoured; other preferences are skipped, as SwarmKit."""
        levels = []
        placement = (task.get("Spec") or {}).get("Placement") or {}
        for pref in placement.get("Preferences") or []:
            descriptor = ((pref or {}).get("Spread") or {}).get("SpreadDescriptor") or ""
            if descriptor not in self._values:
                get = label_getter(descriptor)
                if get is None:
                    continue
                self._values[descriptor] = [_text(get(info.node)) for info in self.infos]
            levels.append(self._values[descriptor])
        return levels


def _text(value: object) -> str:
    return "" if value is None else str(value)  # a missing label is the value ""


def _build_tree(infos: list[NodeInfo], service_id: str, levels: list[list[str]]) -> _Branch:
    # Every node is in the tree, usable or not, so its existing tasks count for its branch.
    root = _Branch()
    if not levels:  # the common case, a single leaf: built in one comprehension
        root.heap = [(info.tasks_by_service.get(service_id, 0), info.active_tasks, info.id,
                      info, False) for info in infos]
        heapq.heapify(root.heap)
        return root
    leaves = []
    for i, info in enumerate(infos):
        count = info.tasks_by_service.get(service_id, 0)
        branch = root
        for values in levels:
            branch.tasks += count
            if branch.children is None:
                branch.children = {}
            child = branch.children.get(values[i])
            if child is None:
                child = branch.children[values[i]] = _Branch()
            branch = child
        branch.tasks += count
        if not branch.heap:
            leaves.append(branch)
        branch.heap.append((count, info.active_tasks, info.id, info, False))
    for leaf in leaves:
        heapq.heapify(leaf.heap)
    return root


Fill = Callable[[_Branch, int], int]


def _place(branch: _Branch, n: int, fill: Fill) -> int:
    """Place up to n tasks under `branch`; returns how many were placed. Each round aims every
    usable branch at an equal share of (their tasks + tasks left), remainder one each in
    label order; a branch that cannot take its share is dropped and the rest re-divided."""
    if branch.children is None:
        placed = fill(branch, n)
    else:
        placed = 0
        usable = [branch.children[value] for value in sorted(branch.children)]
        while placed < n and usable:
            desired, remainder = divmod(sum(c.tasks for c in usable) + n - placed, len(usable))
            for child in list(usable):
                if placed == n:
                    break
                if child.tasks < desired or (child.tasks == desired and remainder > 0):
                    want = min(desired - child.tasks + (1 if remainder > 0 else 0), n - placed)
                    got = _place(child, want, fill)
                    placed += got
                    if got < want:
                        usable.remove(child)  # no room: its share goes to the others
                    elif remainder > 0:
                        remainder -= 1
    branch.tasks += placed
    return placed


def _schedule_group(tasks: list[dict], spread: _SpreadLevels, plan: Plan) -> None:
    first = tasks[0]
    service_id = first.get("ServiceID", "")
    pipeline = Pipeline(first)
    cpus, memory = reservations(first)
    ports = host_ports(first)
    queue = deque(tasks)
    assignments = plan.assignments
    passes, passes_again = pipeline.passes, pipeline.passes_dynamic

    def fill(leaf: _Branch, n: int) -> int:
        heap = leaf.heap
        placed = 0
        while placed < n and heap and queue:
            svc, total, node_id, info, checked = heap[0]
            if not (passes_again(info) if checked else passes(info)):
                heapq.heappop(heap)  # only gets fuller during the pass: never fits again
                continue
            info.reserve(service_id, cpus, memory, ports)
            assignments[queue.popleft()["ID"]] = node_id
            heapq.heapreplace(heap, (svc + 1, total + 1, node_id, info, True))
            placed += 1
        return placed

    root = _build_tree(spread.infos, service_id, spread.for_task(first))
    _place(root, len(tasks), fill)
    if queue:
        message = pipeline.unschedulable(spread.infos)
        for task in queue:
            plan.unschedulable[task["ID"]] = message
