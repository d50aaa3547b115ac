"""`swarmlet events` on a swarm of three machines (the module-shared swarm): Docker's swarm
event messages as a user watching `swarmlet events --format json` sees them, within a
second of the change that made them; the same history again with --since/--until and
filters, as `docker events` gives it."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time

from swarm_cluster import (
    SHARED_MANAGER,
    SHARED_WORKERS,
    shared_cluster,  # noqa: F401 (a fixture)
)

from conftest import SWARMLET

MANAGER, (W1, W2) = SHARED_MANAGER, SHARED_WORKERS
IMAGE = "swarmlet/demo:latest"


class Watcher:
    """`swarmlet events --format json` running on a machine, its lines read as they come."""

    def __init__(self, cluster, machine: str, flags: str = "") -> None:
        self.proc = subprocess.Popen(
            [SWARMLET, "machine", "ssh", machine, "--", f"swarmlet events --format json {flags}"],
            env=cluster.machines.env, stdout=subprocess.PIPE, text=True)
        self.events: queue.Queue[tuple[float, dict]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip():
                self.events.put((time.monotonic(), json.loads(line)))

    def wait_for(self, check, timeout: float = 10.0) -> tuple[float, dict]:
        """The first event `check` accepts (earlier ones are dropped), and when it came."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "no such event came"
            seen, event = self.events.get(timeout=left)
            if check(event):
                return seen, event

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def test_events_stream_as_the_swarm_changes_and_replay_with_since(shared_cluster):  # noqa: F811
    c = shared_cluster
    # A window wholly in the past ends at once (nothing happened in 1970).
    assert c.cli(MANAGER, "events --since 0 --until 1 --format json") == ""
    started = time.time()
    watcher = Watcher(c, MANAGER)
    time.sleep(1.0)  # the stream is open before the changes
    try:
        asked = time.monotonic()
        c.cli(MANAGER, f"service create -d --name evweb --replicas 1 {IMAGE}")
        done = time.monotonic()
        seen, created = watcher.wait_for(lambda e: e["Type"] == "service"
                                         and e["Action"] == "create")
        assert created["Actor"]["Attributes"] == {"name": "evweb"}
        assert created["scope"] == "swarm" and created["timeNano"] // 10**9 == created["time"]
        assert seen - done < 1.0, f"{seen - asked:.2f} s after the create was asked"
        service_id = created["Actor"]["ID"]
        _, task = watcher.wait_for(lambda e: e["Type"] == "task"
                                   and e["Actor"]["Attributes"].get("state.new") == "running")
        assert task["Actor"]["Attributes"]["service.name"] == "evweb"

        c.cli(MANAGER, "service scale evweb=3 -d")
        done = time.monotonic()
        seen, scaled = watcher.wait_for(lambda e: e["Type"] == "service"
                                        and "replicas.new" in e["Actor"]["Attributes"])
        assert scaled["Action"] == "update" and seen - done < 1.0
        assert {k: v for k, v in scaled["Actor"]["Attributes"].items() if "replicas" in k} \
            == {"replicas.old": "1", "replicas.new": "3"}

        c.cli(MANAGER, f"node update --availability drain {W2}")
        try:
            seen, drained = watcher.wait_for(lambda e: e["Type"] == "node"
                                             and "availability.new" in e["Actor"]["Attributes"])
            assert drained["Actor"]["Attributes"] == {
                "name": W2, "availability.old": "active", "availability.new": "drain"}
        finally:
            c.cli(MANAGER, f"node update --availability active {W2}")
        c.cli(MANAGER, "service rm evweb")
        _, removed = watcher.wait_for(lambda e: e["Type"] == "service"
                                      and e["Action"] == "remove")
        assert removed["Actor"]["ID"] == service_id
    finally:
        watcher.stop()
        c.cli(MANAGER, "service rm evweb", check=False)

    # The same history again, for one service, between two times: it ends by itself.
    until = time.time() + 1
    replay = c.cli(MANAGER, f"events --since {started:.3f} --until {until:.3f} "
                            "--filter type=service --filter service=evweb "
                            "--format '{{.Action}} {{.Actor.Attributes.name}}'").splitlines()
    assert replay[0] == "create evweb" and replay[-1] == "remove evweb", replay
    assert set(replay[1:-1]) == {"update evweb"}
    lines = c.cli(MANAGER, f"events --since {started:.3f} --until {until:.3f} "
                           "--filter type=task --filter service=evweb").splitlines()
    assert lines and all(" task " in line and "service.name=evweb" in line for line in lines)
    bad = c.run(MANAGER, "swarmlet events --filter type=container", check=False)
    assert bad.returncode != 0 and "type=container" in bad.stderr
    bad = c.run(MANAGER, "swarmlet events --since yesterday", check=False)
    assert bad.returncode != 0 and "--since" in bad.stderr
