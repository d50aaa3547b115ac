"""Failures that stay with their object. When a stage of the leader's pass cannot process
one service, node, task, network or attachment (a field an older version or a worker wrote
that no longer reads), it records why against that object and goes on with the others: one
bad object never stops the swarm. SwarmKit's typed store cannot hold such objects, but it
shows its own per-object problems the same way (a task's Status.Err, a service's
UpdateStatus).

Stages call `Snapshot.guard` per object; control_errors.py turns a pass's failures into
writes on the objects (and clears them once the object passes cleanly again).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

R = TypeVar("R")


@dataclass(frozen=True)
class Failure:
    kind: str     # store kind: service, node, task, network, attachment, cluster
    id: str
    stage: str    # the stage of the pass that failed on it (loops.STAGES, or "snapshot")
    message: str


class Failures:
    """The failures of one pass, one per object: the first stage that failed on it wins
    (a later stage failing on the same object is most likely the same problem)."""

    def __init__(self) -> None:
        self._by_object: dict[tuple[str, str], Failure] = {}

    def add(self, failure: Failure) -> None:
        self._by_object.setdefault((failure.kind, failure.id), failure)

    def merge(self, other: Failures) -> None:
        for failure in other:
            self.add(failure)

    def get(self, kind: str, object_id: str) -> Failure | None:
        return self._by_object.get((kind, object_id))

    def __iter__(self) -> Iterator[Failure]:
        return iter(list(self._by_object.values()))

    def __len__(self) -> int:
        return len(self._by_object)


def describe(exc: BaseException) -> str:
    """An exception in words a user can act on (a KeyError alone says only the key)."""
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}" if exc.args else "missing field"
    text = str(exc)
    return text if text else type(exc).__name__


def guard(failures: Failures, stage: str, kind: str, obj: Any, step: Callable[[], R],
          fallback: R) -> R:
    """`step()` for one object; if it raises, the failure is kept against the object and
    `fallback` returned. Every exception: whatever a malformed object makes a stage trip
    on (KeyError, TypeError, ValueError...) must not reach the pass."""
    try:
        return step()
    except Exception as exc:
        object_id = obj.get("ID") if isinstance(obj, dict) else None
        failures.add(Failure(kind, str(object_id or ""), stage, describe(exc)))
        return fallback
