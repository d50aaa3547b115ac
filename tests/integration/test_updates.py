"""Rolling updates and rollback on three manager machines (which also run the tasks), with
real containers. The leader-failover test runs last."""

from __future__ import annotations

import subprocess
import time
from collections import defaultdict
from itertools import pairwise

import pytest
from swarm_cluster import Cluster, eventually

NODES = ["up-1", "up-2", "up-3"]
IMAGE, IMAGE_V2 = "swarmlet/demo:latest", "swarmlet/demo:v2"


@pytest.fixture(scope="module")
def cluster(swarmlet):
    # A second tag of the test image: an image change, with nothing to pull.
    subprocess.run(["docker", "tag", IMAGE, IMAGE_V2], check=True)
    swarmlet("machine", "create", *NODES)
    c = Cluster(swarmlet)
    try:
        c.build(NODES, [])
        yield c
    finally:
        swarmlet("machine", "rm", *NODES, check=False)
        subprocess.run(["docker", "rmi", IMAGE_V2], capture_output=True)


@pytest.fixture
def service(cluster):
    names: list[str] = []

    def make(name: str, flags: str = "", replicas: int = 4) -> str:
        names.append(name)
        cluster.cli(NODES[0], f"service create -q --name {name} --replicas {replicas} "
                              f"{flags} {IMAGE}")
        return name

    yield make
    for name in names:
        cluster.run(NODES[0], f"swarmlet service rm {name}", check=False)


def inspect(cluster: Cluster, name: str, on: str = NODES[0]) -> dict:
    return cluster.api(on, f"/services/{name}")


def tasks(cluster: Cluster, name: str, on: str = NODES[0]) -> list[dict]:
    return cluster.api(on, "/tasks", service=name)


def running(cluster: Cluster, name: str, on: str = NODES[0]) -> list[dict]:
    return [t for t in tasks(cluster, name, on) if t["DesiredState"] == "running"
            and t["Status"]["State"] == "running"]


def update_state(cluster: Cluster, name: str, on: str = NODES[0]) -> str:
    return (inspect(cluster, name, on).get("UpdateStatus") or {}).get("State", "")


def image_of(task: dict) -> str:
    return task["Spec"]["ContainerSpec"]["Image"]


def test_an_image_change_rolls_out_in_batches_with_the_delay(cluster, service):
    name = service("batches", replicas=6)
    before = {t["ID"] for t in running(cluster, name)}
    cluster.cli(NODES[0], f"service update -d --image {IMAGE_V2} --update-parallelism 2 "
                          f"--update-delay 2s {name}")
    eventually(lambda: update_state(cluster, name) == "completed", timeout=90)
    now = running(cluster, name)
    assert len(now) == 6 and not ({t["ID"] for t in now} & before)
    assert {image_of(t) for t in now} == {IMAGE_V2}
    created = sorted(t["CreatedAt"] for t in tasks(cluster, name)
                     if image_of(t) == IMAGE_V2)
    stamps = [time.mktime(time.strptime(c[:19], "%Y-%m-%dT%H:%M:%S")) + float("0." + c[20:26])
              for c in created]
    batches = [stamps[i:i + 2] for i in range(0, 6, 2)]
    for batch in batches:
        assert batch[1] - batch[0] < 1.0, f"a batch of 2 started together: {created}"
    for first, second in pairwise(batches):
        assert second[0] - first[1] >= 2.0, f"batches {created} not 2 s apart"
    status = inspect(cluster, name)["UpdateStatus"]
    assert status["Message"] == "update completed"
    assert "completed" in cluster.cli(NODES[0], f"service inspect --pretty {name}")


def test_a_failing_new_command_pauses_the_update(cluster, service):
    name = service("pausing")
    # The delay gives the first new task's failure time to arrive before a second slot goes.
    cluster.cli(NODES[0], f"service update -d --update-delay 3s --args \"sh -c 'exit 1'\" "
                          f"{name}")
    eventually(lambda: update_state(cluster, name) == "paused", timeout=60)
    status = inspect(cluster, name)["UpdateStatus"]
    assert status["Message"].startswith(
        "update paused due to failure or early termination of task")
    # Only the first slot was tried: the others still run the old spec.
    assert len([t for t in running(cluster, name) if not t["Spec"]["ContainerSpec"].get(
        "Args")]) >= 3


def test_failure_action_rollback_brings_the_previous_spec_back(cluster, service):
    name = service("selfheal")
    cluster.cli(NODES[0], "service update -d --update-failure-action rollback "
                          f"--args \"sh -c 'exit 1'\" {name}")
    eventually(lambda: update_state(cluster, name) == "rollback_completed", timeout=90)
    spec = inspect(cluster, name)["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert not spec.get("Args")
    eventually(lambda: len(running(cluster, name)) == 4)
    assert inspect(cluster, name)["UpdateStatus"]["Message"] == "rollback completed"


def test_rollback_after_a_good_update_restores_the_old_image(cluster, service):
    name = service("backagain")
    cluster.cli(NODES[0], f"service update --image {IMAGE_V2} {name}")
    assert {image_of(t) for t in running(cluster, name)} == {IMAGE_V2}
    cluster.cli(NODES[0], f"service rollback {name}")
    eventually(lambda: update_state(cluster, name) == "rollback_completed", timeout=60)
    eventually(lambda: {image_of(t) for t in running(cluster, name)} == {IMAGE}
               and len(running(cluster, name)) == 4)
    assert inspect(cluster, name)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == IMAGE


def test_start_first_keeps_the_running_count_up(cluster, service):
    name = service("startfirst", flags="--update-order start-first --update-parallelism 1")
    cluster.cli(NODES[0], f"service update -d --image {IMAGE_V2} {name}")
    samples = []
    deadline = time.monotonic() + 90
    while update_state(cluster, name) != "completed" and time.monotonic() < deadline:
        samples.append(len(running(cluster, name)))
    assert update_state(cluster, name) == "completed"
    assert samples and min(samples) >= 4, samples


def test_force_replaces_every_task_and_replicas_alone_replaces_none(cluster, service):
    name = service("forced")
    before = {t["ID"] for t in running(cluster, name)}
    cluster.cli(NODES[0], f"service update --force {name}")
    eventually(lambda: update_state(cluster, name) == "completed", timeout=60)
    after = {t["ID"] for t in running(cluster, name)}
    assert len(after) == 4 and not (after & before)

    cluster.cli(NODES[0], f"service update --replicas 6 {name}")
    grown = eventually(lambda: (r := running(cluster, name)) and len(r) == 6 and r)
    assert after <= {t["ID"] for t in grown}
    cluster.cli(NODES[0], f"service update -d --replicas 3 {name}")
    shrunk = eventually(lambda: (r := running(cluster, name)) and len(r) == 3 and r)
    assert {t["ID"] for t in shrunk} <= {t["ID"] for t in grown}
    assert update_state(cluster, name) == ""  # no update started: nothing was replaced


def test_a_new_leader_finishes_an_update_without_redoing_slots(cluster, service):
    name = service("failover", flags="--update-parallelism 1 --update-delay 3s", replicas=6)
    leader = cluster.leader(NODES[0])
    others = [n for n in NODES if n != leader]
    cluster.cli(others[0], f"service update -d --image {IMAGE_V2} {name}")
    eventually(lambda: sum(image_of(t) == IMAGE_V2 for t in running(cluster, name, others[0]))
               >= 2, timeout=60)
    cluster.machines("machine", "stop", leader)
    try:
        eventually(lambda: cluster.leader(others[0]) in others, timeout=40)
        eventually(lambda: update_state(cluster, name, others[0]) == "completed", timeout=120)
        final = running(cluster, name, others[0])
        assert len(final) == 6 and {image_of(t) for t in final} == {IMAGE_V2}
        # Each slot got its new-image task once, unless its node went away with the leader.
        fresh = defaultdict(list)
        for t in tasks(cluster, name, others[0]):
            if image_of(t) == IMAGE_V2:
                fresh[t["Slot"]].append(t)
        leader_id = cluster.nodes(others[0])[leader]["ID"]
        for slot, made in fresh.items():
            redone = [t for t in made if t["NodeID"] != leader_id]
            assert len(redone) <= 1, f"slot {slot} was updated twice: {made}"
    finally:
        cluster.machines("machine", "start", leader)
