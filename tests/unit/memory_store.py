"""An in-memory store for control passes in tests: the store's deterministic state machine
(store/state.py) behind the two calls a pass makes (list, write), without Raft."""

from __future__ import annotations

from swarmlet.store.objects import now_rfc3339
from swarmlet.store.state import StoreState


class MemoryStore:
    def __init__(self) -> None:
        self.state = StoreState()
        self.writes = 0  # batches written, to see that a steady failure costs no writes

    def list(self, kind: str) -> list[dict]:
        return self.state.list(kind)

    def get(self, kind: str, object_id: str) -> dict:
        found = self.state.get(kind, object_id)
        assert found is not None, f"no {kind} {object_id}"
        return found

    def write(self, batch: list[dict]) -> list[dict]:
        self.writes += 1
        return self.state.apply(batch, now_rfc3339())

    def create(self, kind: str, obj: dict) -> dict:
        """Straight into the store, unchecked: as an older version could have written it."""
        [stored] = self.write([{"op": "create", "kind": kind, "object": obj}])
        return stored

    def update(self, kind: str, obj: dict) -> dict:
        [stored] = self.write([{"op": "update", "kind": kind, "object": obj}])
        return stored
