"""The latest snapshot and the browsers waiting for the next one."""

from __future__ import annotations

import json
import threading
from typing import Any


class Hub:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._version = 0
        self._data = ""
        self.manager_ids: set[str] = set()  # for the certificate check (access.py)

    def publish(self, snapshot: dict[str, Any]) -> None:
        data = json.dumps(snapshot, separators=(",", ":"))
        with self._changed:
            if data == self._data:
                return  # an event that changed nothing on the page: nothing to send
            self._data = data
            self._version += 1
            self.manager_ids = {n["id"] for n in snapshot.get("nodes", [])
                                if n.get("role") == "manager"}
            self._changed.notify_all()

    def latest(self) -> tuple[int, str]:
        with self._changed:
            return self._version, self._data

    def wait(self, seen: int, timeout: float) -> tuple[int, str]:
        """The snapshot after version `seen`, or the same one after `timeout`."""
        with self._changed:
            self._changed.wait_for(lambda: self._version != seen, timeout)
            return self._version, self._data
