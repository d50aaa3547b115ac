"""What makes the executor inspect a container again (worker/executor.py): a change of its
state or health in the one list call a pass makes, not the passing of time."""

from __future__ import annotations

from swarmlet.worker.executor import _list_key


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
