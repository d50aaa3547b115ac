"""How the agent keeps glibc's malloc from holding memory it no longer uses
(bench/agent_idle.py). Nothing changes where the C library is not glibc."""

from __future__ import annotations

import ctypes
from typing import Any

M_ARENA_MAX = -8  # glibc's mallopt parameter
# How often free memory goes back to the system: each time costs well under a millisecond.
TRIM_EVERY = 60.0


def _libc_function(name: str) -> Any:
    try:
        return getattr(ctypes.CDLL(None), name)  # the process's own symbols: its C library's
    except (OSError, AttributeError):
        return None


def limit_malloc_arenas(arenas: int = 2) -> None:
    """glibc gives each thread that allocates an arena of its own (up to 8 per core), each
    holding freed memory of its own; the agent's ~15 threads are mostly idle and allocate
    little, so two arenas serve them with less memory kept. Set before any thread starts."""
    mallopt = _libc_function("mallopt")
    if mallopt is not None:
        mallopt(M_ARENA_MAX, arenas)


def release_free_memory() -> None:
    """Give free heap pages back to the system: glibc returns only the top of its main heap
    by itself, so pages freed below live blocks (startup, a join, a burst of requests) stay
    resident until someone asks (malloc_trim)."""
    malloc_trim = _libc_function("malloc_trim")
    if malloc_trim is not None:
        malloc_trim(0)
