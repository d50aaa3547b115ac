"""What a manager unpickles from Raft: the store's own types, nothing else.

pysyncobj pickles its messages, its log entries and its snapshots, and an unpickler that
may import any name runs any code a frame carries. The Raft wire only opens frames sealed by
a member (store/raft_wire.py), but a member's key can leak, and a snapshot or journal file
can be altered on disk: so every pickle pysyncobj reads goes through StoreUnpickler, which
builds the plain data the store exchanges (dicts, lists, tuples, strings, bytes, numbers)
and the few classes named in ALLOWED, and refuses any other class or function by name.
install() points pysyncobj's loads and load at it (as raft_wire does for its wire).
"""

from __future__ import annotations

import io
import pickle
from typing import IO, Any

from pysyncobj import pickle as syncobj_pickle

# (module, name) a pickle of protocol 2 names for the store's data and pysyncobj's own.
ALLOWED = frozenset({
    ("_codecs", "encode"),            # bytes, in protocol 2
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("__builtin__", "set"),           # protocol 2 spells builtins the Python 2 way
    ("__builtin__", "frozenset"),
    ("pysyncobj.node", "Node"),       # membership changes and snapshots name members
    ("pysyncobj.node", "TCPNode"),
})


class StoreUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(
                f"raft: {module}.{name} is not a type the store exchanges")
        return super().find_class(module, name)


def loads(data: bytes | str) -> Any:
    return StoreUnpickler(io.BytesIO(syncobj_pickle.to_bytes(data))).load()


def load(file: IO[bytes]) -> Any:
    return StoreUnpickler(file).load()


def install() -> None:
    """Every pickle pysyncobj reads (messages, entries, snapshots) goes through loads/load."""
    syncobj_pickle.loads = loads  # type: ignore[assignment]
    syncobj_pickle.load = load  # type: ignore[assignment]
