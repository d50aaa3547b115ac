"""The description a node reports about itself: Docker's Node.Description."""

from __future__ import annotations

import logging
import os
import platform
import socket
from typing import Any

from swarmlet.transport.engine import Engine

log = logging.getLogger("swarmlet.node")


def _memory_bytes() -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def engine_info() -> dict[str, Any]:
    """Version and labels of the local Docker Engine ("" when it does not answer)."""
    try:
        client = Engine(timeout=5)
        try:
            info = client.info()
            return {"EngineVersion": info.get("ServerVersion", ""),
                    "Labels": _labels(info.get("Labels") or [])}
        finally:
            client.close()
    except Exception as exc:  # the engine being away must not stop the agent
        log.warning("Docker Engine not reachable: %s", exc)
        return {"EngineVersion": "", "Labels": {}}


def _labels(pairs: list[str]) -> dict[str, str]:
    return dict(p.split("=", 1) if "=" in p else (p, "") for p in pairs)


def describe_node() -> dict[str, Any]:
    return {
        "Hostname": socket.gethostname(),
        "Platform": {"Architecture": platform.machine(), "OS": platform.system().lower()},
        "Resources": {"NanoCPUs": (os.cpu_count() or 1) * 10**9, "MemoryBytes": _memory_bytes()},
        "Engine": engine_info(),
    }
