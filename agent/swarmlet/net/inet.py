"""Undo pysyncobj's replacement of socket.inet_ntop, which breaks pyroute2 in the agent.

pysyncobj 0.3.x imports its `win_inet_pton` module on every platform, and that module assigns
its Windows-only `inet_ntop` to `socket.inet_ntop` unconditionally (only `inet_pton` sits under
its `os.name == 'nt'` test). On Linux every call then fails with "not_windows() takes 0
positional arguments", and pyroute2, which decodes every address with `inet_ntop`, returns
None for addresses and fails to program anything. The agent imports pysyncobj (the Raft store)
before the network code runs, so the fix is applied here, once and for all: import the module
(a cached module never runs again, so nothing can re-break it later), restore the C function,
and rebind the name in the pyroute2 modules that copied the broken one at their import.
"""

from __future__ import annotations

import _socket
import contextlib
import socket
import sys


def restore_inet_ntop() -> None:
    with contextlib.suppress(ImportError):
        import pysyncobj.win_inet_pton  # noqa: F401 - its import side effect happens now
    good = _socket.inet_ntop
    socket.inet_ntop = good
    for name, module in list(sys.modules.items()):
        # vars(), not getattr(): a lookup of a missing name would run pyroute2's deferred
        # package __init__ (net/pyroute.py)
        if name.startswith("pyroute2") and vars(module).get("inet_ntop", good) is not good:
            module.inet_ntop = good  # type: ignore[attr-defined]


restore_inet_ntop()
