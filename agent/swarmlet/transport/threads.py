"""Servers run in daemon threads: the agent's main thread supervises, it never serves."""

from __future__ import annotations

import socketserver
import threading


def serve_in_thread(server: socketserver.BaseServer, name: str) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    return thread
