"""The in-memory store for control passes in tests (swarmlet.store.memory), counting the
batches written and writing objects unchecked, as an older version could have."""

from __future__ import annotations

from swarmlet.store.memory import MemoryStore as StoreInMemory


class MemoryStore(StoreInMemory):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0  # batches written, to see that a steady failure costs no writes

    def get(self, kind: str, object_id: str) -> dict:
        found = super().get(kind, object_id)
        assert found is not None, f"no {kind} {object_id}"
        return found

    def write(self, batch: list[dict]) -> list[dict]:
        self.writes += 1
        return super().write(batch)

    def create(self, kind: str, obj: dict) -> dict:
        """Straight into the store, unchecked: as an older version could have written it."""
        [stored] = self.write([{"op": "create", "kind": kind, "object": obj}])
        return stored

    def update(self, kind: str, obj: dict) -> dict:
        [stored] = self.write([{"op": "update", "kind": kind, "object": obj}])
        return stored
