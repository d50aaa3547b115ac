"""Group commit (store/group_commit.py): writes made at once share proposals, each gets its
own result, a failed proposal fails its group only, and a write never proposed may time out."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from swarmlet.store.group_commit import GroupCommit


class Slow:
    """A proposer that takes `delay` per proposal and records the groups it saw."""

    def __init__(self, delay: float, fail_when: str | None = None) -> None:
        self.delay, self.fail_when = delay, fail_when
        self.groups: list[list[Any]] = []
        self.lock = threading.Lock()

    def __call__(self, batches: list[list[dict]], timeout: float) -> list[Any]:
        time.sleep(self.delay)
        with self.lock:
            self.groups.append([b[0]["n"] for b in batches])
        if self.fail_when and any(b[0]["n"] == self.fail_when for b in batches):
            raise RuntimeError("no quorum")
        return [("ok", b[0]["n"]) for b in batches]


def test_a_lone_write_is_proposed_alone() -> None:
    proposer = Slow(0)
    group = GroupCommit(proposer, lambda: TimeoutError())
    assert group.submit([{"n": "a"}], 1) == ("ok", "a")
    assert proposer.groups == [["a"]]


def test_writes_made_at_once_share_proposals_and_each_gets_its_own_result() -> None:
    proposer = Slow(0.02)
    group = GroupCommit(proposer, lambda: TimeoutError())
    names = [str(i) for i in range(40)]
    with ThreadPoolExecutor(40) as pool:
        results = list(pool.map(lambda n: group.submit([{"n": n}], 5), names))
    assert results == [("ok", n) for n in names]
    assert sorted(n for g in proposer.groups for n in g) == sorted(names)  # each once
    assert len(proposer.groups) < len(names) / 2  # grouped, not one by one


def test_a_failed_proposal_fails_its_group_and_later_writes_go_on() -> None:
    proposer = Slow(0.05, fail_when="bad")
    group = GroupCommit(proposer, lambda: TimeoutError())
    with pytest.raises(RuntimeError, match="no quorum"):
        group.submit([{"n": "bad"}], 1)
    assert group.submit([{"n": "good"}], 1) == ("ok", "good")


def test_a_write_waiting_behind_a_stuck_proposal_times_out_unproposed() -> None:
    release = threading.Event()

    def stuck(batches: list[list[dict]], timeout: float) -> list[Any]:
        release.wait(5)
        return [("ok", None) for _ in batches]

    group = GroupCommit(stuck, lambda: TimeoutError("no leader"))
    first = threading.Thread(target=group.submit, args=([{"n": "first"}], 5))
    first.start()
    time.sleep(0.05)
    with pytest.raises(TimeoutError, match="no leader"):
        group.submit([{"n": "second"}], 0.1)
    release.set()
    first.join()
    assert group.submit([{"n": "third"}], 1) == ("ok", None)  # nothing left stuck
