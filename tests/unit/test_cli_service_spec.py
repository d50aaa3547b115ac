"""`service create` flags -> ServiceSpec, env files, mounts and Docker's units (no cluster)."""

from __future__ import annotations

import pytest

from swarmlet.cli import units
from swarmlet.cli.main import build_parser
from swarmlet.cli.service_spec import (
    merge_env,
    parse_env_lines,
    parse_mount,
    parse_port,
    spec_from_create_args,
)
from swarmlet.errors import SwarmletError
from swarmlet.spec.errors import SpecError
from swarmlet.spec.service import normalise_spec

S = 10**9


def spec(*argv: str, environ: dict[str, str] | None = None) -> dict:
    args = build_parser().parse_args(["service", "create", *argv])
    return spec_from_create_args(args, environ or {})


def error(*argv: str) -> str:
    with pytest.raises(SwarmletError) as exc:
        spec(*argv)
    return str(exc.value)


def container(s: dict) -> dict:
    return s["TaskTemplate"]["ContainerSpec"]


# --- basics, mode, placement -------------------------------------------------------------


def test_minimal_spec_sets_only_image_and_mode():
    assert spec("alpine") == {"TaskTemplate": {"ContainerSpec": {"Image": "alpine"}},
                              "Mode": {"Replicated": {"Replicas": 1}}}


def test_command_and_args_go_to_args_and_flags_after_image_are_args():
    s = spec("--name", "web", "alpine", "sleep", "100", "--verbose")
    assert s["Name"] == "web"
    assert container(s)["Args"] == ["sleep", "100", "--verbose"]
    assert "Command" not in container(s)


def test_entrypoint_becomes_command_split_like_a_shell():
    s = spec("--entrypoint", "/bin/sh -c 'echo hi'", "alpine", "x")
    assert container(s)["Command"] == ["/bin/sh", "-c", "echo hi"]
    assert container(s)["Args"] == ["x"]
    assert 'for "--entrypoint" flag' in error("--entrypoint", "'unclosed", "alpine")


def test_replicas_and_global_mode():
    assert spec("--replicas", "3", "alpine")["Mode"] == {"Replicated": {"Replicas": 3}}
    assert spec("--mode", "global", "alpine")["Mode"] == {"Global": {}}
    assert spec("--replicas", "0", "alpine")["Mode"] == {"Replicated": {"Replicas": 0}}


def test_job_modes_as_dockers_cli_sends_them():
    # --max-concurrent defaults to --replicas; what neither gives, the agent fills in.
    assert spec("--mode", "replicated-job", "--replicas", "5", "alpine")["Mode"] == \
        {"ReplicatedJob": {"MaxConcurrent": 5, "TotalCompletions": 5}}
    assert spec("--mode", "replicated-job", "--replicas", "5", "--max-concurrent", "2",
                "alpine")["Mode"] == {"ReplicatedJob": {"MaxConcurrent": 2,
                                                        "TotalCompletions": 5}}
    assert spec("--mode", "replicated-job", "alpine")["Mode"] == {"ReplicatedJob": {}}
    assert spec("--mode", "global-job", "alpine")["Mode"] == {"GlobalJob": {}}


@pytest.mark.parametrize(("argv", "message"), [
    (["--replicas", "abc"], 'invalid argument "abc" for "--replicas" flag: '
     'strconv.ParseUint: parsing "abc": invalid syntax'),
    (["--replicas", "-1"], 'invalid argument "-1" for "--replicas" flag'),
    (["--mode", "global", "--replicas", "2"],
     "replicas can only be used with replicated or replicated-job mode"),
    (["--mode", "global-job", "--replicas", "2"],
     "replicas can only be used with replicated or replicated-job mode"),
    (["--mode", "global", "--replicas-max-per-node", "2"],
     "replicas-max-per-node can only be used with replicated or replicated-job mode"),
    (["--mode", "global-job", "--replicas-max-per-node", "2"],
     "replicas-max-per-node can only be used with replicated or replicated-job mode"),
    (["--max-concurrent", "2"], "max-concurrent can only be used with replicated-job mode"),
    (["--mode", "global-job", "--max-concurrent", "2"],
     "max-concurrent can only be used with replicated-job mode"),
    (["--mode", "replicated-job", "--max-concurrent", "x"],
     'invalid argument "x" for "--max-concurrent" flag'),
    (["--mode", "job"], "Unknown mode: job, only replicated and global supported"),
    (["--replicas-max-per-node", "x"], 'invalid argument "x" for "--replicas-max-per-node"'),
])
def test_mode_errors(argv, message):
    assert message in error(*argv, "alpine")


def test_placement_constraints_prefs_and_max_per_node():
    s = spec("--constraint", "node.role==worker", "--constraint", "node.labels.ssd==true",
             "--placement-pref", "spread=node.labels.zone", "--replicas-max-per-node", "2",
             "alpine")
    assert s["TaskTemplate"]["Placement"] == {
        "Constraints": ["node.role==worker", "node.labels.ssd==true"],
        "Preferences": [{"Spread": {"SpreadDescriptor": "node.labels.zone"}}],
        "MaxReplicas": 2}


def test_placement_pref_errors_use_dockers_words():
    assert ('placement preference must be of the format "<strategy>=<arg>"'
            in error("--placement-pref", "spread", "alpine"))
    assert ("unsupported placement preference pack (only spread is supported)"
            in error("--placement-pref", "pack=node.labels.x", "alpine"))


# --- resources --------------------------------------------------------------------------


def test_resources_cpu_and_memory():
    s = spec("--reserve-cpu", "0.5", "--reserve-memory", "64m", "--limit-cpu", "2",
             "--limit-memory", "1.5GiB", "alpine")
    assert s["TaskTemplate"]["Resources"] == {
        "Reservations": {"NanoCPUs": 500_000_000, "MemoryBytes": 64 * 2**20},
        "Limits": {"NanoCPUs": 2 * S, "MemoryBytes": int(1.5 * 2**30)}}


def test_only_given_resources_are_sent():
    s = spec("--limit-memory", "512k", "alpine")
    assert s["TaskTemplate"]["Resources"] == {"Limits": {"MemoryBytes": 512 * 1024}}


@pytest.mark.parametrize(("argv", "message"), [
    (["--reserve-cpu", "abc"], 'invalid argument "abc" for "--reserve-cpu" flag: '
     "failed to parse abc as a rational number"),
    (["--limit-cpu", "0.0000000001"], "value is too precise"),
    (["--limit-memory", "abc"], "invalid argument \"abc\" for \"--limit-memory\" flag: "
     "invalid size: 'abc'"),
    (["--reserve-memory", "10x"], "invalid suffix: 'x'"),
])
def test_resource_errors(argv, message):
    assert message in error(*argv, "alpine")


# --- env, labels ------------------------------------------------------------------------


def test_env_flags_files_and_override_order(tmp_path):
    env_file = tmp_path / "app.env"
    env_file.write_text("# comment\n\nA=from-file\nB=2\n  C=spaced value \nHOME_DIR\n")
    s = spec("--env-file", str(env_file), "-e", "A=from-flag", "--env", "D", "-e", "E",
             "alpine", environ={"D": "from-env", "HOME_DIR": "/root"})
    assert container(s)["Env"] == ["B=2", "C=spaced value ", "HOME_DIR=/root",
                                   "A=from-flag", "D=from-env", "E"]


@pytest.mark.parametrize(("raw", "message"), [
    (b"MY VAR=1\n", "poorly formatted environment: variable 'MY VAR' contains whitespaces"),
    (b"=1\n", "no variable name on line '=1'"),
    (b"A=\xff\n", "env file f contains invalid utf8 bytes at line 1"),
])
def test_env_file_errors(raw, message):
    with pytest.raises(SwarmletError) as exc:
        parse_env_lines(raw, "f", {})
    assert message in str(exc.value)


def test_missing_env_file(tmp_path):
    missing = str(tmp_path / "nope.env")
    assert error("--env-file", missing, "alpine") == f"open {missing}: no such file or directory"


def test_env_file_strips_bom_and_keeps_value_verbatim():
    assert parse_env_lines(b"\xef\xbb\xbfA=1\nB=x=y\nC=\n", "f", {}) == ["A=1", "B=x=y", "C="]


def test_env_flag_without_name_is_an_error():
    assert error("-e", "=x", "alpine") == (
        'invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x')
    assert merge_env([], ["A=1", "A=2"], {}) == ["A=2"]


def test_service_and_container_labels():
    s = spec("--label", "tier=web", "--label", "flag", "--container-label", "a=b=c", "alpine")
    assert s["Labels"] == {"tier": "web", "flag": ""}
    assert container(s)["Labels"] == {"a": "b=c"}
    assert "empty name" in error("--label", "=x", "alpine")


# --- mounts -----------------------------------------------------------------------------


def test_mount_bind_volume_tmpfs():
    assert parse_mount("type=bind,source=/src,target=/dst,readonly") == {
        "Type": "bind", "Source": "/src", "Target": "/dst", "ReadOnly": True}
    assert parse_mount("src=data,dst=/data") == {"Type": "volume", "Source": "data",
                                                 "Target": "/data"}
    assert parse_mount("type=volume,source=v,destination=/v,ro=false") == {
        "Type": "volume", "Source": "v", "Target": "/v"}
    assert parse_mount("type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1770") == {
        "Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 64 * 2**20,
                                                          "Mode": 0o1770}}
    assert parse_mount('"type=bind","src=/a,b",dst=/c,RO=1')["Source"] == "/a,b"


def test_mount_volume_driver_options_and_labels():
    assert parse_mount("type=volume,source=data,target=/data,volume-driver=rexray,"
                       "volume-opt=size=10,volume-opt=o=size=8m,volume-label=tier=db,"
                       "volume-label=flag,volume-nocopy") == {
        "Type": "volume", "Source": "data", "Target": "/data",
        "VolumeOptions": {"NoCopy": True, "Labels": {"tier": "db", "flag": ""},
                          "DriverConfig": {"Name": "rexray",
                                           "Options": {"size": "10", "o": "size=8m"}}}}
    # Options without a driver are the local driver's (Docker leaves the name out).
    assert parse_mount("src=scratch,dst=/s,volume-opt=type=tmpfs,volume-opt=device=tmpfs"
                       )["VolumeOptions"] == {
        "DriverConfig": {"Options": {"type": "tmpfs", "device": "tmpfs"}}}
    assert parse_mount("src=v,dst=/v,volume-nocopy=false")["VolumeOptions"] == {}
    assert parse_mount("src=v,dst=/v,volume-nocopy=1")["VolumeOptions"] == {"NoCopy": True}


@pytest.mark.parametrize(("value", "message"), [
    ("type=bind,source=/a", "target is required"),
    ("type=bind,target=/a,bogus", "invalid field 'bogus' must be a key=value pair"),
    ("type=bind,target=/a,color=red", "unexpected key 'color' in 'color=red'"),
    ("type=bind,src=/a,target=/a,readonly=maybe", "invalid value for readonly: maybe"),
    ("type=tmpfs,target=/a,tmpfs-size=lots", "invalid value for tmpfs-size: lots"),
    ("type=tmpfs,target=/a,tmpfs-mode=999", "invalid value for tmpfs-mode: 999"),
    ("type=volume,target=/a,tmpfs-size=1m", "cannot mix 'tmpfs-*' options with mount type "
     "'volume'"),
    ("type=bind,target=/a", 'field Source must not be empty'),
    ("type=tmpfs,src=x,target=/a", "field Source must not be specified"),
    ("type=nfs,target=/a", "mount type unknown"),
    ("type=bind,src=/a,target=/a,volume-driver=x", "cannot mix 'volume-*' options with mount "
     "type 'bind'"),
    ("type=tmpfs,target=/a,volume-nocopy", "cannot mix 'volume-*' options with mount type "
     "'tmpfs'"),
    ("target=/a,volume-nocopy=maybe", "invalid value for volume-nocopy: maybe"),
    ("target=/a,volume-opt", "invalid field 'volume-opt' must be a key=value pair"),
])
def test_mount_errors(value, message):
    text = error("--mount", value, "alpine")
    assert text.startswith(f'invalid argument "{value}" for "--mount" flag: ')
    assert message in text


def test_mounts_in_spec():
    s = spec("--mount", "type=bind,src=/etc,dst=/host-etc,ro", "--mount", "dst=/cache", "alpine")
    assert container(s)["Mounts"] == [
        {"Type": "bind", "Source": "/etc", "Target": "/host-etc", "ReadOnly": True},
        {"Type": "volume", "Target": "/cache"}]


# --- restart, health, container settings ------------------------------------------------


def test_restart_policy():
    s = spec("--restart-condition", "on-failure", "--restart-delay", "10s",
             "--restart-max-attempts", "3", "--restart-window", "2m", "alpine")
    assert s["TaskTemplate"]["RestartPolicy"] == {"Condition": "on-failure", "Delay": 10 * S,
                                                  "MaxAttempts": 3, "Window": 120 * S}
    assert "RestartPolicy" not in spec("alpine")["TaskTemplate"]
    assert spec("--restart-delay", "0", "alpine")["TaskTemplate"]["RestartPolicy"] == {
        "Delay": 0}


@pytest.mark.parametrize(("argv", "message"), [
    (["--restart-condition", "always"], 'invalid argument "always" for "--restart-condition"'),
    (["--restart-delay", "5"], 'invalid argument "5" for "--restart-delay" flag: '
     'time: invalid duration "5"'),
    (["--restart-max-attempts", "two"], 'for "--restart-max-attempts" flag'),
    (["--restart-window", "1x"], 'time: invalid duration "1x"'),
    (["--stop-grace-period", "soon"], 'for "--stop-grace-period" flag'),
])
def test_restart_errors(argv, message):
    assert message in error(*argv, "alpine")


def test_healthcheck():
    s = spec("--health-cmd", "curl -f http://localhost/", "--health-interval", "30s",
             "--health-timeout", "5s", "--health-retries", "3", "--health-start-period", "1m",
             "alpine")
    assert container(s)["Healthcheck"] == {
        "Test": ["CMD-SHELL", "curl -f http://localhost/"], "Interval": 30 * S,
        "Timeout": 5 * S, "Retries": 3, "StartPeriod": 60 * S}
    assert container(spec("--health-interval", "10s", "alpine"))["Healthcheck"] == {
        "Interval": 10 * S}
    assert container(spec("--no-healthcheck", "alpine"))["Healthcheck"] == {"Test": ["NONE"]}
    assert "Healthcheck" not in container(spec("alpine"))


def test_healthcheck_errors():
    assert error("--no-healthcheck", "--health-cmd", "true", "alpine") == (
        "--no-healthcheck conflicts with --health-* options")
    assert 'for "--health-retries" flag: strconv.ParseInt' in error(
        "--health-retries", "x", "alpine")
    assert "--health-retries cannot be negative" in error("--health-retries", "-1", "alpine")
    assert 'for "--health-timeout" flag' in error("--health-timeout", "fast", "alpine")


def test_container_settings():
    c = container(spec("--workdir", "/app", "-u", "1000:1000", "--hostname", "web-{{.Task.Slot}}",
                       "--stop-grace-period", "1m30s", "--stop-signal", "SIGINT", "alpine"))
    assert c == {"Image": "alpine", "Dir": "/app", "User": "1000:1000",
                 "Hostname": "web-{{.Task.Slot}}", "StopGracePeriod": 90 * S,
                 "StopSignal": "SIGINT"}


def test_detach_and_quiet_flags_parse():
    args = build_parser().parse_args(["service", "create", "-d", "-q", "alpine"])
    assert args.detach and args.quiet
    assert not build_parser().parse_args(["service", "create", "alpine"]).detach


def test_publish():
    assert parse_port("8080:80") == {"Protocol": "tcp", "TargetPort": 80,
                                     "PublishedPort": 8080, "PublishMode": "ingress"}
    assert parse_port("53:53/udp")["Protocol"] == "udp"
    assert parse_port("published=8080,target=80,mode=host")["PublishMode"] == "host"
    assert "invalid port" in error("-p", "x:80", "alpine")


# --- units ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("42", 42), ("64m", 64 * 2**20), ("1g", 2**30), ("512k", 512 * 1024),
    ("1.5GiB", int(1.5 * 2**30)), ("100 MB", 100 * 2**20), ("10b", 10), ("2KB", 2048),
    ("1t", 2**40),
])
def test_ram_in_bytes(text, expected):
    assert units.ram_in_bytes(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "-1", "1.2.3m", "1mm", "1gibb", "m"])
def test_ram_in_bytes_rejects(text):
    with pytest.raises(SwarmletError):
        units.ram_in_bytes(text)


def test_bytes_size_and_cpus():
    assert units.bytes_size(512 * 2**20) == "512MiB"
    assert units.bytes_size(int(1.5 * 2**30)) == "1.5GiB"
    assert units.bytes_size(100) == "100B"
    assert units.nano_cpus("1.5") == 1_500_000_000
    assert units.cpus_text(1_500_000_000) == "1.5"
    assert units.cpus_text(2 * S) == "2"


@pytest.mark.parametrize(("seconds", "text"), [
    (0.5, "Less than a second"), (1, "1 second"), (9, "9 seconds"), (59.9, "59 seconds"),
    (60, "About a minute"), (119, "About a minute"), (180, "3 minutes"),
    (3599, "59 minutes"), (3600, "About an hour"), (5400, "2 hours"), (47 * 3600, "47 hours"),
    (3 * 86400, "3 days"), (15 * 86400, "2 weeks"), (90 * 86400, "3 months"),
    (800 * 86400, "2 years"),
])
def test_human_duration(seconds, text):
    assert units.human_duration(seconds) == text


@pytest.mark.parametrize(("nanos", "text"), [
    (0, "0s"), (500_000_000, "500ms"), (1_500_000_000, "1.5s"), (90 * S, "1m30s"),
    (3600 * S, "1h0m0s"), (1500, "1.5µs"), (7, "7ns"), (5 * S, "5s"),
])
def test_duration_text_is_gos(nanos, text):
    assert units.duration_text(nanos) == text
    assert units.duration_nanos(text) == nanos


# --- update / rollback policies ---------------------------------------------------------


def test_no_policy_flags_send_no_policies():
    s = spec("alpine")
    assert "UpdateConfig" not in s and "RollbackConfig" not in s


def test_policy_flags_on_create_send_only_what_is_given():
    s = spec("--update-parallelism", "2", "--update-delay", "10s", "--update-failure-action",
             "rollback", "--update-max-failure-ratio", "0.5", "--rollback-order", "start-first",
             "--rollback-monitor", "20s", "alpine")
    assert s["UpdateConfig"] == {"Parallelism": 2, "Delay": 10 * S, "FailureAction": "rollback",
                                 "MaxFailureRatio": 0.5}
    assert s["RollbackConfig"] == {"Monitor": 20 * S, "Order": "start-first"}
    assert spec("--update-max-failure-ratio", "1", "alpine")["UpdateConfig"] == {
        "MaxFailureRatio": 1}
    # the agent fills in SwarmKit's defaults for the rest, as the service then shows them
    stored = normalise_spec(s)
    assert stored["UpdateConfig"] == {"Parallelism": 2, "Delay": 10 * S,
                                      "FailureAction": "rollback", "Monitor": 5 * S,
                                      "MaxFailureRatio": 0.5, "Order": "stop-first"}
    assert stored["RollbackConfig"] == {"Parallelism": 1, "Delay": 0, "FailureAction": "pause",
                                        "Monitor": 20 * S, "MaxFailureRatio": 0,
                                        "Order": "start-first"}


@pytest.mark.parametrize(("argv", "message"), [
    (["--update-failure-action", "stop"], "unrecognized update failure action stop"),
    (["--rollback-failure-action", "rollback"], "unrecognized rollback failure action rollback"),
    (["--update-order", "first"], "unrecognized update order first"),
    (["--update-max-failure-ratio", "2"],
     "TaskSpec: update-maxfailureratio cannot be less than 0 or bigger than 1"),
    (["--rollback-max-failure-ratio", "nan"], 'invalid argument "nan" for '
     '"--rollback-max-failure-ratio" flag: strconv.ParseFloat: parsing "nan": invalid syntax'),
    (["--rollback-max-failure-ratio", "-0.5"],
     "TaskSpec: update-maxfailureratio cannot be less than 0 or bigger than 1"),
    (["--update-parallelism", "x"], 'invalid argument "x" for "--update-parallelism" flag: '
     'strconv.ParseUint: parsing "x": invalid syntax'),
    (["--rollback-max-failure-ratio", "0.5x"], 'invalid argument "0.5x" for '
     '"--rollback-max-failure-ratio" flag: strconv.ParseFloat: parsing "0.5x": invalid syntax'),
    (["--update-delay", "1y"], 'invalid argument "1y" for "--update-delay" flag: '
     'time: invalid duration "1y"'),
])
def test_policy_errors_on_create(argv, message):
    """Syntax is the CLI's to refuse; values are the agent's (sent, refused in its words)."""
    try:
        sent = spec(*argv, "alpine")
    except SwarmletError as exc:
        assert str(exc) == message
        return
    with pytest.raises(SpecError) as refused:
        normalise_spec(sent)
    assert refused.value.message == message
