"""Group commit: writes that arrive while a proposal is in flight go together in the next one.

One Raft entry then carries many writes, so the messages, the encryption and the journal
append of an entry are paid once per group rather than once per write. One writer leads at
a time: it proposes everything queued (its own write first in line), hands the results to
the others, and goes on until its own write is done; then the first still waiting leads.
A lone writer proposes at once, as before: grouping adds no wait.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_GROUP = 128  # writes in one entry: keeps an entry (and an apply) small


@dataclass(eq=False)
class _Write:
    batch: list[dict]
    wake: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    finished: bool = False
    result: Any = None
    error: BaseException | None = None

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


class GroupCommit:
    """`propose(batches, timeout)` commits a group and returns one result per batch, or
    raises for them all. `timed_out()` makes the error of a write that waited `timeout`
    without being proposed."""

    def __init__(self, propose: Callable[[list[list[dict]], float], list[Any]],
                 timed_out: Callable[[], BaseException]) -> None:
        self._propose = propose
        self._timed_out = timed_out
        self._lock = threading.Lock()
        self._queue: deque[_Write] = deque()
        self._busy = False

    def submit(self, batch: list[dict], timeout: float) -> Any:
        me = _Write(batch)
        with self._lock:
            self._queue.append(me)
            if not self._busy:
                self._busy = me.lead = True
        if not me.lead and not me.wake.wait(timeout):
            with self._lock:
                if not me.lead and me in self._queue:  # never proposed: safe to give up
                    self._queue.remove(me)
                    raise self._timed_out()
            me.wake.wait()  # in a proposal now: its outcome comes with the group's
        if me.lead and not me.finished:
            self._lead(me, timeout)
        return me.outcome()

    def _lead(self, me: _Write, timeout: float) -> None:
        while not me.finished:
            with self._lock:
                group = [self._queue.popleft()
                         for _ in range(min(len(self._queue), MAX_GROUP))]
            try:
                results = self._propose([w.batch for w in group], timeout)
                for write, result in zip(group, results, strict=True):
                    write.result = result
            except Exception as exc:  # the group shares one fate
                for write in group:
                    write.error = exc
            for write in group:
                write.finished = True
                write.wake.set()
        with self._lock:
            if self._queue:
                following = self._queue[0]
                following.lead = True
                following.wake.set()
            else:
                self._busy = False
