"""The Engine API's services, tasks and logs: Docker's ServiceSpec as the clients send it,
the filters, and the log stream's framing as `docker service logs` reads it."""

from __future__ import annotations

import struct
from urllib.parse import unquote

import pytest
from pydantic import ValidationError

from swarmlet.api.engine.filters import parse_filters
from swarmlet.api.engine.logs import details, frame, log_frame, tail_of
from swarmlet.api.engine.service_specs import to_swarmlet
from swarmlet.api.engine.services import select_services, without_status
from swarmlet.api.engine.tasks import check_desired_states, select_tasks
from swarmlet.spec.engine.services import LogsQuery
from swarmlet.spec.errors import SpecError
from swarmlet.spec.service import normalise_spec
from swarmlet.transport.errors import HttpError

# What the docker CLI (20.10 and 28.2 send the same) posts for
# `docker service create --name web --replicas 2 -p 8080:80 swarmlet/demo:latest`.
CLI_CREATE = {
    "Name": "web", "Labels": {},
    "TaskTemplate": {"ContainerSpec": {"Image": "swarmlet/demo:latest", "Init": False,
                                       "DNSConfig": {}},
                     "Resources": {"Limits": {}, "Reservations": {}}, "Placement": {},
                     "ForceUpdate": 0},
    "Mode": {"Replicated": {"Replicas": 2}},
    "EndpointSpec": {"Mode": "vip", "Ports": [{"Protocol": "tcp", "TargetPort": 80,
                                               "PublishedPort": 8080,
                                               "PublishMode": "ingress"}]}}
# `... --mode global --label l= --mount type=tmpfs,target=/t --restart-delay 0 IMAGE sh -c x`
CLI_GLOBAL = {
    "Name": "g", "Labels": {"l": ""},
    "TaskTemplate": {"ContainerSpec": {"Image": "swarmlet/demo:latest",
                                       "Args": ["sh", "-c", "x"], "Init": False,
                                       "Mounts": [{"Type": "tmpfs", "Target": "/t"}],
                                       "DNSConfig": {}},
                     "Resources": {"Limits": {}, "Reservations": {}},
                     "RestartPolicy": {"Condition": "any", "Delay": 0, "MaxAttempts": 0},
                     "Placement": {}, "ForceUpdate": 0},
    "Mode": {"Global": {}}, "EndpointSpec": {"Mode": "vip"}}


def test_the_clis_create_body_becomes_a_valid_spec() -> None:
    spec = normalise_spec(to_swarmlet(CLI_CREATE))
    assert spec["Mode"] == {"Replicated": {"Replicas": 2}}
    assert spec["EndpointSpec"]["Ports"][0]["PublishedPort"] == 8080
    assert "Init" not in spec["TaskTemplate"]["ContainerSpec"]


def test_global_mode_an_empty_label_and_a_zero_delay_survive() -> None:
    spec = normalise_spec(to_swarmlet(CLI_GLOBAL))
    assert spec["Mode"] == {"Global": {}}
    assert spec["Labels"] == {"l": ""}
    assert spec["TaskTemplate"]["RestartPolicy"]["Delay"] == 0  # --restart-delay 0, not 5s


def test_meaningful_zeros_stay_and_an_unset_monitor_takes_the_default() -> None:
    spec = normalise_spec(to_swarmlet({
        "Name": "z", "TaskTemplate": {"ContainerSpec": {"Image": "i"}},
        "Mode": {"Replicated": {"Replicas": 0}},
        "UpdateConfig": {"Parallelism": 0, "Monitor": 0, "FailureAction": ""}}))
    assert spec["Mode"]["Replicated"]["Replicas"] == 0
    assert spec["UpdateConfig"]["Parallelism"] == 0  # all at once, as Docker
    assert spec["UpdateConfig"]["Monitor"] == 5 * 10**9
    assert spec["UpdateConfig"]["FailureAction"] == "pause"


def test_field_names_in_any_case_as_gos_decoder() -> None:
    # The docker SDK's ServiceMode sends {"replicated": {"Replicas": n}}.
    spec = to_swarmlet({"name": "s", "Mode": {"replicated": {"Replicas": 3}},
                        "TaskTemplate": {"containerspec": {"Image": "i",
                                                           "Labels": {"KeepMe": "x"}}}})
    assert spec == {"Name": "s", "Mode": {"Replicated": {"Replicas": 3}},
                    "TaskTemplate": {"ContainerSpec": {"Image": "i",
                                                       "Labels": {"KeepMe": "x"}}}}
    assert to_swarmlet({"Mode": {"global": {}}}) == {"Mode": {"Global": {}}}


def test_the_deprecated_top_level_networks_move_into_the_template() -> None:
    spec = to_swarmlet({"TaskTemplate": {"ContainerSpec": {"Image": "i"}},
                        "Networks": [{"Target": "net1"}]})
    assert spec["TaskTemplate"]["Networks"] == [{"Target": "net1"}]
    assert "Networks" not in spec


def test_an_unsupported_setting_is_refused_naming_it() -> None:
    with pytest.raises(SpecError, match="isolation \"hyperv\" is not supported"):
        to_swarmlet({"TaskTemplate": {"ContainerSpec": {"Image": "i", "Isolation": "hyperv"}}})
    body = {"TaskTemplate": {"ContainerSpec": {"Image": "i",
                                               "Privileges": {"NoNewPrivileges": True}}}}
    with pytest.raises(SpecError, match=r"TaskTemplate\.ContainerSpec\.Privileges"):
        normalise_spec(to_swarmlet(body))
    # ... but Go's empty Privileges and Isolation "default" mean nothing and pass.
    body = {"TaskTemplate": {"ContainerSpec": {"Image": "i", "Isolation": "default",
                                               "Privileges": {"CredentialSpec": None}}}}
    assert to_swarmlet(body) == {"TaskTemplate": {"ContainerSpec": {"Image": "i"}}}


def _service(sid: str, name: str, mode: dict | None = None, labels: dict | None = None):
    return {"ID": sid, "Spec": {"Name": name, "Labels": labels or {},
                                "Mode": mode or {"Replicated": {"Replicas": 1}},
                                "TaskTemplate": {"ContainerSpec": {"Image": "i"}}},
            "ServiceStatus": {"RunningTasks": 1, "DesiredTasks": 1}}


SERVICES = [_service("aaa1", "web", labels={"tier": "front"}),
            _service("bbb2", "worker", mode={"Global": {}}),
            _service("ccc3", "webhook", labels={"tier": "back"})]


@pytest.mark.parametrize(("filters", "names"), [
    ('{"name": ["web"]}', ["web", "webhook"]),  # a prefix, as SwarmKit's NamePrefixes
    ('{"id": ["bb"]}', ["worker"]),
    ('{"mode": ["global"]}', ["worker"]),
    ('{"label": ["tier=front"]}', ["web"]),
    ('{"label": ["tier"], "name": ["webh"]}', ["webhook"]),
    ("", ["web", "worker", "webhook"]),
])
def test_service_filters(filters: str, names: list[str]) -> None:
    found = select_services(SERVICES, parse_filters(filters, ("id", "label", "mode", "name")))
    assert [s["Spec"]["Name"] for s in found] == names


def test_only_a_list_asked_with_status_has_service_status() -> None:
    assert "ServiceStatus" not in without_status(SERVICES[0])


def _task(tid: str, service: dict, slot: int, node: str, desired: str = "running",
          image: str = "i") -> dict:
    return {"ID": tid, "ServiceID": service["ID"], "Slot": slot, "NodeID": node,
            "DesiredState": desired, "Spec": {"ContainerSpec": {"Image": image}},
            "ServiceAnnotations": {"Name": service["Spec"]["Name"]}}


TASKS = [_task("t1", SERVICES[0], 1, "n1"), _task("t2", SERVICES[0], 1, "n2", "shutdown",
                                                   image="old"),
         _task("t3", SERVICES[2], 1, "n1")]
TASK_KEYS = ("name", "id", "label", "service", "node", "desired-state", "_up-to-date")


@pytest.mark.parametrize(("filters", "ids"), [
    ('{"service": ["aaa1"]}', ["t1", "t2"]),
    ('{"node": ["n1"]}', ["t1", "t3"]),
    ('{"desired-state": ["running"]}', ["t1", "t3"]),
    ('{"desired-state": ["Shutdown"]}', ["t2"]),
    ('{"name": ["web.1"]}', ["t1", "t2"]),  # <service>.<slot>.<task ID>, by prefix
    ('{"name": ["webhook.1.t3"]}', ["t3"]),
    ('{"label": ["tier=back"]}', ["t3"]),
    ('{"service": ["aaa1"], "_up-to-date": ["true"]}', ["t1"]),  # t2 runs an old template
])
def test_task_filters(filters: str, ids: list[str]) -> None:
    by_id = {s["ID"]: s for s in SERVICES}
    found = select_tasks(TASKS, parse_filters(filters, TASK_KEYS), by_id)
    assert [t["ID"] for t in found] == ids


def test_a_bad_desired_state_is_docker_s_400() -> None:
    with pytest.raises(HttpError) as err:
        check_desired_states(parse_filters('{"desired-state": ["bogus"]}', TASK_KEYS))
    assert (err.value.status, err.value.message) == (400, "Invalid desired-state filter: 'bogus'")


def _unframe(data: bytes) -> list[tuple[int, bytes]]:
    """stdcopy's reading of Docker's multiplexed stream."""
    out = []
    while data:
        kind, size = struct.unpack(">BxxxI", data[:8])
        out.append((kind, data[8:8 + size]))
        data = data[8 + size:]
    return out


def test_frames_have_docker_s_header() -> None:
    assert frame(2, b"hi\n") == b"\x02\x00\x00\x00\x00\x00\x00\x03hi\n"


def test_a_log_line_with_details_and_timestamps_parses_as_the_cli_does() -> None:
    item = {"Task": "task1", "TaskName": "web.1", "Node": "host-1", "NodeID": "node1",
            "Line": "hello world", "Stream": "stderr", "Time": "2026-12-06T19:30:51.237Z"}
    [(kind, line)] = _unframe(log_frame(item, "svc1", timestamps=True, with_details=True))
    assert kind == 2
    # logs.go: split on spaces into timestamp, details, message; details are k=v,k=v.
    stamp, attrs, message = line.decode().split(" ", 2)
    assert stamp == "2026-12-06T19:30:51.237Z"
    assert message == "hello world\n"
    pairs = dict(unquote(kv).split("=", 1) for kv in attrs.split(","))
    assert pairs == {"com.docker.swarm.node.id": "node1",
                     "com.docker.swarm.service.id": "svc1",
                     "com.docker.swarm.task.id": "task1"}


def test_a_plain_log_line_is_the_line_on_stdout() -> None:
    item = {"Task": "t", "TaskName": "web.1", "Node": "h", "Line": "x"}  # an older worker's
    assert _unframe(log_frame(item, "s", timestamps=False, with_details=False)) == [(1, b"x\n")]


def test_details_escape_values() -> None:
    assert details("a b", "s", "t").startswith("com.docker.swarm.node.id=a%20b,")


@pytest.mark.parametrize(("raw", "tail"), [(None, -1), ("", -1), ("all", -1), ("-1", -1),
                                           ("0", 0), ("25", 25)])
def test_tail(raw: str | None, tail: int) -> None:
    assert tail_of(raw) == tail


@pytest.mark.parametrize(("since", "valid"), [
    ("1733512345.000000000", True), ("0", True), ("2026-12-06T19:00:00Z", True),
    ("2026-12-06T19:00:00.5+01:00", True), ("bogus", False), ("10m", False)])
def test_since_is_what_dockerd_takes(since: str, valid: bool) -> None:
    # dockerd on each node reads it: a bad one must be refused here, not lost there.
    try:
        LogsQuery.model_validate({"since": since})
    except ValidationError:
        assert not valid
    else:
        assert valid
