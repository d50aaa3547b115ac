"""Servers run in daemon threads: the agent's main thread supervises, it never serves."""

from __future__ import annotations

import threading
from typing import Protocol


class Server(Protocol):
    """socketserver's way of running a server, which the asyncio one keeps too."""

    def serve_forever(self) -> None: ...

    def shutdown(self) -> None: ...

    def server_close(self) -> None: ...


def serve_in_thread(server: Server, name: str) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    return thread
