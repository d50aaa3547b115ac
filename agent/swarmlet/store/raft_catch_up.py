"""A follower's answer when an AppendEntries starts past the end of its log: where the leader
should send from next (pysyncobj's `next_node_idx`).

pysyncobj's follower answers "send from my last index + 1". Its leader sends a lagging
follower the whole gap at once, batch after batch (each batch's previous entry is the last of
the batch before), and takes the follower's answers in order. A follower whose last entries
are an old leader's uncommitted ones then answers the first batch "your previous entry
conflicts with mine: go back one" and every later batch "I have no such entry: send from
my last + 1" -- past the conflict again. The last answer wins, so the leader sends the same
batches again and again: the follower never takes another entry (seen in bench/chaos.py's
partitions: a leader cut off under writes came back with two such entries and stayed behind;
the next cut left the swarm without a quorum, writes failing until the end).

Answered here instead: "send from my commit index + 1". Committed entries are in every
later leader's log (Raft's leader completeness), so the next batch's previous entry matches;
the follower drops whatever of its own follows and takes the leader's. A follower that was
only behind gets again the few entries between its commit index and its end.
"""

from __future__ import annotations

from typing import Any

from pysyncobj import SyncObj


def send_from(last_index: int, commit_index: int) -> int:
    """Where a follower asks its leader to send from, when the leader's batch began past the
    end of its log: after the last entry it knows to be the leader's too."""
    return min(last_index, commit_index) + 1


class CatchUpHint(SyncObj):  # type: ignore[misc]
    """SyncObj whose follower answers a batch past its end with send_from()."""

    def _SyncObj__sendNextNodeIdx(self, node: Any, reset: bool = False,
                                  nextNodeIdx: int | None = None,
                                  success: bool = False) -> None:
        # pysyncobj leaves the index out only here on a reset without success: the previous
        # entry of the batch is missing (a conflict names its index, a success its end).
        if reset and not success and nextNodeIdx is None:
            log = self._SyncObj__raftLog
            nextNodeIdx = send_from(log[-1][1], self._SyncObj__raftCommitIndex)
        super()._SyncObj__sendNextNodeIdx(node, reset=reset, nextNodeIdx=nextNodeIdx,
                                          success=success)
