"""What a manager accepts to unpickle from Raft (store/raft_pickle.py)."""

from __future__ import annotations

import os
import pickle

import pytest
from pysyncobj.node import TCPNode

from swarmlet.store import raft_pickle


class Payload:
    def __reduce__(self) -> tuple:
        return (os.system, ("true",))


def test_the_store_data_and_pysyncobj_messages_come_back_whole():
    message = {"type": "append_entries", "term": 3, "entries": [(b"\x01cmd", 7, 3)],
               "members": {TCPNode("127.0.0.1:2378")}, "frozen": frozenset({"a"}),
               "batch": ([{"op": "create", "object": {"Spec": {"Name": "web"}}}], "2026")}
    back = raft_pickle.loads(pickle.dumps(message, 2))
    assert back["entries"] == message["entries"] and back["batch"] == message["batch"]
    assert {str(n) for n in back["members"]} == {"127.0.0.1:2378"}
    assert back["frozen"] == frozenset({"a"})


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_a_pickle_that_names_a_function_is_refused_before_it_runs(protocol):
    with pytest.raises(pickle.UnpicklingError, match=r"posix\.system is not a type the store"):
        raft_pickle.loads(pickle.dumps({"entries": [Payload()]}, protocol))
