"""The spec core's models and normalisation, pure: what the edge accepts, what it refuses
(naming the field, in Docker's words where Docker has them), and that a stored spec is
itself a valid body (a client that reads a service and sends it back never fails)."""

from __future__ import annotations

import pytest

from swarmlet.cli.main import build_parser
from swarmlet.cli.service_spec import spec_from_create_args
from swarmlet.protocol.messages import CAJoinRequest, TaskStatusRequest
from swarmlet.spec.errors import SpecError
from swarmlet.spec.limits import MAX_REPLICAS
from swarmlet.spec.service import DEFAULT_UPDATE, normalise_spec
from swarmlet.spec.swarm import merged_node_spec, merged_swarm_spec
from swarmlet.spec.validate import checked

IMAGE = {"TaskTemplate": {"ContainerSpec": {"Image": "swarmlet/demo:latest"}}}
SWARM = {"Name": "default", "Labels": {}, "Orchestration": {"TaskHistoryRetentionLimit": 5},
         "Raft": {"SnapshotInterval": 10000, "KeepOldSnapshots": 0,
                  "LogEntriesForSlowFollowers": 500, "ElectionTick": 10, "HeartbeatTick": 1},
         "Dispatcher": {"HeartbeatPeriod": 5 * 10**9},
         "CAConfig": {"NodeCertExpiry": 90 * 24 * 3600 * 10**9}, "TaskDefaults": {},
         "EncryptionConfig": {"AutoLockManagers": False}}

# Every flag of `service create` in docs/services.md, in one command.
EVERY_FLAG = [
    "--name", "web", "--replicas", "3", "--constraint", "node.role==worker",
    "--placement-pref", "spread=node.labels.zone", "--replicas-max-per-node", "2",
    "--reserve-cpu", "0.25", "--reserve-memory", "64m", "--limit-cpu", "0.5",
    "--limit-memory", "128m", "-e", "A=1", "--label", "tier=front",
    "--container-label", "c=1", "--mount", "type=tmpfs,target=/cache,tmpfs-size=1m",
    "--mount", "type=bind,source=/srv,target=/srv,readonly",
    "--restart-condition", "on-failure", "--restart-delay", "2s",
    "--restart-max-attempts", "3", "--restart-window", "1m", "--health-cmd", "true",
    "--health-interval", "5s", "--health-timeout", "2s", "--health-retries", "3",
    "--health-start-period", "1s", "--entrypoint", "/bin/sh -c", "--workdir", "/srv",
    "--user", "1000:1000", "--hostname", "web-host", "--stop-grace-period", "20s",
    "--stop-signal", "SIGTERM", "-p", "8080:80", "--publish", "published=53,target=53,"
    "protocol=udp,mode=host", "--endpoint-mode", "vip", "--update-parallelism", "2",
    "--update-delay", "1s", "--update-failure-action", "rollback", "--update-order",
    "start-first", "--rollback-parallelism", "0", "--rollback-monitor", "3s",
    "swarmlet/demo:latest", "httpd", "-f",
]


def refusal(body: object, old: dict | None = None) -> SpecError:
    with pytest.raises(SpecError) as exc:
        normalise_spec(body, old)
    return exc.value


def with_image(**fields: object) -> dict:
    return {**IMAGE, **fields}


def test_every_documented_create_flag_gives_a_spec_the_agent_accepts() -> None:
    args = build_parser().parse_args(["service", "create", *EVERY_FLAG])
    spec = normalise_spec(spec_from_create_args(args, {}))
    assert spec["Mode"] == {"Replicated": {"Replicas": 3}}
    assert spec["UpdateConfig"]["Parallelism"] == 2
    assert spec["RollbackConfig"]["Monitor"] == 3 * 10**9


def test_a_stored_spec_is_a_valid_body_and_normalises_to_itself() -> None:
    args = build_parser().parse_args(["service", "create", *EVERY_FLAG])
    stored = normalise_spec(spec_from_create_args(args, {}))
    assert normalise_spec(stored, old=stored) == stored


def test_defaults_are_filled_in_by_the_spec_core() -> None:
    spec = normalise_spec(with_image(UpdateConfig={"Parallelism": 4}))
    assert spec["UpdateConfig"] == {**DEFAULT_UPDATE, "Parallelism": 4}
    assert spec["RollbackConfig"] == DEFAULT_UPDATE
    assert spec["Mode"] == {"Replicated": {"Replicas": 1}}
    assert spec["EndpointSpec"] == {"Mode": "vip"}


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"Mode": {"Replicated": {"Replicas": 2**64 - 1}}}, "Mode.Replicated.Replicas",
     f"less than or equal to {MAX_REPLICAS}"),
    ({"Mode": {"Replicated": {"Replicas": -1}}}, "Mode.Replicated.Replicas", "greater than"),
    ({"Mode": {"Replicated": {"Replicas": "3"}}}, "Mode.Replicated.Replicas", "valid integer"),
    ({"Mode": {"Replicated": {"Replicas": True}}}, "Mode.Replicated.Replicas", "integer"),
    ({"UpdateConfig": {"Parallelism": "two"}}, "UpdateConfig.Parallelism", "valid integer"),
    ({"Labels": {"a": 1}}, "Labels.a", "valid string"),
    ({"Bogus": 1}, "Bogus", "unknown field"),
    ({"TaskTemplate": {"ContainerSpec": {"Image": "x", "Env": "A=1"}}},
     "TaskTemplate.ContainerSpec.Env", "valid list"),
    ({"TaskTemplate": {"ContainerSpec": {"Image": "x"},
                       "Resources": {"Limits": {"NanoCPUs": -1}}}},
     "TaskTemplate.Resources.Limits.NanoCPUs", "greater than"),
    ({"TaskTemplate": {"ContainerSpec": {"Image": "x"},
                       "Resources": {"Reservations": {"MemoryBytes": "lots"}}}},
     "TaskTemplate.Resources.Reservations.MemoryBytes", "valid integer"),
    ({"EndpointSpec": {"Ports": [{"TargetPort": 0}]}}, "EndpointSpec.Ports[0].TargetPort",
     "greater than"),
    ({"EndpointSpec": {"Ports": [{"TargetPort": 80, "PublishedPort": 65536}]}},
     "EndpointSpec.Ports[0].PublishedPort", "less than"),
    ({"TaskTemplate": {"ContainerSpec": {"Image": "x"}, "Networks": [{"Aliases": ["a"]}]}},
     "TaskTemplate.Networks[0].Target", "required field is missing"),
])
def test_bad_fields_are_refused_naming_the_field(fields, field, words) -> None:
    error = refusal(with_image(**fields))
    assert error.field == field
    assert field in error.message and words in error.message


@pytest.mark.parametrize(("fields", "message"), [
    ({"UpdateConfig": {"Delay": -1}}, "TaskSpec: update-delay cannot be negative"),
    ({"TaskTemplate": {"ContainerSpec": {"Image": "x"},
                       "RestartPolicy": {"Delay": -5}}},
     "TaskSpec: restart-delay cannot be negative"),
    ({"UpdateConfig": {"MaxFailureRatio": 1.5}},
     "TaskSpec: update-maxfailureratio cannot be less than 0 or bigger than 1"),
    ({"UpdateConfig": {"FailureAction": "explode"}},
     "unrecognized update failure action explode"),
    ({"RollbackConfig": {"FailureAction": "rollback"}},
     "unrecognized rollback failure action rollback"),
    ({"EndpointSpec": {"Mode": "rr"}}, 'invalid resolution mode: "rr"'),
    ({"TaskTemplate": {"ContainerSpec": {}}}, "ContainerSpec: image reference must be provided"),
    ({"Name": "a b"}, "name must be valid as a DNS name component"),
    ({"Mode": {"Replicated": {}, "Global": {}}},
     "Mode must be one of Replicated, Global, ReplicatedJob or GlobalJob"),
])
def test_dockers_messages(fields, message) -> None:
    assert refusal(with_image(**fields)).message == message


@pytest.mark.parametrize("mount", [
    {"Type": "bind", "Source": "/", "Target": "/host"},
    {"Type": "bind", "Source": "/srv", "Target": "/"},
    {"Type": "bind", "Source": "relative", "Target": "/x"},
    {"Type": "tmpfs", "Source": "/x", "Target": "/x"},
    {"Type": "volume", "Target": "/x", "BindOptions": {"Propagation": "rshared"}},
])
def test_dangerous_or_malformed_mounts_are_refused(mount) -> None:
    error = refusal(with_image(TaskTemplate={"ContainerSpec": {"Image": "x",
                                                                "Mounts": [mount]}}))
    assert error.field.startswith("TaskTemplate.ContainerSpec.Mounts[0]")


def test_the_hosts_root_may_be_mounted_read_only() -> None:
    mount = {"Type": "bind", "Source": "/", "Target": "/rootfs", "ReadOnly": True}
    spec = normalise_spec(with_image(TaskTemplate={"ContainerSpec": {"Image": "x",
                                                                      "Mounts": [mount]}}))
    assert spec["TaskTemplate"]["ContainerSpec"]["Mounts"] == [mount]


def test_a_volume_mount_keeps_its_driver_options_and_labels() -> None:
    mount = {"Type": "volume", "Source": "data", "Target": "/data",
             "VolumeOptions": {"NoCopy": True, "Labels": {"tier": "db"},
                               "DriverConfig": {"Name": "rexray", "Options": {"size": "10"}}}}
    spec = normalise_spec(with_image(TaskTemplate={"ContainerSpec": {"Image": "x",
                                                                      "Mounts": [mount]}}))
    assert spec["TaskTemplate"]["ContainerSpec"]["Mounts"] == [mount]


def test_two_mounts_on_one_target_are_refused() -> None:
    mounts = [{"Type": "volume", "Source": "a", "Target": "/data"},
              {"Type": "tmpfs", "Target": "/data"}]
    error = refusal(with_image(TaskTemplate={"ContainerSpec": {"Image": "x",
                                                                "Mounts": mounts}}))
    assert error.message == "ContainerSpec: duplicate mount point: /data"
    assert error.field == "TaskTemplate.ContainerSpec.Mounts[1].Target"


def test_null_is_absent_as_in_gos_json() -> None:
    spec = normalise_spec(with_image(UpdateConfig=None, Labels=None))
    assert spec["UpdateConfig"] == DEFAULT_UPDATE and spec["Labels"] == {}


def test_dockers_healthcheck_spelling_is_stored_as_healthcheck() -> None:
    spec = normalise_spec({"TaskTemplate": {"ContainerSpec": {
        "Image": "x", "HealthCheck": {"Test": ["CMD", "true"]}}}})
    assert spec["TaskTemplate"]["ContainerSpec"]["Healthcheck"] == {"Test": ["CMD", "true"]}


def test_a_replicated_job_gets_dockers_defaults() -> None:
    # The API's: MaxConcurrent 1; TotalCompletions as many as may run at once.
    assert normalise_spec(with_image(Mode={"ReplicatedJob": {}}))["Mode"] == \
        {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 1}}
    assert normalise_spec(with_image(Mode={"ReplicatedJob": {"MaxConcurrent": 2}}))["Mode"] == \
        {"ReplicatedJob": {"MaxConcurrent": 2, "TotalCompletions": 2}}
    assert normalise_spec(with_image(Mode={"ReplicatedJob": {"TotalCompletions": 5}}))[
        "Mode"] == {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 5}}
    assert normalise_spec(with_image(Mode={"GlobalJob": {}}))["Mode"] == {"GlobalJob": {}}


def test_a_jobs_counts_are_capped_like_replicas() -> None:
    assert refusal(with_image(Mode={"ReplicatedJob": {"MaxConcurrent": 10**6}})).field == \
        "Mode.ReplicatedJob.MaxConcurrent"
    assert refusal(with_image(Mode={"ReplicatedJob": {"TotalCompletions": -1}})).field == \
        "Mode.ReplicatedJob.TotalCompletions"


def test_a_job_has_no_update_or_rollback_policy() -> None:
    spec = normalise_spec(with_image(Mode={"GlobalJob": {}}, UpdateConfig=None))
    assert "UpdateConfig" not in spec and "RollbackConfig" not in spec
    for key in ("UpdateConfig", "RollbackConfig"):
        error = refusal(with_image(Mode={"ReplicatedJob": {}}, **{key: {"Parallelism": 2}}))
        assert error.message == "update and rollback configuration is not supported for jobs"
        assert error.field == key


def test_a_job_stays_a_job_and_keeps_its_kind() -> None:
    job = normalise_spec(with_image(Name="once", Mode={"ReplicatedJob": {}}))
    assert normalise_spec(with_image(Name="once", Mode={"ReplicatedJob": {
        "TotalCompletions": 4}}), job)["Mode"]["ReplicatedJob"]["TotalCompletions"] == 4
    for other in ({"Replicated": {}}, {"GlobalJob": {}}):
        assert refusal(with_image(Name="once", Mode=other), job).message == \
            "service mode change is not allowed"


def test_max_replicas_per_node_is_for_replicated_modes_only() -> None:
    placement = {"ContainerSpec": {"Image": "x"}, "Placement": {"MaxReplicas": 2}}
    assert normalise_spec({"TaskTemplate": placement, "Mode": {"ReplicatedJob": {}}})
    for mode in ({"Global": {}}, {"GlobalJob": {}}):
        assert refusal({"TaskTemplate": placement, "Mode": mode}).message == \
            "replicas-max-per-node can only be used with replicated or replicated-job mode"


def test_update_rules_rename_and_mode_change() -> None:
    old = normalise_spec(with_image(Name="web"))
    assert refusal(with_image(Name="api"), old).message == "renaming services is not supported"
    assert refusal(with_image(Name="web", Mode={"Global": {}}), old).message == \
        "service mode change is not allowed"


# --- the swarm and nodes -----------------------------------------------------------------


def test_swarm_update_keeps_what_is_left_out_or_null() -> None:
    spec = merged_swarm_spec(SWARM, {"Dispatcher": None, "Orchestration": {}})
    assert spec == SWARM
    spec = merged_swarm_spec(SWARM, {"Raft": {"SnapshotInterval": 5}})
    assert spec["Raft"] == {**SWARM["Raft"], "SnapshotInterval": 5}


@pytest.mark.parametrize(("body", "field"), [
    ({"Dispatcher": {"HeartbeatPeriod": "x"}}, "Dispatcher.HeartbeatPeriod"),
    ({"Dispatcher": {"HeartbeatPeriod": 0}}, "Dispatcher.HeartbeatPeriod"),
    ({"Orchestration": {"TaskHistoryRetentionLimit": "five"}},
     "Orchestration.TaskHistoryRetentionLimit"),
    ({"CAConfig": {"NodeCertExpiry": 60 * 10**9}}, "CAConfig.NodeCertExpiry"),
    ({"Raft": {"ElectionTick": 0}}, "Raft.ElectionTick"),
    ({"Dispatcher": []}, "Dispatcher"),
])
def test_swarm_updates_that_would_stop_managers_are_refused(body, field) -> None:
    with pytest.raises(SpecError) as exc:
        merged_swarm_spec(SWARM, body)
    assert exc.value.field == field


def test_node_update_merges_and_checks() -> None:
    current = {"Role": "worker", "Availability": "active", "Labels": {"a": "1"}}
    assert merged_node_spec(current, {"Availability": "drain"}) == {
        **current, "Availability": "drain"}
    with pytest.raises(SpecError) as exc:
        merged_node_spec(current, {"Role": "boss"})
    assert exc.value.message == 'invalid role "boss": expected manager or worker'


# --- messages between nodes ----------------------------------------------------------------


def test_a_join_with_a_bad_description_is_refused_before_anything_is_written() -> None:
    body = {"Token": "t", "CSR": "c", "AdvertiseAddr": "198.18.0.9",
            "Description": {"Resources": {"NanoCPUs": "lots"}}}
    with pytest.raises(SpecError) as exc:
        checked(CAJoinRequest, body, "join request")
    assert exc.value.field == "Description.Resources.NanoCPUs"


def test_task_status_reports_must_name_a_known_state() -> None:
    with pytest.raises(SpecError) as exc:
        checked(TaskStatusRequest, {"Updates": [{"ID": "t", "Status": {"State": "dancing"}}]},
                "task status")
    assert exc.value.field == "Updates[0].Status.State"
