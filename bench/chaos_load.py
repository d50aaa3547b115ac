"""The write load of bench/chaos.py, and the ledger that says what became of each write.

Writers on the host send writes to the managers' cluster port (mutual TLS, a client
certificate of `swarm ca client-cert`), one writer per manager (a manager that does not
answer holds up only its own writer, for its timeout): service creates
(unique names, 0 replicas: nothing runs) and node label adds (a unique key each, GET then
POST with the version, as the CLI does). Every write's outcome is logged as the client saw
it: acknowledged, failed (an answer that says it did not happen: 4xx, or 503 "no leader"),
or unknown (a timeout, a dropped connection, 503 "may or may not have taken effect").
`verify()` reads the swarm back: an acknowledged write that is missing is LOST; a failed or
unknown one that is there committed anyway (a client must check before it retries).
"""

from __future__ import annotations

import itertools
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swarmlet.client import ApiResponseError, Client
from swarmlet.errors import SwarmletError

PREFIX = "chaos-"
IMAGE = "swarmlet/demo:latest"


@dataclass
class Write:
    kind: str          # "service" or "label"
    key: str           # the service's name, or the label's key
    manager: str       # the IP it was sent to
    started: float
    ended: float = 0.0
    outcome: str = ""  # "ack", "failed" or "unknown"
    detail: str = ""


def client_tls(certs: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    ctx.check_hostname = False  # the managers' certificates name node IDs
    ctx.load_cert_chain(str(certs / "cert.pem"), str(certs / "key.pem"))
    return ctx


@dataclass
class WriteLoad:
    managers: list[str]            # IPs
    tls: ssl.SSLContext
    node_id: str                   # the node whose labels are written
    timeout: float = 3.0
    writes: list[Write] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _seq: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, ip: str) -> Client:
        return Client(f"tcp://{ip}:2377", tls_context=self.tls, timeout=self.timeout)

    def start(self) -> None:
        self._stop.clear()
        self._workers = [threading.Thread(target=self._run, args=(ip,), daemon=True)
                         for ip in self.managers]
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=self.timeout * 3)

    def _run(self, ip: str) -> None:
        client = self.client(ip)
        while not self._stop.is_set():
            seq = next(self._seq)
            kind = "service" if seq % 2 else "label"
            write = Write(kind, f"{PREFIX}{seq}", ip, time.time())
            try:
                if kind == "service":
                    self._create(client, write.key)
                else:
                    self._label(client, write.key)
                write.outcome = "ack"
            except ApiResponseError as err:
                write.outcome = "unknown" if "may or may not" in str(err) else "failed"
                write.detail = f"{err.status} {err}"
            except (SwarmletError, OSError) as err:
                write.outcome, write.detail = "unknown", str(err)
                client = self.client(ip)  # a fresh connection next time
            write.ended = time.time()
            with self._lock:
                self.writes.append(write)
            if write.outcome != "ack":
                self._stop.wait(0.05)

    def _create(self, client: Client, name: str) -> None:
        client.post("/services/create", {
            "Name": name, "TaskTemplate": {"ContainerSpec": {"Image": IMAGE}},
            "Mode": {"Replicated": {"Replicas": 0}}})

    def _label(self, client: Client, key: str) -> None:
        node = client.get(f"/nodes/{self.node_id}")
        spec = dict(node["Spec"], Labels={**(node["Spec"].get("Labels") or {}), key: "1"})
        client.post(f"/nodes/{self.node_id}/update", spec, version=node["Version"]["Index"])

    # --- what became of them --------------------------------------------------------------

    def acked_between(self, start: float, end: float, manager: str | None = None) -> int:
        return sum(1 for w in self.writes if w.outcome == "ack" and start <= w.ended <= end
                   and (manager is None or w.manager == manager))

    def longest_gap(self, start: float, end: float) -> float:
        """The longest time in [start, end] with no write acknowledged."""
        times = sorted(w.ended for w in self.writes
                       if w.outcome == "ack" and start <= w.ended <= end)
        marks = [start, *times, end]
        return max(b - a for a, b in itertools.pairwise(marks))

    def present(self, ip: str) -> set[tuple[str, str]]:
        """(kind, key) of every chaos write the swarm holds, read through the manager at `ip`
        (once it has a leader)."""
        client = self.client(ip)
        services = {s["Spec"]["Name"] for s in client.get("/services")}
        labels = set(client.get(f"/nodes/{self.node_id}")["Spec"].get("Labels") or {})
        return {("service", name) for name in services} | {("label", k) for k in labels}

    def verify(self, ip: str) -> dict[str, int]:
        """What became of every write, counted."""
        present = self.present(ip)
        counts = {"acknowledged": 0, "lost": 0, "failed": 0, "failed_but_committed": 0,
                  "unknown": 0, "unknown_committed": 0}
        for write in self.writes:
            there = (write.kind, write.key) in present
            if write.outcome == "ack":
                counts["acknowledged"] += 1
                counts["lost"] += not there
            elif write.outcome == "failed":
                counts["failed"] += 1
                counts["failed_but_committed"] += there
            else:
                counts["unknown"] += 1
                counts["unknown_committed"] += there
        return counts
