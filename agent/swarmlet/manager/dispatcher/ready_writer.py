"""Nodes marked ready in batches, apart from their heartbeats.

A heartbeat is answered at once from memory (the cluster port answers it on its loop); when
it brings news, that a node is up or has a new address, the update is handed here, and one
thread writes all the updates that came meanwhile in one Raft batch. Thousands of nodes
joining at once cost a few writes a second, not one each, and no heartbeat ever waits for
a commit. A batch refused (a conflicting write, a lost leadership) is dropped: the node's
next heartbeat brings the news again.
"""

from __future__ import annotations

import logging
import threading

from swarmlet.manager.dispatcher.heartbeats import ready_update
from swarmlet.store.raft import RaftStore
from swarmlet.store.state import StoreError

log = logging.getLogger("swarmlet.dispatcher")

MAX_BATCH = 500  # node updates in one Raft entry


class ReadyWriter:
    def __init__(self, store: RaftStore) -> None:
        self.store = store
        self._pending: dict[str, str] = {}  # node ID -> the address it beat from
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dispatcher-ready",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def submit(self, node_id: str, addr: str) -> None:
        with self._lock:
            self._pending[node_id] = addr
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait()
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the thread must outlive a surprise: the next beat retries
                log.exception("marking nodes ready failed")

    def flush(self) -> int:
        """Write what is pending (at most MAX_BATCH per batch); the nodes written."""
        with self._lock:
            pending, self._pending = self._pending, {}
        updates = []
        for node_id, addr in pending.items():
            update = ready_update(self.store.peek("node", node_id), addr)
            if update is not None:
                updates.append(update)
        written = 0
        for start in range(0, len(updates), MAX_BATCH):
            chunk = updates[start:start + MAX_BATCH]
            try:
                self.store.write([{"op": "update", "kind": "node", "object": node}
                                  for node in chunk], timeout=5)
            except StoreError as exc:
                log.debug("%d nodes not marked ready: %s", len(chunk), exc)
                continue
            written += len(chunk)
            for node in chunk:
                log.info("node %s is ready", node["ID"])
        return written
