"""A threaded HTTP server on a root-only unix socket: the agent's API socket and its Docker
network driver socket are both one. Connections are capped (transport/limits.py) and every socket
read or write times out, so a stalled client cannot hold a thread forever."""

from __future__ import annotations

import logging
import os
import socket
import socketserver
from pathlib import Path
from typing import Any

from swarmlet.errors import SwarmletError
from swarmlet.transport.limits import UNIX_LIMITS, LimitedThreadingMixIn

log = logging.getLogger("swarmlet.api")


class UnixSocketServer(LimitedThreadingMixIn, socketserver.UnixStreamServer):
    limits = UNIX_LIMITS
    peer = "local"  # what handlers see as the client address
    in_use = "another swarmletd is already listening on {path}"

    def __init__(self, path: Path, handler: type[socketserver.BaseRequestHandler]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() or path.is_symlink():
            if _answers(path):
                raise SwarmletError(self.in_use.format(path=path))
            path.unlink()  # stale: left by a process that was killed
        old_umask = os.umask(0o177)  # root only: the socket is born 0600
        try:
            super().__init__(str(path), handler)
        finally:
            os.umask(old_umask)
        self.path = path

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, _ = self.socket.accept()
        # Per read or write; the API's handler also bounds each request as a whole.
        conn.settimeout(max(self.limits.idle, self.limits.write))
        return conn, (self.peer, 0)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("unix socket client: connection failed", exc_info=True)

    def server_close(self) -> None:
        super().server_close()
        self.path.unlink(missing_ok=True)


def _answers(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()
