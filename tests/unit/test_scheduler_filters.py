"""Each filter on its own, the pipeline's order, and the explanations in SwarmKit's words."""

from __future__ import annotations

import pytest

from swarmlet.manager.scheduler.filters import (
    ConstraintFilter,
    HostPortFilter,
    MaxReplicasFilter,
    Pipeline,
    PlatformFilter,
    ReadyFilter,
    ResourceFilter,
)
from swarmlet.manager.scheduler.nodeinfo import NodeInfo, build_node_infos

GB = 1 << 30


def node(nid: str, state: str = "ready", availability: str = "active", cpus: float = 4,
         memory: int = 8 * GB, arch: str = "x86_64", **labels: str) -> dict:
    return {"ID": nid,
            "Spec": {"Role": "worker", "Availability": availability, "Labels": labels},
            "Description": {"Hostname": nid, "Platform": {"OS": "linux", "Architecture": arch},
                            "Resources": {"NanoCPUs": int(cpus * 1e9), "MemoryBytes": memory}},
            "Status": {"State": state, "Addr": "10.0.0.1"}}


def task(tid: str = "t1", service: str = "s1", node_id: str = "", state: str = "pending",
         desired: str = "running", cpus: float = 0, memory: int = 0,
         constraints: list[str] | None = None, platforms: list[dict] | None = None,
         max_replicas: int = 0, host_port: int = 0) -> dict:
    t: dict = {"ID": tid, "ServiceID": service, "NodeID": node_id, "DesiredState": desired,
               "Status": {"State": state},
               "Spec": {"Resources": {"Reservations": {"NanoCPUs": int(cpus * 1e9),
                                                       "MemoryBytes": memory}},
                        "Placement": {"Constraints": constraints or [],
                                      "Platforms": platforms or [],
                                      "MaxReplicas": max_replicas}}}
    if host_port:
        t["Endpoint"] = {"Ports": [{"Protocol": "tcp", "TargetPort": 80,
                                    "PublishedPort": host_port, "PublishMode": "host"}]}
    return t


def info(n: dict, *tasks: dict) -> NodeInfo:
    return build_node_infos([n], list(tasks))[n["ID"]]


def test_ready_filter_wants_ready_and_active() -> None:
    f = ReadyFilter.for_task(task())
    assert f.check(info(node("a")))
    for n in (node("b", state="down"), node("c", availability="pause"),
              node("d", availability="drain")):
        assert not f.check(info(n))
    assert f.explain(1) == "1 node not available for new tasks"
    assert f.explain(3) == "3 nodes not available for new tasks"


def test_resource_filter_subtracts_what_tasks_on_the_node_hold() -> None:
    assert ResourceFilter.for_task(task()) is None  # no reservations: not applied
    f = ResourceFilter.for_task(task(cpus=2, memory=4 * GB))
    n = node("a", cpus=4, memory=8 * GB)
    assert f.check(info(n))
    assert f.check(info(n, task("x", node_id="a", state="running", cpus=2, memory=4 * GB)))
    assert not f.check(info(n, task("x", node_id="a", state="running", cpus=3)))
    assert not f.check(info(n, task("x", node_id="a", state="assigned", memory=5 * GB)))
    # Terminal tasks hold nothing; a task told to shut down holds its share until it stops.
    assert f.check(info(n, task("x", node_id="a", state="shutdown", cpus=4)))
    assert not f.check(info(n, task("x", node_id="a", state="running", desired="shutdown",
                                    cpus=4)))
    # A pending task with a node (a global task not yet confirmed) holds nothing yet.
    assert f.check(info(n, task("x", node_id="a", state="pending", cpus=4)))
    assert f.explain(1) == "insufficient resources on 1 node"
    assert f.explain(2) == "insufficient resources on 2 nodes"


def test_constraint_filter() -> None:
    assert ConstraintFilter.for_task(task()) is None
    f = ConstraintFilter.for_task(task(constraints=["node.labels.type==db"]))
    assert f.check(info(node("a", type="db")))
    assert not f.check(info(node("b", type="web")))
    assert not f.check(info(node("c")))
    assert f.explain(3) == "scheduling constraints not satisfied on 3 nodes"


def test_damaged_constraint_places_nowhere() -> None:
    f = ConstraintFilter.for_task(task(constraints=["node.labels.type=db"]))
    assert not f.check(info(node("a", type="db")))


@pytest.mark.parametrize(("platform", "arch", "ok"), [
    ({"OS": "linux", "Architecture": "amd64"}, "x86_64", True),
    ({"OS": "linux", "Architecture": "x86_64"}, "x86_64", True),
    ({"OS": "linux", "Architecture": "arm64"}, "aarch64", True),
    ({"OS": "", "Architecture": "amd64"}, "x86_64", True),
    ({"OS": "linux", "Architecture": ""}, "aarch64", True),
    ({"OS": "windows", "Architecture": "amd64"}, "x86_64", False),
    ({"OS": "linux", "Architecture": "arm64"}, "x86_64", False),
])
def test_platform_filter(platform: dict, arch: str, ok: bool) -> None:
    assert PlatformFilter.for_task(task()) is None
    f = PlatformFilter.for_task(task(platforms=[platform]))
    assert f.check(info(node("a", arch=arch))) is ok
    assert f.explain(2) == "unsupported platform on 2 nodes"


def test_host_port_filter() -> None:
    assert HostPortFilter.for_task(task()) is None
    f = HostPortFilter.for_task(task(host_port=8080))
    n = node("a")
    assert f.check(info(n))
    assert f.check(info(n, task("x", node_id="a", state="running", host_port=9090)))
    assert not f.check(info(n, task("x", node_id="a", state="running", host_port=8080)))
    assert f.check(info(n, task("x", node_id="a", state="failed", host_port=8080)))
    ingress = task(host_port=8080)
    ingress["Endpoint"]["Ports"][0]["PublishMode"] = "ingress"
    assert HostPortFilter.for_task(ingress) is None
    assert f.explain(1) == "host-mode port already in use on 1 node"


def test_host_port_is_per_protocol() -> None:
    f = HostPortFilter.for_task(task(host_port=53))
    udp = task("x", node_id="a", state="running", host_port=53)
    udp["Endpoint"]["Ports"][0]["Protocol"] = "udp"
    assert f.check(info(node("a"), udp))


def test_max_replicas_filter_counts_active_tasks_of_the_service() -> None:
    assert MaxReplicasFilter.for_task(task()) is None
    f = MaxReplicasFilter.for_task(task(max_replicas=2))
    n = node("a")
    one = task("x", node_id="a", state="running")
    assert f.check(info(n, one))
    assert not f.check(info(n, one, task("y", node_id="a", state="starting")))
    assert f.check(info(n, one, task("y", node_id="a", state="running", desired="shutdown")))
    assert f.check(info(n, one, task("y", service="s2", node_id="a", state="running")))
    assert f.explain(5) == "max replicas per node limit exceed"


def test_pipeline_runs_only_the_filters_a_task_needs_in_swarmkits_order() -> None:
    p = Pipeline(task(cpus=1, constraints=["node.role==worker"], max_replicas=1,
                      host_port=80, platforms=[{"OS": "linux"}]))
    assert [type(f) for f in p.filters] == [ReadyFilter, ResourceFilter, ConstraintFilter,
                                            PlatformFilter, HostPortFilter, MaxReplicasFilter]
    assert [type(f) for f in Pipeline(task()).filters] == [ReadyFilter]


def test_pipeline_counts_the_first_failure_per_node_most_first() -> None:
    p = Pipeline(task(cpus=2, constraints=["node.labels.type==db"]))
    infos = [info(node("down", state="down", type="db")),       # ready fails first
             info(node("small", cpus=1, type="db")),            # resources
             info(node("web1", type="web")), info(node("web2")),  # constraints
             info(node("ok", type="db"))]
    assert p.first_failure(infos[0]) is p.filters[0]
    assert p.first_failure(infos[4]) is None
    assert p.explain(infos) == ("scheduling constraints not satisfied on 2 nodes; "
                                "1 node not available for new tasks; "
                                "insufficient resources on 1 node")
    assert p.unschedulable(infos[:2]) == ("no suitable node (1 node not available for new "
                                          "tasks; insufficient resources on 1 node)")
    assert p.unschedulable([]) == "no suitable node"
