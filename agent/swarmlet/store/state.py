"""The store's deterministic state machine: every replica applies the same batches in the
same order and must end up equal, so nothing here reads a clock, draws randomness or does I/O.

Stored object dicts are never mutated once stored: apply is copy-on-write (an update stores
a new dict, a delete drops the old one, the incoming object is cloned first), so apply results,
watch events and views (`view`) share them; whoever holds one must not change it (clone it
first). get(), list() and find_by_name() hand out private copies.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from swarmlet.errors import DomainError
from swarmlet.store.objects import KINDS, NAMED_KINDS, clone

OPS = ("create", "update", "delete")
_META = frozenset({"ID", "Version", "CreatedAt", "UpdatedAt"})


class StoreError(DomainError):
    """A store write or read that failed; `code` says why for callers that branch on it:
    conflict, exists, not_found, name_conflict, invalid, no_leader, ..."""

    code = "error"


class Change(NamedTuple):
    """One applied change: `object` is the stored object (the removed one for a delete),
    `old` the version it replaced (None on create and delete)."""

    op: str
    kind: str
    object: dict
    old: dict | None


def check_batch(batch: Any) -> None:
    """Shape checks that need no state: a proposer runs them before a batch enters the log."""
    if not isinstance(batch, list) or not batch:
        raise StoreError("a batch is a non-empty list of changes", "invalid")
    for change in batch:
        if not isinstance(change, dict) or change.get("op") not in OPS:
            raise StoreError(f"invalid change {change!r}: op must be one of {OPS}", "invalid")
        if change.get("kind") not in KINDS:
            raise StoreError(f"invalid object kind {change.get('kind')!r}", "invalid")
        if change["op"] == "delete":
            if not isinstance(change.get("id"), str) or not change["id"]:
                raise StoreError("delete needs an object id", "invalid")
            version = change.get("version")
            if version is not None and not isinstance(version, int):
                raise StoreError("delete version must be an int", "invalid")
            continue
        obj = change.get("object")
        if not isinstance(obj, dict) or not isinstance(obj.get("ID"), str) or not obj["ID"]:
            raise StoreError(f"{change['op']} needs an object with an ID", "invalid")
        if change["op"] == "update" and not isinstance(_version(obj), int):
            raise StoreError("update needs the Version.Index it was read at", "invalid")


def _version(obj: dict) -> int | None:
    version = obj.get("Version")
    return version.get("Index") if isinstance(version, dict) else None


def _name_key(obj: dict) -> str | None:
    """The unique-name key; case-insensitive like SwarmKit's memdb name index."""
    spec = obj.get("Spec")
    name = spec.get("Name") if isinstance(spec, dict) else None
    return name.lower() if isinstance(name, str) and name else None


class View(NamedTuple):
    """Every object of some kinds at one index, as stored: shared, read-only dicts."""

    index: int
    objects: dict[str, list[dict]]


class StoreState:
    """All objects by kind and ID, plus `index`: the number of batches applied so far."""

    def __init__(self) -> None:
        self.index = 0
        self.objects: dict[str, dict[str, dict]] = {kind: {} for kind in KINDS}
        self._names: dict[str, dict[str, str]] = {kind: {} for kind in NAMED_KINDS}

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, StoreState) and self.index == other.index
                and self.objects == other.objects)

    __hash__ = None  # type: ignore[assignment]  # mutable

    # --- writes -------------------------------------------------------------------------

    def apply(self, batch: list[dict], timestamp: str) -> list[dict]:
        """Apply a batch all-or-nothing; returns the stored objects in batch order (copies).
        Raises StoreError and changes nothing when any change fails."""
        return [clone(c.object) for c in self.apply_changes(batch, timestamp)]

    def apply_changes(self, batch: list[dict], timestamp: str, *,
                      owned: bool = False) -> list[Change]:
        """apply() for the Raft replica: returns Changes that share the stored dicts.
        `owned`: nothing else holds the batch's objects (the replica unpickled them from
        the log), so they are stored as they are instead of cloned first."""
        check_batch(batch)
        index = self.index + 1
        # Staged writes: (kind, id) -> object or None (deleted); name key -> id or None.
        staged: dict[tuple[str, str], dict | None] = {}
        names: dict[tuple[str, str], str | None] = {}
        changes: list[Change] = []

        def current(kind: str, oid: str) -> dict | None:
            key = (kind, oid)
            return staged[key] if key in staged else self.objects[kind].get(oid)

        def claim_name(kind: str, obj: dict, old: dict | None) -> None:
            if kind not in NAMED_KINDS:
                return
            new_key, old_key = _name_key(obj), _name_key(old) if old else None
            if new_key == old_key:
                return
            if new_key is not None:
                nkey = (kind, new_key)
                owner = names[nkey] if nkey in names else self._names[kind].get(new_key)
                if owner is not None and owner != obj["ID"]:
                    raise StoreError("name conflicts with an existing object", "name_conflict")
                names[nkey] = obj["ID"]
            if old_key is not None:
                names[(kind, old_key)] = None

        for change in batch:
            op, kind = change["op"], change["kind"]
            if op == "delete":
                oid = change["id"]
                old = current(kind, oid)
                if old is None:
                    raise StoreError("object not found", "not_found")
                version = change.get("version")
                if version is not None and version != _version(old):
                    raise StoreError("update out of sequence", "conflict")
                if kind in NAMED_KINDS and (key := _name_key(old)) is not None:
                    names[(kind, key)] = None
                staged[(kind, oid)] = None
                changes.append(Change(op, kind, old, None))
                continue
            obj = change["object"] if owned else clone(change["object"])
            oid = obj["ID"]
            old = current(kind, oid)
            if op == "create":
                if old is not None:
                    raise StoreError("object already exists", "exists")
                obj["CreatedAt"] = timestamp
            else:
                if old is None:
                    raise StoreError("object not found", "not_found")
                if _version(obj) != _version(old):
                    raise StoreError("update out of sequence", "conflict")
                obj["CreatedAt"] = old.get("CreatedAt", timestamp)
            claim_name(kind, obj, old)
            # Docker's field order, so `inspect` output reads like Docker's.
            obj = {"ID": oid, "Version": {"Index": index}, "CreatedAt": obj["CreatedAt"],
                   "UpdatedAt": timestamp, **{k: v for k, v in obj.items() if k not in _META}}
            staged[(kind, oid)] = obj
            changes.append(Change(op, kind, obj, old))

        # Every check passed: commit.
        for (kind, oid), obj in staged.items():
            if obj is None:
                self.objects[kind].pop(oid, None)
            else:
                self.objects[kind][oid] = obj
        for (kind, key), owner in names.items():
            if owner is None:  # the last change in the batch to touch this name released it
                self._names[kind].pop(key, None)
            else:
                self._names[kind][key] = owner
        self.index = index
        return changes

    # --- reads (copies) -----------------------------------------------------------------

    def get(self, kind: str, oid: str) -> dict | None:
        obj = self.objects[_kind(kind)].get(oid)
        return clone(obj) if obj is not None else None

    def peek(self, kind: str, oid: str) -> dict | None:
        """The stored object, not copied: read-only (view's rule)."""
        return self.objects[_kind(kind)].get(oid)

    def list(self, kind: str) -> list[dict]:
        return [clone(obj) for obj in self.objects[_kind(kind)].values()]

    def view(self, kinds: Iterable[str] | None = None) -> View:
        """The stored objects of `kinds` (all kinds when None) at the current index, not
        copied: O(objects) references, no deep copy. The dicts are the store's own and are
        never changed by a later apply (copy-on-write), so the view stays consistent after the
        lock is released; its holder must treat them as read-only."""
        wanted = KINDS if kinds is None else [_kind(k) for k in kinds]
        return View(self.index, {k: list(self.objects[k].values()) for k in wanted})

    def find_by_name(self, kind: str, name: str) -> dict | None:
        """The object whose Spec.Name is `name` (first match for kinds without unique names)."""
        kind = _kind(kind)
        if kind in NAMED_KINDS:
            oid = self._names[kind].get(name.lower())
            return self.get(kind, oid) if oid else None
        for obj in self.objects[kind].values():
            if (obj.get("Spec") or {}).get("Name") == name:
                return clone(obj)
        return None

    # --- full dump ----------------------------------------------------------------------

    def snapshot(self) -> dict:
        """Everything, as plain JSON-able data."""
        return {"index": self.index, "objects": clone(self.objects)}

    def restore(self, data: dict) -> None:
        objects = {kind: clone(data.get("objects", {}).get(kind, {})) for kind in KINDS}
        names: dict[str, dict[str, str]] = {kind: {} for kind in NAMED_KINDS}
        for kind in NAMED_KINDS:
            for oid, obj in objects[kind].items():
                if (key := _name_key(obj)) is not None:
                    names[kind][key] = oid
        self.index, self.objects, self._names = int(data.get("index", 0)), objects, names


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise StoreError(f"invalid object kind {kind!r}", "invalid")
    return kind
