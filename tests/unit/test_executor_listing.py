"""What makes the executor inspect a container again (worker/executor.py): a change of its
state or health in the one list call a pass makes, not the passing of time."""

from __future__ import annotations

from swarmlet.worker.containers import TASK_LABEL
from swarmlet.worker.executor import Executor, _list_key


def test_the_health_docker_appends_to_the_status_is_part_of_the_key():
    assert _list_key({"State": "running", "Status": "Up 3 minutes (healthy)"}) == \
        ("running", "(healthy)")
    assert _list_key({"State": "running", "Status": "Up 2 seconds (health: starting)"}) == \
        ("running", "(health: starting)")


def test_time_in_the_status_does_not_change_the_key():
    assert _list_key({"State": "running", "Status": "Up 3 seconds"}) == \
        _list_key({"State": "running", "Status": "Up About a minute"}) == ("running", "")
    assert _list_key({"State": "exited", "Status": "Exited (1) 5 seconds ago"}) == \
        ("exited", "")


class _Engine:
    """The list and inspect calls of a node with two containers: one that a start thread is
    starting (dockerd would hold its inspect until the start is done), one that is new."""

    def __init__(self) -> None:
        self.inspected: list[str] = []

    def containers(self, filters: dict) -> list[dict]:
        return [{"Id": cid, "State": "created", "Status": "Created",
                 "Labels": {TASK_LABEL: task}} for cid, task in (("c1", "t1"), ("c2", "t2"))]

    def inspect_container(self, cid: str) -> dict:
        self.inspected.append(cid)
        return {"Name": f"/{cid}", "State": {"Status": "created"}}


def test_a_pass_does_not_inspect_a_container_that_a_start_thread_is_starting():
    executor = Executor("node1", report=lambda updates: None)
    engine = executor.client = _Engine()  # type: ignore[assignment]
    seen = executor._containers(busy={"t1"})
    assert engine.inspected == ["c2"]
    assert set(seen) == {"t2"}
    executor._containers(busy=set())  # once idle, it is inspected as any new container
    assert engine.inspected == ["c2", "c1"]
