"""swarm_service's container options (community.docker's names) -> the ServiceSpec fields,
their facts, their comparison and idempotence against the spec as the agent stores it."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

from swarmlet.spec.service import normalise_spec

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "collections"))

from ansible_collections.swarmlet.swarm.plugins.module_utils import (  # noqa: E402
    _service_spec as S,
)
from ansible_collections.swarmlet.swarm.plugins.modules.swarm_service import (  # noqa: E402
    argument_spec,
)

SPEC = argument_spec()
GIVEN = dict(image="swarmlet/demo:latest", dns=["192.0.2.53"], dns_search=["example.org"],
             dns_options=["ndots:2"], hosts={"db.local": "192.0.2.7"}, groups=["audio", "0"],
             init=True, read_only=True, tty=True, sysctls={"net.core.somaxconn": 1024},
             cap_add=["net_admin"], cap_drop=["CHOWN"],
             ulimits=[{"name": "nofile", "soft": 1000, "hard": 2000}, "nproc=64"],
             logging={"driver": "json-file", "options": {"max-size": "1m"}})


def params(**given):
    values = {name: opt.get("default") for name, opt in SPEC.items()}
    values.update(given)
    if "logging" in given:
        values["logging"] = dict({"driver": None, "options": None}, **given["logging"])
    return values


def wanted(**given):
    return S.wanted_options(params(**given))


def stored(spec, old=None):
    return normalise_spec(copy.deepcopy(spec), old)


def test_the_options_make_dockers_fields():
    spec = stored(S.new_spec("web", wanted(**GIVEN)))
    c = spec["TaskTemplate"]["ContainerSpec"]
    assert c["DNSConfig"] == {"Nameservers": ["192.0.2.53"], "Search": ["example.org"],
                              "Options": ["ndots:2"]}
    assert c["Hosts"] == ["192.0.2.7 db.local"]
    assert c["Groups"] == ["audio", "0"]
    assert (c["Init"], c["ReadOnly"], c["TTY"]) == (True, True, True)
    assert c["Sysctls"] == {"net.core.somaxconn": "1024"}
    assert (c["CapabilityAdd"], c["CapabilityDrop"]) == (["CAP_NET_ADMIN"], ["CAP_CHOWN"])
    assert c["Ulimits"] == [{"Name": "nofile", "Soft": 1000, "Hard": 2000},
                            {"Name": "nproc", "Soft": 64, "Hard": 64}]
    assert spec["TaskTemplate"]["LogDriver"] == {"Name": "json-file",
                                                 "Options": {"max-size": "1m"}}


def test_given_again_nothing_differs_though_docker_normalised_it():
    spec = stored(S.new_spec("web", wanted(**GIVEN)))
    facts = S.service_facts(spec)
    again = dict(GIVEN, cap_add=["CAP_NET_ADMIN"], groups=["0", "audio"],
                 ulimits=["nproc=64", "nofile=1000:2000"])
    assert S.differences(wanted(**again), facts) == []
    assert stored(S.merged_spec(spec, wanted(**again)), spec) == spec
    assert facts["hosts"] == {"db.local": "192.0.2.7"}
    assert facts["log_driver"] == "json-file"


def test_changes_and_clearing():
    spec = stored(S.new_spec("web", wanted(**GIVEN)))
    facts = S.service_facts(spec)
    change = wanted(dns=[], read_only=False, logging={}, hosts={"db.local": "192.0.2.8"},
                    init=False)
    assert S.differences(change, facts) == ["dns", "hosts", "init", "read_only", "log_driver",
                                            "log_driver_options"]
    new = stored(S.merged_spec(spec, change), spec)
    c = new["TaskTemplate"]["ContainerSpec"]
    assert c["DNSConfig"] == {"Search": ["example.org"], "Options": ["ndots:2"]}
    assert "ReadOnly" not in c and c["Init"] is False
    assert c["Hosts"] == ["192.0.2.8 db.local"]
    assert "LogDriver" not in new["TaskTemplate"]
    # read_only false on a service without it is no change
    assert S.differences(wanted(read_only=False), S.service_facts(new)) == []
    assert S.differences(wanted(tty=False), S.service_facts(new)) == ["tty"]


def test_propagation_of_a_bind_mount():
    mount = {"type": "bind", "source": "/srv", "target": "/srv", "readonly": False,
             "tmpfs_size": None, "tmpfs_mode": None, "no_copy": None, "labels": None,
             "driver_config": None, "propagation": "rslave"}
    spec = stored(S.new_spec("web", wanted(image="x", mounts=[mount])))
    assert spec["TaskTemplate"]["ContainerSpec"]["Mounts"][0]["BindOptions"] == {
        "Propagation": "rslave"}
    assert S.differences(wanted(mounts=[mount]), S.service_facts(spec)) == []
    with pytest.raises(S.SpecError, match="cannot mix 'bind-\\*' options"):
        wanted(mounts=[dict(mount, type="volume")])


def test_env_files_then_env(tmp_path):
    first, second = tmp_path / "a.env", tmp_path / "b.env"
    first.write_text("# comment\nA=1\nB=from-a\n")
    second.write_text("B=from-b\nC=3\n")
    assert wanted(env_files=[str(first), str(second)], env={"C": "env"})["env"] == [
        "A=1", "B=from-b", "C=env"]
    with pytest.raises(S.SpecError, match="env_files: cannot read"):
        wanted(env_files=[str(tmp_path / "missing.env")])
    (tmp_path / "bad.env").write_text("BAD NAME=1\n")
    with pytest.raises(S.SpecError, match="contains whitespaces"):
        wanted(env_files=[str(tmp_path / "bad.env")])


@pytest.mark.parametrize(("given", "words"), [
    ({"resolve_image": True}, "resolve_image: swarmlet does not resolve image digests"),
    ({"ulimits": [{"name": "nofile"}]}, "ulimits: each item needs name and soft"),
    ({"ulimits": ["nofile"]}, "ulimits: invalid ulimit argument: nofile"),
    ({"sysctls": {"net.ipv4.ip_forward": True}}, "sysctls: the value of net.ipv4.ip_forward"),
])
def test_bad_input_is_refused_naming_the_option(given, words):
    with pytest.raises(S.SpecError) as exc:
        wanted(**given)
    assert words in str(exc.value)
