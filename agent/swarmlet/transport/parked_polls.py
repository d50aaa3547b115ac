"""Long polls parked on an asyncio loop, without a thread each (transport/parked.py).

Polls are grouped by what wakes them (their `subscribe`): a group holds one subscription,
and a wakeup, from whatever thread, becomes one job in the worker pool that asks every poll
of the group again, in turn. Wakeups that come while that job runs are folded into one more
pass after it, so a burst of store changes costs two passes, not one per change. A new poll
is asked once in the pool too (folded with the other new ones), so the loop itself never
computes an answer; a poll whose deadline passes gets its `unchanged` answer from a timer.

A change that concerns every node answers thousands of polls at once, and each answer is a
write on the loop, and brings the node's next poll back to it. Heartbeats are answered on
the same loop and must not wait for the whole burst:
- a wakeup waits BATCH for the changes that follow it (as SwarmKit's dispatcher batches a
  node's assignments for 100 ms): a network created and then allocated, a burst of task
  updates, are one answer per node, not one per write (new polls are not held back);
- the job hands its answers over in slices of SLICE as it goes, and the loop releases a
  slice at most every SLICE / RATE seconds: between two slices it reads and answers
  whatever else came, and a burst never takes more of the loop than RATE answers (and the
  polls they bring back) a second. 5,000 nodes get a change in 2.5 s at best;
- slower when the loop lags: a slice that runs more than LAG late doubles the wait before
  the next (up to MAX_INTERVAL), one on time halves it. A heartbeat waits about one turn
  of the loop, and a burst takes what the loop can spare, not more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from swarmlet.transport.parked import Parked

log = logging.getLogger("swarmlet.api")

Encode = Callable[[Any], bytes]
SLICE = 50  # answers released per turn of the loop (each is a TLS write, ~0.1 ms)
RATE = 2000.0  # answers released per second at most, in a burst
LAG = 0.02  # seconds late a slice may run before the next ones are spaced out more
MAX_INTERVAL = 0.4  # seconds between two slices at most (a slow host: 125 answers/s)
BATCH = 0.1  # seconds a wakeup waits for the changes that follow it


class _Poll:
    __slots__ = ("answered", "asked", "expired", "future", "parked")

    def __init__(self, parked: Parked, future: asyncio.Future[bytes]) -> None:
        self.parked = parked
        self.future = future
        self.asked = False  # its answer was looked for at least once
        self.expired = False  # its deadline passed before that first look
        # Its answer is computed and waits for its slice: no later pass may compute
        # another (the session moved on to the first: a second would be a complete set).
        self.answered = False


class _Group:
    def __init__(self, owner: ParkedPolls, subscribe: Callable[..., Any]) -> None:
        self.owner = owner
        self.polls: set[_Poll] = set()
        self.new: set[_Poll] = set()
        self.everyone = False  # a wakeup came: ask every poll, not only the new ones
        self.batching = False  # a wakeup waits BATCH for the changes that follow it
        self.running = False
        self.unsubscribe = subscribe(self._woken)

    def _woken(self) -> None:
        """From the notifying thread. A closed loop (the server stopped first) wakes no one."""
        with contextlib.suppress(RuntimeError):
            self.owner.loop.call_soon_threadsafe(self.wake)

    def wake(self) -> None:
        self.everyone = True
        if not self.batching:
            self.batching = True
            self.owner.loop.call_later(BATCH, self._batched)

    def _batched(self) -> None:
        self.batching = False
        self.kick()

    def add(self, poll: _Poll) -> None:
        self.polls.add(poll)
        self.new.add(poll)
        self.kick()

    def discard(self, poll: _Poll) -> None:
        self.polls.discard(poll)
        self.new.discard(poll)

    def kick(self) -> None:
        everyone = self.everyone and not self.batching
        if self.running or not (everyone or self.new):
            return
        targets = list(self.polls if everyone else self.new)
        if everyone:
            self.everyone = False
        self.new.clear()
        if not targets:
            return
        self.running = True
        owner = self.owner
        job = owner.loop.run_in_executor(owner.pool, _ask, targets, owner.encode,
                                         owner.hand_over)
        job.add_done_callback(lambda done: self._asked(targets, done))

    def _asked(self, targets: list[_Poll], job: asyncio.Future[list[_Answer]]) -> None:
        self.running = False
        try:
            answers = job.result()
        except BaseException:  # the pool is gone (shutting down): polls end with the loop
            log.debug("parked polls: a pass failed", exc_info=True)
            return
        # After the answers (in order): the polls looked at, for those whose deadline
        # passed before this first look.
        self.owner.release([*answers, *((poll, _LOOKED) for poll in targets)])
        self.kick()


_LOOKED = object()  # released after a pass's answers for each poll it looked at
_Answer = tuple[_Poll, Any]


def _ask(polls: list[_Poll], encode: Encode,
         hand_over: Callable[[list[_Answer]], None]) -> list[_Answer]:
    """In the pool: each poll's answer, encoded, for those that have one now. Every SLICE
    answers are handed over at once (to be written while the next are computed); the rest
    is returned."""
    answers: list[_Answer] = []
    for poll in polls:
        if poll.future.done() or poll.answered:
            continue  # timed out, its client is gone, or its answer waits to be released
        try:
            answer = poll.parked.answer()
            if answer is not None:
                answers.append((poll, encode(answer)))
                poll.answered = True
        except Exception as exc:
            answers.append((poll, exc))
            poll.answered = True
        if len(answers) >= SLICE:
            hand_over(answers)
            answers = []
    return answers


class ParkedPolls:
    def __init__(self, loop: asyncio.AbstractEventLoop, pool: Executor, encode: Encode) -> None:
        self.loop = loop
        self.pool = pool
        self.encode = encode
        self._groups: dict[Any, _Group] = {}
        self._released: deque[_Answer] = deque()
        self._releasing = False
        self._due = 0.0  # when the next slice is to run (loop time)
        self._interval = SLICE / RATE  # between two slices, as the loop keeps up

    def hand_over(self, answers: list[_Answer]) -> None:
        """From a pool thread: answers to release on the loop."""
        with contextlib.suppress(RuntimeError):  # the loop closed: polls end with it
            self.loop.call_soon_threadsafe(self.release, answers)

    def release(self, answers: list[_Answer]) -> None:
        """Queue answers; a slice of at most SLICE is given at a time, every SLICE / RATE
        seconds at most (one slice is scheduled at a time, whatever number of passes hand
        answers over meanwhile)."""
        self._released.extend(answers)
        if not self._releasing:
            self._releasing = True
            self._due = self.loop.time()
            self.loop.call_soon(self._release_slice)

    def _release_slice(self) -> None:
        # The loop's own lag paces the burst: a slice that runs late means the loop's
        # turns are long (reads queued behind the answers, the GIL shared with other
        # work, a busy host), and the next waits twice as long; on time, half as long.
        now = self.loop.time()
        if now - self._due > LAG:
            self._interval = min(self._interval * 2, MAX_INTERVAL)
        else:
            self._interval = max(self._interval / 2, SLICE / RATE)
        given = 0
        while self._released and given < SLICE:
            poll, answer = self._released.popleft()
            if answer is _LOOKED:
                poll.asked = True
                if poll.expired and not poll.future.done():
                    poll.future.set_result(self.encode(poll.parked.unchanged))
                    given += 1
            elif poll.future.done():
                continue
            elif isinstance(answer, BaseException):
                poll.future.set_exception(answer)
            else:
                poll.future.set_result(answer)
                given += 1
        if self._released:
            self._due = now + self._interval
            self.loop.call_at(self._due, self._release_slice)
        else:
            self._releasing = False

    def __len__(self) -> int:
        return sum(len(g.polls) for g in self._groups.values())

    async def wait(self, parked: Parked) -> bytes:
        """The poll's answer, encoded: once it has one, or `unchanged` at its deadline.
        The loop's clock is time.monotonic, the deadline's."""
        group = self._groups.get(parked.subscribe)
        if group is None:
            group = self._groups[parked.subscribe] = _Group(self, parked.subscribe)
        poll = _Poll(parked, self.loop.create_future())
        timer = self.loop.call_at(parked.deadline, self._expire, poll)
        group.add(poll)
        try:
            return await poll.future
        finally:
            timer.cancel()
            group.discard(poll)
            if not group.polls and not group.running:
                group.unsubscribe()  # an idle group keeps nothing alive (a former manager)
                if self._groups.get(parked.subscribe) is group:
                    del self._groups[parked.subscribe]

    def _expire(self, poll: _Poll) -> None:
        """A poll is looked at once before it may time out: `Wait: 0` asks for what there is
        now (the complete set first), not for `unchanged`."""
        if poll.future.done() or poll.answered:
            return  # its answer is on its way
        if not poll.asked:
            poll.expired = True  # answered after its first look (_release_slice)
            return
        poll.future.set_result(self.encode(poll.parked.unchanged))
