"""A threaded HTTP server on a root-only unix socket: the agent's API socket and its Docker
network driver socket are both one."""

from __future__ import annotations

import os
import socket
import socketserver
from pathlib import Path
from typing import Any

from swarmlet.errors import SwarmletError


class UnixSocketServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
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
        return conn, (self.peer, 0)

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
