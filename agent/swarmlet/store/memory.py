"""The store's state machine (state.py) in memory, without Raft: what plans simulate a
change on, and what tests drive control passes with. The calls a pass makes (view, list,
get, write) behave as on the replicated store: versions checked, batches all-or-nothing.
`clock` stamps the writes (CreatedAt, UpdatedAt): real UTC time, or a test's fake clock."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from swarmlet.store.objects import stamp
from swarmlet.store.state import KINDS, StoreState, View


class MemoryStore:
    def __init__(self, objects: dict[str, list[dict[str, Any]]] | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        """Empty, or a copy of `objects` (kind -> objects as the store lists them)."""
        self.clock = clock or (lambda: datetime.now(UTC))
        self.state = StoreState()
        if objects:
            index = max((o.get("Version", {}).get("Index", 0)
                         for found in objects.values() for o in found), default=0)
            self.state.restore({"index": index, "objects": {
                kind: {o["ID"]: o for o in objects.get(kind, [])} for kind in KINDS}})

    def view(self, kinds: Iterable[str] | None = None) -> View:
        return self.state.view(kinds)

    def list(self, kind: str) -> list[dict[str, Any]]:
        return self.state.list(kind)

    def get(self, kind: str, object_id: str) -> dict[str, Any] | None:
        return self.state.get(kind, object_id)

    def peek(self, kind: str, object_id: str) -> dict[str, Any] | None:
        return self.state.peek(kind, object_id)

    def write(self, batch: list[dict[str, Any]], *,
              copies: bool = True) -> list[dict[str, Any]]:
        """As RaftStore.write: copies, or the stored objects themselves (read-only)."""
        if copies:
            return self.state.apply(batch, stamp(self.clock()))
        return [c.object for c in self.state.apply_changes(batch, stamp(self.clock()))]
