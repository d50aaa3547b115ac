"""Undo pysyncobj's replacement of socket.inet_ntop, which breaks pyroute2 in the agent.

pysyncobj 0.3.x imports its `win_inet_pton` module on every platform, and that module assigns
its Windows-only `inet_ntop` to `socket.inet_ntop` unconditionally (only `inet_pton` sits under
its `os.name == 'nt'` test). On Linux every call then fails with "not_windows() takes 0
positional arguments", and pyroute2, which decodes every address with `inet_ntop`, returns
None for addresses and fails to program anything. A manager imports pysyncobj (the Raft store)
when it takes the role, a worker never: the node calls restore_inet_ntop() right after that
import (node/swarm.py), and the netlink thread before its first IPRoute. pysyncobj's module
runs only once (a cached module never runs again, so nothing can re-break it later): restore
the C function, and rebind the name in the pyroute2 modules that copied the broken one at
their import.
"""

from __future__ import annotations

import _socket
import socket
import sys


def restore_inet_ntop() -> None:
    good = _socket.inet_ntop
    socket.inet_ntop = good
    for name, module in list(sys.modules.items()):
        # vars(), not getattr(): a lookup of a missing name would run pyroute2's deferred
        # package __init__ (net/pyroute.py)
        if name.startswith("pyroute2") and vars(module).get("inet_ntop", good) is not good:
            module.inet_ntop = good  # type: ignore[attr-defined]


restore_inet_ntop()
