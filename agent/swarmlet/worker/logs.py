"""The worker's half of service logs: for each log subscription that the leader hands out
with the assignments, read this node's containers of that service and publish their lines to
the manager that asked (see manager/logbroker.py)."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from swarmlet.client import Client
from swarmlet.errors import SwarmletError
from swarmlet.transport.engine import Engine
from swarmlet.worker.containers import NODE_LABEL, SERVICE_LABEL, TASK_LABEL

log = logging.getLogger("swarmlet.logs")

BATCH_LINES = 200


class LogPublisher:
    def __init__(self, node_id: str, client_for: Callable[[str], Client]) -> None:
        self.node_id = node_id
        self.client_for = client_for
        self.hostname = socket.gethostname()
        self._active: dict[str, threading.Event] = {}  # subscription ID → its stop flag

    def update(self, subscriptions: list[dict[str, Any]]) -> None:
        """Start publishing for new subscriptions; stop those that are gone."""
        wanted = {s["ID"]: s for s in subscriptions}
        for sub_id in [s for s in self._active if s not in wanted]:
            self._active.pop(sub_id).set()
        for sub_id, sub in wanted.items():
            if sub_id not in self._active:
                stop = threading.Event()
                self._active[sub_id] = stop
                threading.Thread(target=self._publish, args=(sub, stop), daemon=True,
                                 name=f"logs-{sub_id[:8]}").start()

    def _publish(self, sub: dict[str, Any], stop: threading.Event) -> None:
        client = Engine(timeout=60)
        try:
            found = client.containers({"label": [
                f"{NODE_LABEL}={self.node_id}", f"{SERVICE_LABEL}={sub['ServiceID']}"]})
            readers = [threading.Thread(target=self._read, args=(sub, client, c, stop),
                                        daemon=True) for c in found]
            for reader in readers:
                reader.start()
            for reader in readers:
                reader.join()
            if not sub["Follow"]:
                self._send(sub, [], done=True)
        finally:
            client.close()

    def _read(self, sub: dict[str, Any], client: Engine, container: dict[str, Any],
              stop: threading.Event) -> None:
        tail = sub["Tail"] if sub["Tail"] >= 0 else "all"
        labels = container.get("Labels") or {}
        container_name = (container.get("Names") or ["?"])[0].lstrip("/")
        name = labels.get("swarmlet.task.name", container_name)
        task_id = labels.get(TASK_LABEL, "")
        batch: list[dict[str, Any]] = []
        try:
            stream = client.log_frames(container["Id"], tail, sub["Follow"], sub.get("Since"),
                                       timestamps=True)
            for kind, chunk in stream:
                for line in chunk.decode(errors="replace").splitlines():
                    time, _, text = line.partition(" ")  # dockerd's RFC 3339 timestamp
                    batch.append({"Task": task_id, "TaskName": name, "Node": self.hostname,
                                  "Line": text, "NodeID": self.node_id, "Time": time,
                                  "Stream": "stderr" if kind == 2 else "stdout"})
                if len(batch) >= BATCH_LINES or sub["Follow"]:
                    if not self._send(sub, batch, done=False) or stop.is_set():
                        stream.close()
                        return
                    batch = []
        except Exception as exc:
            log.debug("logs of %s: %s", container_name, exc)
        if batch:
            self._send(sub, batch, done=False)

    def _send(self, sub: dict[str, Any], lines: list[dict[str, Any]], done: bool) -> bool:
        try:
            answer = self.client_for(sub["Publisher"]).post("/logbroker/publish", {
                "ID": sub["ID"], "Lines": lines, "Done": done})
        except SwarmletError as exc:
            log.debug("publishing logs to %s: %s", sub["Publisher"], exc)
            return False
        return bool(answer and answer.get("Listening"))
