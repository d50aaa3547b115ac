"""One consistent view of the store for a pass of the leader's loops, with the indexes the
orchestrators need. Stages read a snapshot and return store changes; they never write, and
never change what they read.

A pass reads its snapshot once (`read`: every kind at one index, under the store's lock, not
deep-copied: the objects are the store's own, which the store never changes once stored).
So the objects of a snapshot are read-only: a stage that changes one clones it first
(tasks.with_fields, tasks.set_status, store.objects.clone) and returns the copy in a change.
A later stage sees the earlier stages' changes through `next(changes)`: a new snapshot with
the changes applied copy-on-write (fresh containers, the unchanged objects shared, the
changed ones stamped as the store would: Version.Index, CreatedAt, UpdatedAt at `now`).
`changes()` then gives what the whole pass changed since the read, one change per object,
each update at the version the pass read (a write that conflicts waits for the next pass).

Time comes from the snapshot (`now`, `stamp()`): a pass reads its clock once, so a harness
can run the stages on a fake one.

A snapshot also collects its stage's failures (failures.py): a stage that cannot process one
object calls `guard`, which keeps the failure against that object and lets the stage go on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from swarmlet.manager.orchestrator.failures import Failure, Failures, guard
from swarmlet.manager.orchestrator.fields import FieldError, check_task, number, whole_number
from swarmlet.spec.service import SECOND
from swarmlet.store.objects import stamp
from swarmlet.store.state import View

DEFAULT_RETENTION = 5  # Docker's TaskHistoryRetentionLimit
R = TypeVar("R")
Obj = dict[str, Any]
Key = tuple[str, str]  # (kind, object ID)
# What a pass reads: the kinds its stages look at.
KINDS = ("cluster", "service", "node", "task", "network", "attachment")
_META = frozenset({"Version", "CreatedAt", "UpdatedAt"})


class StoreReader(Protocol):
    def view(self, kinds: Iterable[str] | None = None) -> View: ...


@dataclass
class Snapshot:
    services: dict[str, Obj]
    nodes: dict[str, Obj]
    tasks: list[Obj]
    retention: int = DEFAULT_RETENTION
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    networks: dict[str, Obj] = field(default_factory=dict)
    attachments: list[Obj] = field(default_factory=list)  # dispatcher/attachments.py
    cluster: Obj | None = None
    failures: Failures = field(default_factory=Failures)
    index: int = 0  # the store's index the objects were read at (plus one per `next`)
    # task ID → why the task does not read (fields.check_task), found once per snapshot
    unreadable: dict[str, str] = field(init=False, default_factory=dict)
    # What `next` built on: the snapshot as read, and the objects changed since, in order.
    _read: Snapshot | None = field(init=False, default=None, repr=False, compare=False)
    _touched: dict[Key, int | None] = field(init=False, default_factory=dict, repr=False,
                                            compare=False)

    def __post_init__(self) -> None:
        for task in self.tasks:
            self._check(task)
        self._read_retention()

    def _check(self, task: Obj) -> None:
        try:
            check_task(task)
        except FieldError as exc:
            self.unreadable[task["ID"]] = str(exc)
            self.failures.add(Failure("task", task["ID"], "snapshot", str(exc)))

    def _read_retention(self) -> None:
        if self.cluster is not None:
            cluster = self.cluster
            self.retention = self.guard("snapshot", "cluster", cluster,
                                        lambda: retention_of(cluster), DEFAULT_RETENTION)

    @classmethod
    def read(cls, store: StoreReader, now: datetime | None = None) -> Snapshot:
        """The store's objects at one index (one atomic read, no copies), at `now` (the
        real time when None)."""
        view = store.view(KINDS)
        objects = view.objects
        clusters = objects["cluster"]
        return cls({s["ID"]: s for s in objects["service"]},
                   {n["ID"]: n for n in objects["node"]}, objects["task"],
                   now=now or datetime.now(UTC),
                   networks={n["ID"]: n for n in objects["network"]},
                   attachments=objects["attachment"],
                   cluster=clusters[0] if clusters else None, index=view.index)

    def stamp(self) -> str:
        """`now` as the store writes timestamps (Status.Timestamp, UpdateStatus.StartedAt)."""
        return stamp(self.now)

    # --- the pass's changes -------------------------------------------------------------

    def next(self, changes: Iterable[Obj] = ()) -> Snapshot:
        """A new snapshot: this one with `changes` (store changes, as stages return them)
        applied copy-on-write, at the same `now`, with no failures but the snapshot's own
        (unreadable tasks, the retention limit). Nothing of this snapshot is changed."""
        changes = list(changes)
        by_kind = {kind: dict(objects) for kind, objects in self._objects().items()}
        services, nodes, networks = by_kind["service"], by_kind["node"], by_kind["network"]
        tasks, attachments, cluster = by_kind["task"], by_kind["attachment"], by_kind["cluster"]
        index = self.index + 1 if changes else self.index
        moment = self.stamp()
        touched = dict(self._touched)
        for change in changes:
            kind = change["kind"]
            if kind not in by_kind:
                raise ValueError(f"a pass does not change {kind} objects")
            objects = by_kind[kind]
            if change["op"] == "delete":
                oid = change["id"]
                objects.pop(oid, None)
                touched.setdefault((kind, oid), change.get("version"))
                continue
            obj = change["object"]
            oid = obj["ID"]
            old = objects.get(oid)
            created = old.get("CreatedAt", moment) if old is not None else moment
            objects[oid] = {"ID": oid, "Version": {"Index": index}, "CreatedAt": created,
                            "UpdatedAt": moment,
                            **{k: v for k, v in obj.items() if k not in _META and k != "ID"}}
            touched.setdefault((kind, oid), None)
        snap = Snapshot(services, nodes, [], self.retention, self.now, networks,
                        list(attachments.values()), next(iter(cluster.values()), None),
                        index=index)
        # Tasks already checked keep their verdict; only the changed ones are read again.
        snap.tasks = list(tasks.values())
        changed = {oid for (kind, oid) in touched if kind == "task"}
        for tid, message in self.unreadable.items():
            if tid not in changed and tid in tasks:
                snap.unreadable[tid] = message
                snap.failures.add(Failure("task", tid, "snapshot", message))
        for tid in changed:
            if tid in tasks:
                snap._check(tasks[tid])
        snap._read = self._read or self
        snap._touched = touched
        return snap

    def changes(self) -> list[Obj]:
        """What changed since the snapshot was read, as store changes: one per object, in the
        order the pass first changed them; an update carries the version that was read (so it
        conflicts with a write made since), a create made and deleted within the pass is
        nothing, and an update that changed nothing is left out."""
        read = self._read
        if read is None:
            return []
        before_all, after_all = read._objects(), self._objects()
        out: list[Obj] = []
        for (kind, oid), version in self._touched.items():
            before, after = before_all[kind].get(oid), after_all[kind].get(oid)
            if after is None:
                if before is not None:
                    out.append({"op": "delete", "kind": kind, "id": oid,
                                **({"version": version} if version is not None else {})})
            elif before is None:
                out.append({"op": "create", "kind": kind, "object": after})
            elif _content(before) != _content(after):
                out.append({"op": "update", "kind": kind,
                            "object": {**after, "Version": before.get("Version")}})
        return out

    def changed_as_read(self, kind: str) -> list[Obj]:
        """The objects of `kind` that the pass has changed (or deleted), as they were read:
        what they held (addresses, ports) is not free for the rest of the pass, since the
        write that releases it may fail while a later one reusing it succeeds."""
        if self._read is None:
            return []
        read = self._read._objects()[kind]
        return [read[oid] for (k, oid) in self._touched if k == kind and oid in read]

    def _objects(self) -> dict[str, dict[str, Obj]]:
        return {"service": self.services, "node": self.nodes, "network": self.networks,
                "task": {t["ID"]: t for t in self.tasks},
                "attachment": {a["ID"]: a for a in self.attachments},
                "cluster": {self.cluster["ID"]: self.cluster} if self.cluster else {}}

    def guard(self, stage: str, kind: str, obj: Any, step: Callable[[], R], fallback: R) -> R:
        """`step()` for one object of a stage; a failure stays with `obj` (failures.py).
        A task that does not read is not tried (its error, naming the field, is kept)."""
        if kind == "task" and obj.get("ID") in self.unreadable:
            return fallback
        return guard(self.failures, stage, kind, obj, step, fallback)

    def readable_tasks(self) -> list[dict[str, Any]]:
        """The tasks the stages can read; the others keep their error and are left out."""
        if not self.unreadable:
            return self.tasks
        return [t for t in self.tasks if t["ID"] not in self.unreadable]

    def tasks_by_service(self) -> dict[str, list[dict[str, Any]]]:
        """The readable tasks by service (a slot whose task does not read gets a new one;
        the old one is told to stop once it reads again)."""
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for task in self.readable_tasks():
            grouped[task["ServiceID"]].append(task)
        return grouped

    def node_usable(self, node_id: str) -> bool:
        """Whether tasks may keep running on the node: it exists, is not down, not drained.
        A node whose Status or Spec does not read counts as usable: nothing is replaced on
        the strength of a field the manager cannot read."""
        node = self.nodes.get(node_id)
        return bool(node) and _part(node, "Status").get("State") != "down" and \
            _part(node, "Spec").get("Availability") != "drain"

    def node_down(self, node_id: str) -> bool:
        node = self.nodes.get(node_id)
        return node is None or _part(node, "Status").get("State") == "down"

    def seconds_since(self, timestamp: str) -> float:
        try:
            then = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        except (TypeError, ValueError):
            return float("inf")
        return (self.now - then).total_seconds()


def _content(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in _META}


def _part(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def retention_of(cluster: dict[str, Any]) -> int:
    """The cluster's TaskHistoryRetentionLimit; FieldError (saying the default applies) when
    it does not read as a whole number."""
    where = "Spec.Orchestration.TaskHistoryRetentionLimit"
    try:
        orchestration = _part(_part(cluster, "Spec"), "Orchestration")
        value = orchestration.get("TaskHistoryRetentionLimit")
        return DEFAULT_RETENTION if value is None else whole_number(value, where)
    except FieldError as exc:
        raise FieldError(f"{exc}; the default, {DEFAULT_RETENTION}, applies") from None


def nanos_to_seconds(value: int | float | None, where: str = "duration") -> float:
    return number(value or 0, where) / SECOND
