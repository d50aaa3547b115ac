"""The swarmletd process: owns the data dir, the API servers, signals and shutdown.

One daemon per host. Until `swarm init` or `swarm join` it is a plain node agent that
answers on its unix socket; the swarm role is then taken (and restored at restart) from
what the data dir holds.
"""

from __future__ import annotations

import fcntl
import logging
import os
import resource
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from swarmlet.api.cluster_server import ClusterApiServer
from swarmlet.api.engine.frontend import EngineFrontend, EngineState
from swarmlet.api.engine.routes import engine_router
from swarmlet.api.metrics import add_metrics_routes
from swarmlet.api.metrics_server import MetricsServer
from swarmlet.api.router import Router
from swarmlet.api.server import UnixApiServer
from swarmlet.api.swarm import add_swarm_routes
from swarmlet.api.system import add_system_routes
from swarmlet.daemon.memory import TRIM_EVERY, release_free_memory
from swarmlet.errors import SwarmletError
from swarmlet.metrics import agent_registry
from swarmlet.node.config import Config
from swarmlet.node.swarm import SwarmNode
from swarmlet.transport.async_server import AsyncTlsServer, Response
from swarmlet.transport.limits import CLUSTER_LIMITS, UNIX_LIMITS
from swarmlet.transport.threads import serve_in_thread

log = logging.getLogger("swarmletd")

SWITCH_INTERVAL = 0.0005  # seconds


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


def raise_file_limit() -> None:
    """Open files up to the hard limit (as Docker's unit sets LimitNOFILE): a manager holds
    a connection or two per node of the swarm on its cluster port."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        wanted = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open files limit from %d: %s", soft, exc)


def open_files() -> int:
    """This process's limit of open files, once raised (raise_file_limit)."""
    raise_file_limit()
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


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
        limits = replace(CLUSTER_LIMITS, per_peer=config.cluster_connections_per_peer,
                         connections=min(CLUSTER_LIMITS.connections, open_files() - 512))
        self.engine = EngineState(Router(), config.dockerd_socket)
        engine_router(self.node, self.engine)
        self.node.cluster_server = lambda address, context, identify, lookup: ClusterApiServer(
            address, self.router, context, identify, lookup, limits, engine=self.engine)
        add_system_routes(self.router, self.node.info)
        add_swarm_routes(self.router, self.node)
        # Prometheus metrics: the process's, and the cluster's while this node is a manager.
        self.metrics = agent_registry(lambda: getattr(self.node.manager, "metrics", None))
        add_metrics_routes(self.router, self.metrics)
        self._servers: list[Any] = []

    def run(self) -> None:
        check_data_dir(self.config.data_dir)
        # The cluster port's loop gives up the GIL at every socket call; with a busy thread
        # beside it (a control pass, the dataplane's netlink parsing) it waits up to one
        # switch interval each time to get it back. 5 ms (Python's default) made heartbeats
        # of a 1,000-node swarm wait for hundreds of ms after every change.
        sys.setswitchinterval(SWITCH_INTERVAL)
        lock = DataDirLock(self.config.data_dir)
        try:
            self.node.restore()
            unix = UnixApiServer(self.config.socket, self.router)
            self._servers.append(unix)
            serve_in_thread(unix, "api-unix")
            if self.config.engine_socket is not None:
                self._serve_engine(self.config.engine_socket)
            if self.config.metrics_host_port is not None:
                self._serve_metrics(self.config.metrics_host_port)
            log.info("swarmletd up: API on %s, data dir %s",
                     self.config.socket, self.config.data_dir)
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda s, _f: self.stop(signal.Signals(s).name))
            while not self.stopping.wait(TRIM_EVERY):
                release_free_memory()
        finally:
            self.shutdown()
            lock.release()

    def _serve_engine(self, path: Path) -> None:
        """The Docker Engine API on its own unix socket (docs/docker-api.md)."""
        try:
            server = AsyncTlsServer(path, None, UNIX_LIMITS, _unclaimed,
                                    EngineFrontend(self.engine, UNIX_LIMITS, local=True))
        except OSError as exc:
            raise SwarmletError(f"cannot listen on {path}: {exc.strerror}") from exc
        self._servers.append(server)
        serve_in_thread(server, "api-engine")

    def _serve_metrics(self, address: tuple[str, int]) -> None:
        """Plain-HTTP GET /metrics on `metrics_addr` (api/metrics_server.py)."""
        try:
            server = MetricsServer(address, self.metrics)
        except OSError as exc:
            raise SwarmletError(f"cannot listen on metrics_addr {address[0]}:{address[1]}: "
                                f"{exc.strerror}") from exc
        self._servers.append(server)
        serve_in_thread(server, "metrics")
        log.info("metrics on http://%s:%d/metrics", *address)

    def stop(self, reason: str) -> None:
        log.info("%s: shutting down", reason)
        self.stopping.set()

    def shutdown(self) -> None:
        self.node.shutdown()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()
        self.engine.shutdown()
        log.info("swarmletd stopped")


async def _unclaimed(*_: Any) -> Response:
    """The engine socket's frontend claims every request: nothing reaches this."""
    return Response(500, b'{"message": "unclaimed request"}')
