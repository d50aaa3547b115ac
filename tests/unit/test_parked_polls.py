"""Parked long polls (transport/parked_polls.py): a change that answers thousands of polls
at once releases them a slice per turn of the loop, so what else the loop serves (the
heartbeats) is not held up by the whole burst."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from swarmlet.transport import parked_polls
from swarmlet.transport.parked import Parked
from swarmlet.transport.parked_polls import ParkedPolls


class Changes:
    """A subscription that every poll shares, and a version the polls answer from."""

    def __init__(self) -> None:
        self.version = 0
        self.callbacks: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        self.callbacks.append(callback)
        return lambda: self.callbacks.remove(callback)

    def change(self) -> None:
        self.version += 1
        for callback in list(self.callbacks):
            callback()

    def parked(self, held: int, wait: float = 30.0) -> Parked:
        return Parked(lambda: self.version if self.version != held else None,
                      self.subscribe, time.monotonic() + wait, "unchanged")


def test_a_burst_of_answers_leaves_the_loop_free_between_slices():
    polls = 3 * parked_polls.SLICE + 7

    async def scenario() -> tuple[list[int], list[bytes]]:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(2) as pool:
            parked = ParkedPolls(loop, pool, lambda value: str(value).encode())
            changes = Changes()
            waiting = [asyncio.ensure_future(parked.wait(changes.parked(0)))
                       for _ in range(polls)]
            while len(parked) < polls:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)  # every poll's first look: nothing yet
            answered_per_turn: list[int] = []
            changes.change()
            before = 0
            while before < polls:  # another client's request, served once per turn
                await asyncio.sleep(0)
                done = sum(w.done() for w in waiting)
                answered_per_turn.append(done - before)
                before = done
            return answered_per_turn, [w.result() for w in waiting]

    per_turn, answers = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert answers == [b"1"] * polls
    assert max(per_turn) <= parked_polls.SLICE
    assert sum(1 for n in per_turn if n) >= 4  # at least four turns served in between


def test_a_poll_without_wait_gets_what_there_is_and_one_with_wait_times_out():
    async def scenario() -> tuple[bytes, bytes]:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(2) as pool:
            parked = ParkedPolls(loop, pool, lambda value: str(value).encode())
            changes = Changes()
            changes.version = 5
            now = await parked.wait(changes.parked(0, wait=0))
            later = await parked.wait(changes.parked(5, wait=0.2))
            return now, later

    assert asyncio.run(asyncio.wait_for(scenario(), 10)) == (b"5", b'unchanged')


def test_changes_that_follow_each_other_closely_are_one_answer():
    async def scenario() -> bytes:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(2) as pool:
            parked = ParkedPolls(loop, pool, lambda value: str(value).encode())
            changes = Changes()
            waiting = asyncio.ensure_future(parked.wait(changes.parked(0)))
            await asyncio.sleep(0.1)  # its first look: nothing yet
            changes.change()  # a network created...
            await asyncio.sleep(parked_polls.BATCH / 4)
            changes.change()  # ...and allocated right after
            return await waiting

    assert asyncio.run(asyncio.wait_for(scenario(), 10)) == b"2"


def test_an_answer_waiting_for_its_slice_is_not_computed_again():
    polls = 20 * parked_polls.SLICE  # released over half a second
    computed: list[int] = []

    async def scenario() -> list[bytes]:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(2) as pool:
            parked = ParkedPolls(loop, pool, lambda value: str(value).encode())
            changes = Changes()

            def counted(held: int) -> Parked:
                poll = changes.parked(held)
                answer = poll.answer

                def counting() -> object:
                    value = answer()
                    if value is not None:
                        computed.append(value)
                    return value
                poll.answer = counting
                return poll

            waiting = [asyncio.ensure_future(parked.wait(counted(0))) for _ in range(polls)]
            await asyncio.sleep(0.2)  # every poll's first look: nothing yet
            changes.change()
            await asyncio.sleep(parked_polls.BATCH * 1.5)  # its answers are being released
            changes.change()  # a second pass while some wait for their slice
            return list(await asyncio.gather(*waiting))

    answers = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert answers == [b"1"] * polls
    assert len(computed) == polls  # one answer each: none computed twice
