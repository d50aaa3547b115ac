"""The swarmletd process: owns the data dir, the API servers, signals and shutdown.

One daemon per host. Until `swarm init` or `swarm join` it is a plain node agent that
answers on its unix socket; the swarm role is then taken (and restored at restart) from
what the data dir holds.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

from swarmlet.api.router import Router
from swarmlet.api.server import TlsApiServer, UnixApiServer
from swarmlet.api.swarm import add_swarm_routes
from swarmlet.api.system import add_system_routes
from swarmlet.daemon.memory import TRIM_EVERY, release_free_memory
from swarmlet.errors import SwarmletError
from swarmlet.node.config import Config
from swarmlet.node.swarm import SwarmNode
from swarmlet.transport.threads import serve_in_thread

log = logging.getLogger("swarmletd")


def check_data_dir(path: Path) -> None:
    """The data dir must be a directory we can write; made if missing."""
    if path.exists() and not path.is_dir():
        raise SwarmletError(f"data dir {path} is unusable: not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise SwarmletError(f"data dir {path} is unusable: {exc.strerror}") from exc
    probe = path / ".write-test"
    try:
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise SwarmletError(f"data dir {path} is unusable: {exc.strerror}") from exc


class DataDirLock:
    """An flock on <data dir>/swarmletd.pid: two daemons must never share one data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "swarmletd.pid"
        self.fh = open(self.path, "a+")  # noqa: SIM115 - held for the daemon's lifetime
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self.fh.seek(0)
            other = self.fh.read().strip() or "?"
            self.fh.close()
            raise SwarmletError(
                f"data dir {data_dir} is in use by another swarmletd (pid {other})") from exc
        self.fh.seek(0)
        self.fh.truncate()
        self.fh.write(f"{os.getpid()}\n")
        self.fh.flush()

    def release(self) -> None:
        self.fh.close()


class Daemon:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.stopping = threading.Event()
        self.router = Router()
        self.node = SwarmNode(config)
        self.node.cluster_server = lambda address, context, identify, lookup: TlsApiServer(
            address, self.router, context, identify, lookup)
        add_system_routes(self.router, self.node.info)
        add_swarm_routes(self.router, self.node)
        self._servers: list[Any] = []

    def run(self) -> None:
        check_data_dir(self.config.data_dir)
        lock = DataDirLock(self.config.data_dir)
        try:
            self.node.restore()
            unix = UnixApiServer(self.config.socket, self.router)
            self._servers.append(unix)
            serve_in_thread(unix, "api-unix")
            log.info("swarmletd up: API on %s, data dir %s",
                     self.config.socket, self.config.data_dir)
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda s, _f: self.stop(signal.Signals(s).name))
            while not self.stopping.wait(TRIM_EVERY):
                release_free_memory()
        finally:
            self.shutdown()
            lock.release()

    def stop(self, reason: str) -> None:
        log.info("%s: shutting down", reason)
        self.stopping.set()

    def shutdown(self) -> None:
        self.node.shutdown()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()
        log.info("swarmletd stopped")
