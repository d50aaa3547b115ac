"""The store's state machine (state.py) in memory, without Raft: what plans simulate a
change on, and what tests drive control passes with. The calls a pass makes (list, get,
write) behave as on the replicated store: versions checked, batches all-or-nothing."""

from __future__ import annotations

from typing import Any

from swarmlet.store.objects import now_rfc3339
from swarmlet.store.state import KINDS, StoreState


class MemoryStore:
    def __init__(self, objects: dict[str, list[dict[str, Any]]] | None = None) -> None:
        """Empty, or a copy of `objects` (kind -> objects as the store lists them)."""
        self.state = StoreState()
        if objects:
            index = max((o.get("Version", {}).get("Index", 0)
                         for found in objects.values() for o in found), default=0)
            self.state.restore({"index": index, "objects": {
                kind: {o["ID"]: o for o in objects.get(kind, [])} for kind in KINDS}})

    def list(self, kind: str) -> list[dict[str, Any]]:
        return self.state.list(kind)

    def get(self, kind: str, object_id: str) -> dict[str, Any] | None:
        return self.state.get(kind, object_id)

    def write(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.state.apply(batch, now_rfc3339())
