"""The container's process and sandbox flags of `service create` / `service update`
(cli/service_container.py) -> the ServiceSpec fields Docker's CLI sends, and the spec core's
rules for them (spec/container_options.py)."""

from __future__ import annotations

import pytest

from swarmlet.cli.main import build_parser
from swarmlet.cli.service_container import bool_values
from swarmlet.cli.service_spec import spec_from_create_args
from swarmlet.cli.service_update import updated_spec
from swarmlet.errors import SwarmletError
from swarmlet.spec.errors import SpecError
from swarmlet.spec.service import normalise_spec

IMAGE = "swarmlet/demo:latest"
FULL = ["--dns", "192.0.2.53", "--dns-search", "example.org", "--dns-option", "ndots:2",
        "--host", "db.local:192.0.2.7", "--group", "audio", "--init", "--read-only", "-t",
        "--sysctl", "net.core.somaxconn=1024", "--cap-add", "net_admin,SYS_TIME",
        "--cap-drop", "CHOWN", "--ulimit", "nofile=1000:2000", "--ulimit", "nproc=64",
        "--log-driver", "json-file", "--log-opt", "max-size=1m",
        "--mount", "type=bind,source=/srv,target=/srv,bind-propagation=rslave",
        "--mount", "type=volume,source=v,target=/v,volume-nocopy,volume-label=a=b,"
        "volume-driver=local,volume-opt=type=tmpfs,volume-opt=device=tmpfs"]


def create(*argv: str) -> dict:
    args = build_parser().parse_args(bool_values(["service", "create", *argv]))
    return spec_from_create_args(args, {})


def update(spec: dict, *argv: str) -> dict:
    args = build_parser().parse_args(bool_values(["service", "update", *argv, "web"]))
    return updated_spec(spec, args, {})


def test_every_container_flag_reaches_the_spec_in_dockers_fields() -> None:
    spec = create(*FULL, IMAGE, "sleep", "60")
    c = spec["TaskTemplate"]["ContainerSpec"]
    assert c["DNSConfig"] == {"Nameservers": ["192.0.2.53"], "Search": ["example.org"],
                              "Options": ["ndots:2"]}
    assert c["Hosts"] == ["192.0.2.7 db.local"]
    assert c["Groups"] == ["audio"]
    assert (c["Init"], c["ReadOnly"], c["TTY"]) == (True, True, True)
    assert c["Sysctls"] == {"net.core.somaxconn": "1024"}
    assert c["CapabilityAdd"] == ["CAP_NET_ADMIN", "CAP_SYS_TIME"]
    assert c["CapabilityDrop"] == ["CAP_CHOWN"]
    assert c["Ulimits"] == [{"Name": "nofile", "Soft": 1000, "Hard": 2000},
                            {"Name": "nproc", "Soft": 64, "Hard": 64}]
    assert spec["TaskTemplate"]["LogDriver"] == {"Name": "json-file",
                                                 "Options": {"max-size": "1m"}}
    assert c["Mounts"][0]["BindOptions"] == {"Propagation": "rslave"}
    assert c["Mounts"][1]["VolumeOptions"] == {
        "NoCopy": True, "Labels": {"a": "b"},
        "DriverConfig": {"Name": "local", "Options": {"type": "tmpfs", "device": "tmpfs"}}}
    assert c["Args"] == ["sleep", "60"]  # -t and --init took no value from the IMAGE
    stored = normalise_spec(spec)
    assert normalise_spec(stored, old=stored) == stored


def test_update_adds_and_removes_as_dockers_update_does() -> None:
    spec = create(*FULL, IMAGE)
    new = update(spec, "--dns-rm", "192.0.2.53", "--dns-add", "192.0.2.54",
                 "--host-rm", "db.local:192.0.2.7", "--host-add", "cache:192.0.2.8",
                 "--group-add", "video", "--sysctl-rm", "net.core.somaxconn",
                 "--ulimit-rm", "nproc", "--ulimit-add", "nofile=10:20",
                 "--cap-add", "CHOWN", "--init=false", "--read-only=0", "--log-opt", "x=y")
    c = new["TaskTemplate"]["ContainerSpec"]
    assert c["DNSConfig"]["Nameservers"] == ["192.0.2.54"]
    assert c["Hosts"] == ["192.0.2.8 cache"]
    assert c["Groups"] == ["audio", "video"]
    assert "Sysctls" not in c
    assert c["Ulimits"] == [{"Name": "nofile", "Soft": 10, "Hard": 20}]
    assert c["CapabilityAdd"] == ["CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_TIME"]
    assert "CapabilityDrop" not in c  # an added capability is no longer dropped
    assert (c["Init"], c["ReadOnly"], c["TTY"]) == (False, False, True)
    assert new["TaskTemplate"]["LogDriver"]["Options"] == {"max-size": "1m", "x": "y"}
    assert update(spec)["TaskTemplate"] == spec["TaskTemplate"]  # no flag: nothing changes


@pytest.mark.parametrize(("argv", "words"), [
    (["--ulimit", "nofile"], 'invalid argument "nofile" for "--ulimit" flag'),
    (["--ulimit", "nofile=a:b"], "invalid ulimit argument: nofile=a:b"),
    (["--host", "nohost"], 'invalid argument "nohost" for "--host" flag'),
    (["--sysctl", "novalue"], 'invalid argument "novalue" for "--sysctl" flag'),
    (["--mount", "type=volume,target=/v,bind-propagation=rshared"],
     "cannot mix 'bind-*' options with mount type 'volume'"),
    (["--mount", "type=bind,source=/s,target=/s,bind-propagation=sideways"],
     "invalid bind propagation"),
])
def test_bad_flag_values_name_the_flag(argv, words) -> None:
    with pytest.raises(SwarmletError) as exc:
        create(*argv, IMAGE)
    assert words in str(exc.value)


def test_a_bool_flag_takes_a_go_bool_value_only_with_equals() -> None:
    assert bool_values(["--tty=false", "--init", "img", "--", "--init=x"]) == \
        ["--tty-value", "false", "--init", "img", "--", "--init=x"]
    with pytest.raises(SwarmletError, match='invalid argument "maybe" for "--init" flag'):
        create("--init=maybe", IMAGE)


def container_refusal(**fields: object) -> SpecError:
    body = {"TaskTemplate": {"ContainerSpec": {"Image": IMAGE, **fields}}}
    with pytest.raises(SpecError) as exc:
        normalise_spec(body)
    return exc.value


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"DNSConfig": {"Nameservers": ["dns.example"]}}, "DNSConfig.Nameservers[0]",
     "dns.example is not an ip address"),
    ({"Hosts": ["db.local"]}, "Hosts[0]", "invalid host entry 'db.local'"),
    ({"Hosts": ["db.local 192.0.2.1"]}, "Hosts[0]", "invalid host entry"),
    ({"Ulimits": [{"Name": "files", "Soft": 1, "Hard": 1}]}, "Ulimits[0].Name",
     "invalid ulimit type: files"),
    ({"Ulimits": [{"Name": "nofile", "Soft": 9, "Hard": 1}]}, "Ulimits[0].Soft",
     "ulimit soft limit must be less than or equal to hard limit: 9 > 1"),
])
def test_the_spec_core_refuses_what_dockerd_would_fail_the_task_for(fields, field,
                                                                    message) -> None:
    error = container_refusal(**fields)
    assert error.field == f"TaskTemplate.ContainerSpec.{field}"
    assert message in error.message


def test_capabilities_are_stored_as_docker_normalises_them() -> None:
    spec = normalise_spec({"TaskTemplate": {"ContainerSpec": {
        "Image": IMAGE, "CapabilityAdd": ["net_admin", "ALL"], "CapabilityDrop": ["cap_chown"]}}})
    container = spec["TaskTemplate"]["ContainerSpec"]
    assert container["CapabilityAdd"] == ["CAP_NET_ADMIN", "ALL"]
    assert container["CapabilityDrop"] == ["CAP_CHOWN"]


def test_the_host_flag_leaves_the_daemon_host_alone() -> None:
    args = build_parser().parse_args(["service", "create", "--host", "a:192.0.2.1", IMAGE])
    assert args.host != ["a:192.0.2.1"]


def test_host_rm_by_mapping_or_by_name() -> None:
    spec = create("--host", "a:192.0.2.1", "--host", "a:192.0.2.2", "--host", "b:192.0.2.3",
                  IMAGE)
    by_pair = update(spec, "--host-rm", "a:192.0.2.1")
    assert by_pair["TaskTemplate"]["ContainerSpec"]["Hosts"] == ["192.0.2.2 a", "192.0.2.3 b"]
    by_name = update(spec, "--host-rm", "a")
    assert by_name["TaskTemplate"]["ContainerSpec"]["Hosts"] == ["192.0.2.3 b"]
