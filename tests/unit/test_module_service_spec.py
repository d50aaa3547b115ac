"""swarm_service's pure cores: parameters -> the options given, ServiceSpec -> flattened facts,
their comparison and the merge onto the current spec (module_utils/_service_spec.py), and the
convergence verdict of `wait` (module_utils/_service_wait.py)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

from swarmlet.spec.service import DEFAULT_RESTART, DEFAULT_UPDATE, normalise_spec

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "collections"))

from ansible_collections.swarmlet.swarm.plugins.module_utils import (  # noqa: E402
    _service_spec as S,
)
from ansible_collections.swarmlet.swarm.plugins.module_utils import (  # noqa: E402
    _service_wait as W,
)
from ansible_collections.swarmlet.swarm.plugins.modules.swarm_service import (  # noqa: E402
    argument_spec,
)

NANO = 10**9
SPEC = argument_spec()


def group(option, **given):
    """A dict option as AnsibleModule hands it over: every sub-option present, None if unset."""
    values = {name: None for name in SPEC[option]["options"]}
    values.update(given)
    return values


def params(**given):
    """Module parameters as AnsibleModule hands them over (defaults filled in)."""
    values = {name: opt.get("default") for name, opt in SPEC.items()}
    for name, value in given.items():
        if isinstance(value, dict) and "options" in SPEC[name]:
            value = group(name, **value)
        if name == "mounts":
            value = [dict({"type": "bind", "readonly": False, "source": None,
                           "tmpfs_size": None, "tmpfs_mode": None, "no_copy": None,
                           "labels": None, "driver_config": None, "propagation": None}, **m)
                     for m in value]
        if name == "publish":
            value = [dict({"published_port": None, "protocol": "tcp", "mode": "ingress"}, **p)
                     for p in value]
        values[name] = value
    return values


def wanted(**given):
    return S.wanted_options(params(**given))


def stored(spec, old=None):
    """The spec as the agent keeps it: the agent's own normalisation (the spec core), not a
    stand-in of the module's."""
    return normalise_spec(copy.deepcopy(spec), old)


FULL = dict(
    image="swarmlet/demo:latest", command="sh -c 'sleep 1d'", args=["a", "b"],
    env={"A": "1", "B": 2}, mode="replicated", replicas=3,
    placement={"constraints": ["node.role == worker"], "preferences": [{"spread": "node.labels.z"}],
               "replicas_max_per_node": 2},
    limits={"cpus": 0.5, "memory": "64M"}, reservations={"cpus": 0.25, "memory": "1.5G"},
    restart_config={"condition": "on-failure", "delay": "2s", "max_attempts": 3,
                    "window": "1m30s"},
    healthcheck={"test": "wget -q -O- http://localhost/", "interval": "10s", "retries": 3},
    mounts=[{"source": "/tmp", "target": "/host/tmp", "readonly": True},
            {"type": "tmpfs", "target": "/scratch", "tmpfs_size": "16M", "tmpfs_mode": "1777"},
            {"type": "volume", "source": "db", "target": "/db", "labels": {"tier": "db"},
             "driver_config": {"name": "rexray", "options": {"size": 10}}}],
    labels={"team": "web"}, container_labels={"c": "d"}, hostname="h", user="nobody",
    working_dir="/srv", stop_grace_period="20s", stop_signal="SIGTERM",
    update_config={"parallelism": 2, "delay": "10s", "failure_action": "rollback",
                   "monitor": "1s", "max_failure_ratio": 0.5, "order": "start-first"},
    rollback_config={"parallelism": 0, "order": "stop-first"},
)


# --- units ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "nanos"), [
    ("10s", 10 * NANO), ("1m30s", 90 * NANO), ("500ms", 5 * 10**8), ("20us", 20000),
    ("1.5h", 5400 * NANO), ("2h3m4s", (2 * 3600 + 3 * 60 + 4) * NANO), ("0", 0),
    ("12345", 12345), (7, 7), ("1µs", 1000), (" 5s ", 5 * NANO),
])
def test_durations(text, nanos):
    assert S.parse_duration(text, "x") == nanos


@pytest.mark.parametrize("text", ["", "ten", "10 s", "-5s", "5d", "s", True, -1, 1.5])
def test_bad_durations_name_option_and_value(text):
    with pytest.raises(S.SpecError) as err:
        S.parse_duration(text, "restart_config.delay")
    assert f'restart_config.delay: invalid duration "{text}"' in str(err.value)


@pytest.mark.parametrize(("text", "size"), [
    ("64M", 64 * 2**20), ("64m", 64 * 2**20), ("64MB", 64 * 2**20), ("64MiB", 64 * 2**20),
    ("1.5G", int(1.5 * 2**30)), ("512k", 512 * 1024), ("100", 100), ("100b", 100),
    ("2 T", 2 * 2**40), (4096, 4096), ("0", 0),
])
def test_memory(text, size):
    assert S.parse_memory(text, "x") == size


@pytest.mark.parametrize("text", ["lots", "64X", "M", "-1M", "1.2.3G", True])
def test_bad_memory_names_option_and_value(text):
    with pytest.raises(S.SpecError) as err:
        S.parse_memory(text, "limits.memory")
    assert f'limits.memory: invalid memory size "{text}"' in str(err.value)


@pytest.mark.parametrize(("value", "mode"), [
    (0o1777, 0o1777), ("1777", 0o1777), ("01777", 0o1777), ("0o755", 0o755), (None, None)])
def test_file_modes(value, mode):
    assert S.parse_mode(value, "x") == mode


@pytest.mark.parametrize("value", ["rwx", "0o9", "99999", -1, 0o17777, True])
def test_bad_file_modes(value):
    with pytest.raises(S.SpecError, match=f'mounts.tmpfs_mode: invalid file mode "{value}"'):
        S.parse_mode(value, "mounts.tmpfs_mode")


def test_cpus():
    assert S.parse_cpus(0.5, "x") == 0.5
    assert S.parse_cpus(0, "x") is None
    with pytest.raises(S.SpecError, match="cannot be negative"):
        S.parse_cpus(-1.0, "limits.cpus")


# --- parameters -> wanted ---------------------------------------------------------------------

def test_only_given_options_are_wanted():
    assert wanted() == {}
    assert wanted(replicas=-1) == {}
    assert wanted(replicas=2) == {"replicas": 2}
    assert wanted(image="i", env={"A": "1"}) == {"image": "i", "env": ["A=1"]}


def test_full_parameters():
    w = wanted(**FULL)
    assert w["command"] == ["sh", "-c", "sleep 1d"]
    assert w["env"] == ["A=1", "B=2"]
    assert w["constraints"] == ["node.role == worker"]
    assert w["placement_preferences"] == [{"spread": "node.labels.z"}]
    assert w["limit_cpu"] == 0.5 and w["limit_memory"] == 64 * 2**20
    assert w["reserve_memory"] == int(1.5 * 2**30)
    assert w["restart_policy"] == "on-failure" and w["restart_policy_window"] == 90 * NANO
    assert w["healthcheck"] == {"test": ["CMD-SHELL", "wget -q -O- http://localhost/"],
                                "interval": 10 * NANO, "retries": 3}
    assert w["mounts"][1] == {"source": None, "target": "/scratch", "type": "tmpfs",
                              "readonly": False, "tmpfs_size": 16 * 2**20, "tmpfs_mode": 0o1777,
                              "no_copy": False, "labels": None, "driver_config": None,
                              "propagation": None}
    assert w["mounts"][2]["driver_config"] == {"name": "rexray", "options": {"size": "10"}}
    assert w["mounts"][2]["labels"] == {"tier": "db"} and w["mounts"][2]["no_copy"] is False
    assert w["update_failure_action"] == "rollback" and w["update_monitor"] == NANO
    assert w["rollback_config"] == {"parallelism": 0, "order": "stop-first"}


@pytest.mark.parametrize(("env", "result"), [
    ({"A": "1", "B": "x=y"}, ["A=1", "B=x=y"]),
    (["A=1", "B="], ["A=1", "B="]),
    ("A=1,B=2", ["A=1", "B=2"]),
    ([], None), ({}, None),
])
def test_env_forms(env, result):
    assert wanted(env=env)["env"] == result


@pytest.mark.parametrize(("env", "message"), [
    (["A"], "format KEY=VALUE"), (["=1"], "format KEY=VALUE"), ([1], "format KEY=VALUE"),
    ({"A": True}, "the value of A must be a string"), (5, "must be a dict or a list"),
])
def test_bad_env(env, message):
    with pytest.raises(S.SpecError, match=message):
        wanted(env=env)


def test_bad_values_are_named():
    cases = [
        (dict(command=["sh", 1]), "command: all items of a command list must be strings"),
        (dict(stop_grace_period="forever"), 'stop_grace_period: invalid duration "forever"'),
        (dict(limits={"memory": "lots"}), 'limits.memory: invalid memory size "lots"'),
        (dict(update_config={"delay": "1x"}), 'update_config.delay: invalid duration "1x"'),
        (dict(healthcheck={"test": ["curl"]}), "healthcheck.test must be a string"),
        (dict(mounts=[{"target": "/x"}]), 'mounts: the bind mount at /x: invalid mount config '
         'for type "bind": field Source must not be empty'),
        (dict(mounts=[{"type": "tmpfs", "source": "a", "target": "/x"}]),
         "field Source must not be specified"),
        (dict(mounts=[{"source": "a", "target": "/x", "tmpfs_size": "1M"}]),
         "mounts: the bind mount at /x: cannot mix 'tmpfs-*' options with mount type 'bind'"),
        (dict(mounts=[{"source": "a", "target": "/x"}, {"source": "b", "target": "/x"}]),
         "duplicate mount target /x"),
        (dict(placement={"preferences": [{"pack": "x"}]}), "placement.preferences"),
        (dict(mode="global", replicas=2), "replicas can only be used with mode replicated"),
        (dict(replicas=-2), "replicas must be a non-negative number"),
        (dict(update_config={"max_failure_ratio": 2.0}), "between 0 and 1"),
        (dict(labels={"a": {"b": 1}}), "labels: the value of a must be a string"),
    ]
    for given, message in cases:
        with pytest.raises(S.SpecError) as err:
            wanted(**given)
        assert message in str(err.value), given


def test_empty_group_clears_to_defaults():
    assert wanted(placement={}) == {"constraints": None, "placement_preferences": None,
                                    "replicas_max_per_node": None}
    assert wanted(limits={}) == {"limit_cpu": None, "limit_memory": None}
    # {}: back to the agent's defaults: left out of the spec, which the agent fills in
    assert wanted(restart_config={}) == {
        "restart_policy": None, "restart_policy_attempts": None,
        "restart_policy_delay": None, "restart_policy_window": None}
    assert wanted(update_config={})["update_monitor"] is None
    assert set(wanted(rollback_config={})["rollback_config"].values()) == {None}
    assert wanted(healthcheck={}) == {"healthcheck": {}}
    current = created(image="i", restart_config={"condition": "none", "delay": "1s"},
                      update_config={"monitor": "1s", "order": "start-first"},
                      rollback_config={"parallelism": 3})
    back = stored(S.merged_spec(current, wanted(restart_config={}, update_config={},
                                                rollback_config={})), current)
    assert back["TaskTemplate"]["RestartPolicy"] == DEFAULT_RESTART
    assert back["UpdateConfig"] == back["RollbackConfig"] == DEFAULT_UPDATE


def test_partial_groups_want_only_their_given_sub_options():
    assert wanted(update_config={"parallelism": 3}) == {"update_parallelism": 3}
    assert wanted(placement={"constraints": ["node.role==manager"]}) == {
        "constraints": ["node.role==manager"]}
    assert wanted(limits={"memory": "1G"}) == {"limit_memory": 2**30}
    assert wanted(healthcheck={"test": ["NONE"], "interval": "5s"}) == {
        "healthcheck": {"test": ["NONE"]}}


# --- spec -> facts, comparison, merge -----------------------------------------------------------

def created(**given):
    return stored(S.new_spec("web", wanted(**given)))


def test_facts_of_a_created_spec():
    facts = S.service_facts(created(**FULL))
    assert facts["image"] == "swarmlet/demo:latest"
    assert facts["mode"] == "replicated" and facts["replicas"] == 3
    assert facts["limit_cpu"] == 0.5 and facts["reserve_cpu"] == 0.25
    assert facts["mounts"][0] == {"source": "/tmp", "target": "/host/tmp", "type": "bind",
                                  "readonly": True, "tmpfs_size": None, "tmpfs_mode": None,
                                  "no_copy": False, "labels": None, "driver_config": None,
                                  "propagation": None}
    assert facts["healthcheck_disabled"] is False
    assert facts["rollback_config"] == {"parallelism": 0, "delay": 0, "failure_action": "pause",
                                        "monitor": 5 * NANO, "max_failure_ratio": 0,
                                        "order": "stop-first"}
    assert facts["force_update"] == 0
    defaults = S.service_facts(created(image="i"))
    assert defaults["replicas"] == 1 and defaults["restart_policy"] == "any"
    assert defaults["env"] is None and defaults["limit_cpu"] is None


def test_created_spec_is_idempotent():
    assert S.differences(wanted(**FULL), S.service_facts(created(**FULL))) == []


def test_a_spec_keeps_the_api_shape():
    spec = created(**FULL)
    container = spec["TaskTemplate"]["ContainerSpec"]
    assert container["Command"] == ["sh", "-c", "sleep 1d"]
    assert container["Dir"] == "/srv" and container["StopGracePeriod"] == 20 * NANO
    assert container["Healthcheck"] == {"Test": ["CMD-SHELL", "wget -q -O- http://localhost/"],
                                        "Interval": 10 * NANO, "Retries": 3}
    assert container["Mounts"][1] == {"Type": "tmpfs", "Target": "/scratch", "TmpfsOptions": {
        "SizeBytes": 16 * 2**20, "Mode": 0o1777}}
    task = spec["TaskTemplate"]
    assert task["Resources"] == {"Limits": {"NanoCPUs": 5 * 10**8, "MemoryBytes": 64 * 2**20},
                                 "Reservations": {"NanoCPUs": 25 * 10**7,
                                                  "MemoryBytes": int(1.5 * 2**30)}}
    assert task["Placement"] == {"Constraints": ["node.role == worker"], "MaxReplicas": 2,
                                 "Preferences": [{"Spread": {"SpreadDescriptor": "node.labels.z"}}]}
    assert spec["UpdateConfig"]["Order"] == "start-first"
    assert spec["Mode"] == {"Replicated": {"Replicas": 3}}


def test_unset_options_keep_their_values():
    current = created(**FULL)
    w = wanted(replicas=5)
    assert S.differences(w, S.service_facts(current)) == ["replicas"]
    merged = S.merged_spec(current, w)
    assert merged["Mode"] == {"Replicated": {"Replicas": 5}}
    expected = S.service_facts(current)
    expected["replicas"] = 5
    assert S.service_facts(merged) == expected


def test_empty_values_clear_and_compare():
    current = created(**FULL)
    facts = S.service_facts(current)
    w = wanted(env=[], labels={}, command=[], mounts=[], hostname="", limits={"cpus": 0})
    assert S.differences(w, facts) == ["command", "env", "limit_cpu", "mounts", "labels",
                                       "hostname"]
    merged = stored(S.merged_spec(current, w))
    container = merged["TaskTemplate"]["ContainerSpec"]
    for key in ("Env", "Command", "Mounts", "Hostname"):
        assert key not in container
    assert "NanoCPUs" not in merged["TaskTemplate"]["Resources"]["Limits"]
    assert merged["TaskTemplate"]["Resources"]["Limits"]["MemoryBytes"] == 64 * 2**20
    assert S.differences(w, S.service_facts(merged)) == []
    assert S.differences(w, S.service_facts(created(image="i"))) == []


def test_comparisons_ignore_order_where_docker_does():
    facts = S.service_facts(created(image="i", env=["A=1", "B=2"],
                                    placement={"constraints": ["node.labels.b==1",
                                                               "node.labels.a == 2"]}))
    assert S.differences(wanted(env={"B": "2", "A": "1"}), facts) == []
    assert S.differences(wanted(placement={"constraints": ["node.labels.a==2",
                                                           "node.labels.b == 1"]}), facts) == []
    assert S.differences(wanted(env=["A=1"]), facts) == ["env"]
    args = S.service_facts(created(image="i", args=["a", "b"]))
    assert S.differences(wanted(args=["b", "a"]), args) == ["args"]


def test_zero_means_unset_for_limits():
    facts = S.service_facts(created(image="i"))
    assert S.differences(wanted(limits={"cpus": 0, "memory": "0"},
                                placement={"replicas_max_per_node": 0}), facts) == []


def test_healthcheck_merge():
    current = created(image="i", healthcheck={"test": "true", "interval": "10s"})
    facts = S.service_facts(current)
    assert S.differences(wanted(healthcheck={"interval": "10s"}), facts) == []
    w = wanted(healthcheck={"retries": 2})
    assert S.differences(w, facts) == ["healthcheck"]
    merged = S.merged_spec(current, w)
    assert merged["TaskTemplate"]["ContainerSpec"]["Healthcheck"] == {
        "Test": ["CMD-SHELL", "true"], "Interval": 10 * NANO, "Retries": 2}
    disabled = S.merged_spec(current, wanted(healthcheck={"test": ["NONE"]}))
    assert disabled["TaskTemplate"]["ContainerSpec"]["Healthcheck"] == {"Test": ["NONE"]}
    assert S.service_facts(disabled)["healthcheck_disabled"] is True
    assert S.differences(wanted(healthcheck={"test": ["NONE"]}),
                         S.service_facts(disabled)) == []
    # settings given after NONE drop the NONE test, as Docker's update does
    again = S.merged_spec(disabled, wanted(healthcheck={"interval": "3s"}))
    assert again["TaskTemplate"]["ContainerSpec"]["Healthcheck"] == {"Interval": 3 * NANO}
    cleared = S.merged_spec(current, wanted(healthcheck={}))
    assert "Healthcheck" not in cleared["TaskTemplate"]["ContainerSpec"]
    assert S.differences(wanted(healthcheck={}), S.service_facts(cleared)) == []


def test_rollback_config_partial():
    current = created(image="i", rollback_config={"parallelism": 2, "delay": "1s"})
    facts = S.service_facts(current)
    assert S.differences(wanted(rollback_config={"delay": "1s"}), facts) == []
    w = wanted(rollback_config={"order": "start-first"})
    assert S.differences(w, facts) == ["rollback_config"]
    merged = S.merged_spec(current, w)["RollbackConfig"]
    assert merged["Parallelism"] == 2 and merged["Order"] == "start-first"
    assert merged["Delay"] == NANO


def test_update_config_and_restart_partial():
    current = created(image="i", update_config={"parallelism": 2, "delay": "5s"},
                      restart_config={"condition": "none"})
    w = wanted(update_config={"parallelism": 4}, restart_config={"max_attempts": 2})
    assert S.differences(w, S.service_facts(current)) == ["restart_policy_attempts",
                                                          "update_parallelism"]
    merged = S.merged_spec(current, w)
    assert merged["UpdateConfig"]["Parallelism"] == 4
    assert merged["UpdateConfig"]["Delay"] == 5 * NANO
    assert merged["TaskTemplate"]["RestartPolicy"]["Condition"] == "none"
    assert merged["TaskTemplate"]["RestartPolicy"]["MaxAttempts"] == 2


def test_force_update_bumps_the_counter():
    current = created(image="i")
    merged = S.merged_spec(current, {}, force_update=True)
    assert merged["TaskTemplate"]["ForceUpdate"] == 1
    assert S.merged_spec(merged, {}, force_update=True)["TaskTemplate"]["ForceUpdate"] == 2
    assert current["TaskTemplate"]["ForceUpdate"] == 0  # the input is left alone


def test_mode_change_and_rebuild():
    current = created(image="i", replicas=3, env={"A": "1"})
    facts = S.service_facts(current)
    assert S.differences(wanted(mode="global"), facts) == ["mode"]
    spec = S.rebuilt_spec(current, wanted(mode="global"))
    assert spec["Mode"] == {"Global": {}}
    assert spec["TaskTemplate"]["ContainerSpec"]["Env"] == ["A=1"]
    back = S.rebuilt_spec(spec, wanted(mode="replicated"))
    assert stored(back)["Mode"] == {"Replicated": {"Replicas": 1}}  # the agent's default
    assert S.rebuilt_spec(spec, wanted(mode="replicated", replicas=4))["Mode"] == {
        "Replicated": {"Replicas": 4}}
    global_facts = S.service_facts(stored(spec))
    assert global_facts["replicas"] is None
    with pytest.raises(S.SpecError, match="replicas can only be used with mode replicated"):
        S.check_with_current(wanted(replicas=2), global_facts)
    S.check_with_current(wanted(replicas=2, mode="replicated"), global_facts)
    S.check_with_current(wanted(replicas=2), None)


# --- networks, published ports, endpoint mode ---------------------------------------------------

NETS = {"front": "nfront0000", "back": "nback00000", "nback": "nback00000"}


def resolve(ref):
    """The module asks the agent (GET /networks/REF); here a name, an ID or a prefix."""
    for name, network_id in NETS.items():
        if ref in (name, network_id):
            return network_id
    raise S.SpecError(f"networks: network {ref} not found")


def net_wanted(**given):
    return S.resolve_networks(wanted(**given), resolve)


def port(target, published=None, protocol="tcp", mode="ingress"):
    return {"published_port": published, "target_port": target, "protocol": protocol,
            "mode": mode}


def test_network_and_port_parameters():
    w = wanted(networks=["front", {"name": "back", "aliases": ["www", "www"],
                                   "options": {"mtu": 1400}}],
               publish=[{"published_port": 8080, "target_port": 80},
                        {"target_port": 53, "protocol": "udp", "mode": "host"}],
               endpoint_mode="vip")
    assert w["networks"] == [{"name": "front", "aliases": None, "options": None},
                             {"name": "back", "aliases": ["www"], "options": {"mtu": "1400"}}]
    assert w["publish"] == [port(80, 8080), port(53, protocol="udp", mode="host")]
    assert w["endpoint_mode"] == "vip"
    assert wanted(networks=[], publish=[]) == {"networks": None, "publish": None}
    assert S.resolve_networks(w, resolve)["networks"][1]["id"] == "nback00000"


def test_bad_network_and_port_parameters_are_named():
    cases = [
        (dict(networks=[5]), "networks: only a list of strings"),
        (dict(networks=[""]), "networks: a network name or ID cannot be empty"),
        (dict(networks=[{"aliases": ["a"]}]), 'networks: "name" (a network name or ID) is '
                                              "required when networks are passed as "
                                              "dictionaries"),
        (dict(networks=[{"name": "front", "aliases": "a"}]),
         "networks: the aliases of network front must be a list of strings"),
        (dict(networks=[{"name": "front", "options": ["a"]}]),
         "networks: the options of network front must be a dict"),
        (dict(networks=[{"name": "front", "alias": ["a"]}]), "networks: unsupported key alias"),
        (dict(publish=[{"target_port": 0}]),
         "publish: target_port must be a port number between 1 and 65535, got 0"),
        (dict(publish=[{"target_port": 80, "published_port": 70000}]),
         "publish: published_port (of target_port 80) must be a port number between 1 and "
         "65535, got 70000"),
        (dict(publish=[{"target_port": 80, "protocol": "icmp"}]),
         "publish: protocol must be one of tcp, udp, got 'icmp'"),
        (dict(publish=[{"target_port": 80, "mode": "mesh"}]),
         "publish: mode must be one of ingress, host, got 'mesh'"),
        (dict(publish=[{"target_port": 80, "published_port": 8080},
                       {"target_port": 81, "published_port": 8080}]),
         "publish: published port 8080/tcp is listed twice"),
        (dict(endpoint_mode="dnsrr", publish=[{"target_port": 80}]),
         "endpoint_mode dnsrr cannot be used with ports published in ingress mode"),
    ]
    for given, message in cases:
        with pytest.raises(S.SpecError) as err:
            wanted(**given)
        assert message in str(err.value), given
    # the same port twice without a number is two ports (two numbers picked)
    assert len(wanted(publish=[{"target_port": 80}, {"target_port": 80}])["publish"]) == 2
    with pytest.raises(S.SpecError, match="networks: network nope not found"):
        net_wanted(networks=["front", "nope"])
    with pytest.raises(S.SpecError, match=r"networks: back and nback00000 are the same network"):
        net_wanted(networks=["back", "nback00000"])


def test_networks_ports_and_mode_in_the_spec_and_facts():
    w = net_wanted(image="i", networks=["back", {"name": "front", "aliases": ["www"]}],
                   publish=[{"published_port": 8080, "target_port": 80},
                            {"target_port": 443}], endpoint_mode="vip")
    spec = S.new_spec("web", w)
    assert spec["TaskTemplate"]["Networks"] == [
        {"Target": "nback00000", "Aliases": []},
        {"Target": "nfront0000", "Aliases": ["www"]}]  # sorted by ID, as Docker's CLI
    assert spec["EndpointSpec"] == {"Ports": [
        {"Protocol": "tcp", "TargetPort": 80, "PublishMode": "ingress", "PublishedPort": 8080},
        {"Protocol": "tcp", "TargetPort": 443, "PublishMode": "ingress"}]}
    facts = S.service_facts(stored(spec), network_names={"nfront0000": "front"})
    assert facts["networks"] == [
        {"id": "nback00000", "name": None, "aliases": [], "options": {}},
        {"id": "nfront0000", "name": "front", "aliases": ["www"], "options": {}}]
    assert facts["publish"] == [port(80, 8080), port(443)]
    assert facts["endpoint_mode"] == "vip"
    assert S.differences(w, facts) == []
    plain = S.service_facts(created(image="i"))
    assert (plain["networks"], plain["publish"], plain["endpoint_mode"]) == (None, None, "vip")


def test_networks_compare_by_id_in_any_order():
    current = stored(S.new_spec("web", net_wanted(
        image="i", networks=["front", {"name": "back", "aliases": ["a", "b"],
                                       "options": {"o": "1"}}])))
    facts = S.service_facts(current)
    assert S.differences(net_wanted(networks=["nback00000", "front"]), facts) == []
    assert S.differences(net_wanted(networks=[{"name": "nback", "aliases": ["b", "a"]},
                                              "nfront0000"]), facts) == []
    assert S.differences(net_wanted(networks=["front"]), facts) == ["networks"]
    assert S.differences(net_wanted(networks=[{"name": "back", "aliases": []}, "front"]),
                         facts) == ["networks"]
    assert S.differences(net_wanted(networks=[{"name": "back", "options": {}}, "front"]),
                         facts) == ["networks"]
    assert S.differences(net_wanted(networks=[]), facts) == ["networks"]
    assert S.differences(net_wanted(networks=[]), S.service_facts(created(image="i"))) == []


def test_network_merge_keeps_what_was_not_given():
    current = stored(S.new_spec("web", net_wanted(
        image="i", networks=[{"name": "back", "aliases": ["a"], "options": {"o": "1"}}])))
    merged = S.merged_spec(current, net_wanted(networks=["back", "front"]))
    assert merged["TaskTemplate"]["Networks"] == [
        {"Target": "nback00000", "Aliases": ["a"], "DriverOpts": {"o": "1"}},
        {"Target": "nfront0000", "Aliases": []}]
    removed = S.merged_spec(merged, net_wanted(networks=[]))
    assert "Networks" not in removed["TaskTemplate"]
    # the same networks in another order: the spec is left exactly as it was
    swapped = dict(merged, TaskTemplate=dict(merged["TaskTemplate"], Networks=list(
        reversed(merged["TaskTemplate"]["Networks"]))))
    again = S.merged_spec(swapped, net_wanted(networks=["front", "back"]))
    assert again["TaskTemplate"]["Networks"] == swapped["TaskTemplate"]["Networks"]
    # networks left unset are kept
    assert S.merged_spec(merged, wanted(replicas=2))["TaskTemplate"]["Networks"] == \
        merged["TaskTemplate"]["Networks"]


def test_publish_is_a_set_and_a_port_given_no_number_keeps_its_number():
    current = stored(S.new_spec("web", wanted(image="i", publish=[
        {"published_port": 8080, "target_port": 80}, {"target_port": 443},
        {"published_port": 53, "target_port": 53, "protocol": "udp", "mode": "host"}])))
    facts = S.service_facts(current)
    same_ports = wanted(publish=[
        {"target_port": 53, "published_port": 53, "protocol": "udp", "mode": "host"},
        {"target_port": 443}, {"target_port": 80}])  # 80: whatever it has (8080)
    assert S.differences(same_ports, facts) == []
    assert S.merged_spec(current, same_ports) == current
    assert S.differences(wanted(publish=[{"target_port": 80, "published_port": 8080},
                                         {"target_port": 443}]), facts) == ["publish"]
    assert S.differences(wanted(publish=[{"target_port": 80, "published_port": 8081},
                                         {"target_port": 443},
                                         {"target_port": 53, "published_port": 53,
                                          "protocol": "udp", "mode": "host"}]),
                         facts) == ["publish"]
    assert S.differences(wanted(publish=[{"target_port": 80, "protocol": "udp"},
                                         {"target_port": 443},
                                         {"target_port": 53, "published_port": 53,
                                          "protocol": "udp", "mode": "host"}]),
                         facts) == ["publish"]
    # add one, give 80 no number: 80 keeps 8080, 443 stays unnumbered (the swarm keeps its
    # pick), the new one is unnumbered
    added = S.merged_spec(current, wanted(publish=[{"target_port": 80}, {"target_port": 443},
                                                   {"target_port": 9000}]))
    assert added["EndpointSpec"]["Ports"] == [
        {"Protocol": "tcp", "TargetPort": 80, "PublishMode": "ingress", "PublishedPort": 8080},
        {"Protocol": "tcp", "TargetPort": 443, "PublishMode": "ingress"},
        {"Protocol": "tcp", "TargetPort": 9000, "PublishMode": "ingress"}]
    assert added["EndpointSpec"]["Mode"] == "vip"
    cleared = S.merged_spec(current, wanted(publish=[]))
    assert cleared["EndpointSpec"] == {"Mode": "vip"}
    assert S.differences(wanted(publish=[]), S.service_facts(stored(cleared))) == []


def test_an_assigned_port_is_shown_and_is_no_change():
    spec = stored(S.new_spec("web", wanted(image="i", publish=[{"target_port": 80},
                                                              {"target_port": 81}])))
    endpoint = {"Spec": spec["EndpointSpec"], "Ports": [
        dict(spec["EndpointSpec"]["Ports"][0], PublishedPort=30000),
        dict(spec["EndpointSpec"]["Ports"][1], PublishedPort=30001)]}
    shown = S.service_facts(spec, endpoint)
    assert shown["publish"] == [port(80, 30000), port(81, 30001)]
    assert S.differences(wanted(publish=[{"target_port": 81}, {"target_port": 80}]),
                         S.service_facts(spec)) == []
    # an Endpoint of an older spec is not shown
    stale = dict(endpoint, Spec={"Mode": "vip"})
    assert S.service_facts(spec, stale)["publish"] == [port(80), port(81)]


def test_endpoint_mode():
    current = stored(S.new_spec("web", wanted(image="i", publish=[{"target_port": 80}])))
    facts = S.service_facts(current)
    assert S.differences(wanted(endpoint_mode="vip"), facts) == []
    w = wanted(endpoint_mode="dnsrr")
    assert S.differences(w, facts) == ["endpoint_mode"]
    with pytest.raises(S.SpecError, match="endpoint_mode dnsrr cannot be used with ports "
                                          "published in ingress mode"):
        S.check_with_current(w, facts)
    w = wanted(endpoint_mode="dnsrr", publish=[])
    S.check_with_current(w, facts)
    assert S.differences(w, facts) == ["endpoint_mode", "publish"]
    merged = S.merged_spec(current, w)
    assert merged["EndpointSpec"] == {"Mode": "dnsrr"}
    host = wanted(endpoint_mode="dnsrr", publish=[{"target_port": 80, "mode": "host"}])
    S.check_with_current(host, facts)
    assert S.merged_spec(current, host)["EndpointSpec"] == {"Mode": "dnsrr", "Ports": [
        {"Protocol": "tcp", "TargetPort": 80, "PublishMode": "host"}]}
    # unset keeps the mode
    dnsrr = stored(merged)
    assert S.service_facts(S.merged_spec(dnsrr, wanted(replicas=2)))["endpoint_mode"] == "dnsrr"


# --- waiting ------------------------------------------------------------------------------------

TEMPLATE = {"ContainerSpec": {"Image": "i"}, "ForceUpdate": 0}
OLD = {"ContainerSpec": {"Image": "old"}, "ForceUpdate": 0}


def node(nid, host, role="worker", state="ready", availability="active", labels=None):
    return {"ID": nid, "Spec": {"Role": role, "Availability": availability,
                                "Labels": labels or {}},
            "Description": {"Hostname": host, "Platform": {"OS": "linux",
                                                           "Architecture": "x86_64"}},
            "Status": {"State": state, "Addr": "10.0.0." + nid[-1]}}


NODES = [node("n1", "m1", role="manager"), node("n2", "w1"), node("n3", "w2")]


def task(tid, slot, node_id, state="running", desired="running", template=TEMPLATE, err=None):
    status = {"State": state, "Timestamp": f"2026-01-01T00:00:0{tid[-1]}Z"}
    if err:
        status["Err"] = err
    return {"ID": tid, "Slot": slot, "NodeID": node_id, "DesiredState": desired,
            "ServiceAnnotations": {"Name": "web"}, "Spec": template, "Status": status}


def service(replicas=2, mode=None, template=TEMPLATE, status=None, constraints=None):
    tt = dict(template, Placement={"Constraints": constraints} if constraints else {})
    spec = {"Name": "web", "TaskTemplate": tt,
            "Mode": mode or {"Replicated": {"Replicas": replicas}}}
    svc = {"ID": "s1", "Spec": spec}
    if status:
        svc["UpdateStatus"] = status
    return svc


def with_placement(tasks, svc):
    for t in tasks:
        t["Spec"] = svc["Spec"]["TaskTemplate"]
    return tasks


def test_replicated_converges_when_every_slot_runs_the_current_template():
    svc = service()
    target = svc["Spec"]["TaskTemplate"]
    running = with_placement([task("t1", 1, "n1"), task("t2", 2, "n2")], svc)
    result = W.assess(svc, running, NODES, target)
    assert result.done and (result.running, result.wanted) == (2, 2)
    starting = with_placement([task("t1", 1, "n1"), task("t2", 2, "n2", state="preparing")], svc)
    result = W.assess(svc, starting, NODES, target)
    assert not result.done and result.pending == ["web.2 on w1: preparing"]
    assert result.problems == []
    old = [task("t1", 1, "n1", template=OLD), task("t2", 2, "n2", template=OLD)]
    assert not W.assess(svc, old, NODES, target).done
    down = [dict(NODES[0], Status={"State": "down"}), *NODES[1:]]
    assert not W.assess(svc, running, down, target).done


def test_a_failed_task_of_the_new_template_is_a_failure():
    svc = service()
    target = svc["Spec"]["TaskTemplate"]
    tasks = with_placement([task("t1", 1, "n1"),
                            task("t2", 2, "n2", state="failed", err="task: non-zero exit (1)")],
                           svc)
    result = W.assess(svc, tasks, NODES, target)
    assert result.failures == ["web.2 on w1: task: non-zero exit (1)"]
    assert "task: non-zero exit (1)" in W.failure_message("web", result)
    assert W.assess(svc, tasks, NODES, target, known_failed={"t2"}).failures == []


def test_update_status():
    svc = service(status={"State": "updating", "StartedAt": "b"})
    target = svc["Spec"]["TaskTemplate"]
    tasks = with_placement([task("t1", 1, "n1"), task("t2", 2, "n2")], svc)
    assert not W.assess(svc, tasks, NODES, target).done
    svc["UpdateStatus"]["State"] = "completed"
    result = W.assess(svc, tasks, NODES, target)
    assert result.done and result.update_completed
    stale = W.assess(svc, tasks, NODES, target, stale_status={"State": "x", "StartedAt": "b"})
    assert not stale.update_completed
    svc["UpdateStatus"] = {"State": "paused", "StartedAt": "c", "Message": "update paused due "
                           "to failure or early termination of task t2"}
    assert W.assess(svc, tasks, NODES, target).error.startswith("update paused: update paused")
    svc["UpdateStatus"]["State"] = "rollback_started"
    assert "rolled back" in W.assess(svc, tasks, NODES, target).error


def test_global_services_run_on_every_node_the_agent_gave_a_task():
    svc = service(mode={"Global": {}})
    target = svc["Spec"]["TaskTemplate"]
    tasks = with_placement([task("t1", 0, "n1"), task("t2", 0, "n2", state="preparing")], svc)
    result = W.assess(svc, tasks, NODES, target)
    assert not result.done and (result.running, result.wanted) == (1, 2)
    tasks[1]["Status"]["State"] = "running"
    assert W.assess(svc, tasks, NODES, target).done
    # the plan placed three: not done before the agent has made the tasks
    assert not W.assess(svc, [], NODES, target, expected=3).done
    assert W.assess(svc, [], NODES, target).done  # no eligible node, no plan: nothing to wait
    # a node of an older template's task is still wanted; one down is not
    old = task("t3", 0, "n3", template=OLD)
    assert not W.assess(svc, [*tasks, old], NODES, target).done
    down = [*NODES[:2], node("n3", "w2", state="down")]
    assert W.assess(svc, [*tasks, old], down, target).done


def test_planned_tasks_count_the_placed_and_the_unplaced():
    plan = {"Placement": {"Nodes": {"w1": 2, "w2": 1},
                          "Unplaced": [{"Tasks": 2, "Reason": "no suitable node"}]}}
    assert S.planned_tasks(plan) == 5
    assert S.planned_tasks({"Placement": {"Nodes": {}, "Unplaced": []}}) == 0


class FakeClient:
    """Answers from a script of (service, tasks) snapshots, one per poll."""

    def __init__(self, snapshots):
        self.snapshots = list(snapshots)
        self.current = None

    def get(self, path, **query):
        if path.startswith("/services/"):
            self.current = self.snapshots.pop(0) if len(self.snapshots) > 1 else \
                self.snapshots[0]
            return self.current[0]
        if path == "/tasks":
            return self.current[1]
        return NODES


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def run_wait(snapshots, timeout=30):
    clock = Clock()
    W.wait_for_service(FakeClient(snapshots), "s1", timeout, clock=clock, sleep=clock.sleep)
    return clock.now


def test_wait_verifies_that_new_tasks_stay_up():
    svc = service()
    starting = with_placement([task("t1", 1, "n1", state="starting"), task("t2", 2, "n2")], svc)
    up = with_placement([task("t1", 1, "n1"), task("t2", 2, "n2")], svc)
    waited = run_wait([(svc, starting), (svc, starting), (svc, up)])
    assert waited == pytest.approx(1.0 + 5.0)  # two polls, then the 5 s monitor period


def test_wait_returns_at_once_when_the_update_completed():
    svc = service(status={"State": "completed", "StartedAt": "x"})
    up = with_placement([task("t1", 1, "n1"), task("t2", 2, "n2")], svc)
    assert run_wait([(svc, up)]) == 0


def test_wait_fails_with_the_task_errors():
    svc = service()
    up = with_placement([task("t1", 1, "n1"), task("t2", 2, "n2")], svc)
    failed = with_placement([task("t1", 1, "n1", state="assigned"),
                             task("t2", 2, "n2", state="failed", err="task: non-zero exit (1)")],
                            svc)
    with pytest.raises(W.ConvergeError) as err:
        run_wait([(svc, up), (svc, up), (svc, failed)])
    assert str(err.value) == ("Service web did not converge: failed tasks: web.2 on w1: "
                              "task: non-zero exit (1)")


def test_wait_times_out_with_what_is_missing():
    svc = service()
    pending = with_placement([task("t1", 1, "n1"),
                              task("t2", 2, None, state="pending",
                                   err="no suitable node (scheduling constraints not satisfied "
                                       "on 3 nodes)")], svc)
    with pytest.raises(W.ConvergeError) as err:
        run_wait([(svc, pending)], timeout=10)
    assert str(err.value) == (
        "Service web did not converge within 10 seconds: 1 of 2 tasks running; web.2: no "
        "suitable node (scheduling constraints not satisfied on 3 nodes)")


# --- secrets and configs ----------------------------------------------------------------------

def refs(kind, *items):
    """secrets/configs as AnsibleModule hands them over (every sub-option present)."""
    keys = (kind + "_name", kind + "_id", "filename", "uid", "gid", "mode")
    return [dict(dict.fromkeys(keys), **item) for item in items]


OBJECTS = {("secret", "db_pw"): "sid1", ("secret", "db_pw_v2"): "sid2",
           ("secret", "root_pw"): "sid3", ("config", "site.conf"): "cid1"}


def lookup(kind, name, ref_id):
    for (k, n), i in OBJECTS.items():
        if k == kind and (n == name or (name is None and i == ref_id)):
            return i, n
    raise S.SpecError(f"{kind}s: {kind} {name or ref_id} not found")


def wanted_refs(**given):
    return S.resolve_references(wanted(**given), lookup)


def test_secrets_and_configs_given_resolved_and_defaulted():
    w = wanted_refs(
        secrets=refs("secret", {"secret_name": "root_pw"},
                     {"secret_name": "db_pw", "filename": "mysql_pw", "uid": "999",
                      "gid": "998", "mode": "0400"},
                     {"secret_id": "sid2", "filename": "/etc/pw", "mode": 0o440}),
        configs=refs("config", {"config_name": "site.conf"}))
    assert w["secrets"] == [
        {"id": "sid3", "name": "root_pw", "filename": "root_pw", "uid": "0", "gid": "0",
         "mode": 0o444},
        {"id": "sid1", "name": "db_pw", "filename": "mysql_pw", "uid": "999", "gid": "998",
         "mode": 0o400},
        {"id": "sid2", "name": "db_pw_v2", "filename": "/etc/pw", "uid": "0", "gid": "0",
         "mode": 0o440}]
    assert w["configs"] == [{"id": "cid1", "name": "site.conf", "filename": "/site.conf",
                             "uid": "0", "gid": "0", "mode": 0o444}]
    spec = S.new_spec("db", dict(w, image="img"))
    container = spec["TaskTemplate"]["ContainerSpec"]
    assert container["Secrets"][1] == {
        "File": {"Name": "mysql_pw", "UID": "999", "GID": "998", "Mode": 0o400},
        "SecretID": "sid1", "SecretName": "db_pw"}
    assert container["Configs"] == [{
        "File": {"Name": "/site.conf", "UID": "0", "GID": "0", "Mode": 0o444},
        "ConfigID": "cid1", "ConfigName": "site.conf"}]
    facts = S.service_facts(stored(spec))
    assert facts["secrets"][1] == {"secret_id": "sid1", "secret_name": "db_pw",
                                   "filename": "mysql_pw", "uid": "999", "gid": "998",
                                   "mode": 0o400}
    assert facts["configs"][0]["config_name"] == "site.conf"
    assert S.differences(w, facts) == []


def test_secrets_bad_input_names_the_option():
    with pytest.raises(S.SpecError, match="secrets: secret_name or secret_id is required"):
        wanted(secrets=refs("secret", {"filename": "x"}))
    for mode in ("0999", "1777", "rw", 0o1000, True):
        with pytest.raises(S.SpecError, match=r'secrets: invalid file mode ".*" for secret db_pw:'
                                              r" use an octal number between 0000 and 0777"):
            wanted(secrets=refs("secret", {"secret_name": "db_pw", "mode": mode}))
    with pytest.raises(S.SpecError, match="secrets: secret nope not found"):
        wanted_refs(secrets=refs("secret", {"secret_name": "nope"}))
    with pytest.raises(S.SpecError, match="secrets: db_pw and root_pw have the same target "
                                          "/run/secrets/pw"):
        wanted_refs(secrets=refs("secret", {"secret_name": "db_pw", "filename": "pw"},
                                 {"secret_name": "root_pw", "filename": "/run/secrets/pw"}))


def test_secrets_compared_as_a_set_by_id_and_file():
    given = refs("secret", {"secret_name": "db_pw", "filename": "pw"},
                 {"secret_name": "root_pw"})
    spec = stored(S.new_spec("db", wanted_refs(image="img", secrets=given)))
    facts = S.service_facts(spec)
    # another order, an absolute path for the same file: the same
    same = refs("secret", {"secret_name": "root_pw", "filename": "/run/secrets/root_pw"},
                {"secret_name": "db_pw", "filename": "pw", "mode": "0444"})
    assert S.differences(wanted_refs(secrets=same), facts) == []
    merged = S.merged_spec(spec, wanted_refs(secrets=same))
    assert merged == spec  # nothing rewritten: no rolling update for nothing
    # a new version under the same file name: a change of ID
    rotated = refs("secret", {"secret_name": "db_pw_v2", "filename": "pw"},
                   {"secret_name": "root_pw"})
    w = wanted_refs(secrets=rotated)
    assert S.differences(w, facts) == ["secrets"]
    after = S.service_facts(S.merged_spec(spec, w))
    assert [s["secret_id"] for s in after["secrets"]] == ["sid2", "sid3"]
    assert S.differences(wanted_refs(secrets=refs("secret", {"secret_name": "db_pw",
                                                             "filename": "pw", "mode": 0o400},
                                                  {"secret_name": "root_pw"})),
                         facts) == ["secrets"]


def test_secrets_unset_keeps_and_empty_removes():
    spec = stored(S.new_spec("db", wanted_refs(
        image="img", secrets=refs("secret", {"secret_name": "db_pw"}),
        configs=refs("config", {"config_name": "site.conf"}))))
    facts = S.service_facts(spec)
    assert "secrets" not in wanted(replicas=2)
    kept = S.merged_spec(spec, wanted(replicas=2))
    assert kept["TaskTemplate"]["ContainerSpec"]["Secrets"] == \
        spec["TaskTemplate"]["ContainerSpec"]["Secrets"]
    w = wanted_refs(secrets=[])
    assert w["secrets"] is None and S.differences(w, facts) == ["secrets"]
    cleared = S.merged_spec(spec, w)
    assert "Secrets" not in cleared["TaskTemplate"]["ContainerSpec"]
    assert cleared["TaskTemplate"]["ContainerSpec"]["Configs"]
    assert S.service_facts(cleared)["secrets"] is None


def test_references_looked_up_by_exact_name_or_by_id():
    from ansible_collections.swarmlet.swarm.plugins.modules.swarm_service import ServiceManager

    class Client:
        calls = 0

        def get(self, path):
            Client.calls += 1
            assert path == "/secrets"
            return [{"ID": "abc123", "Spec": {"Name": "db_pw"}},
                    {"ID": "abd456", "Spec": {"Name": "abc123x"}}]

    class Module:
        params = {"name": "svc"}

        def fail_json(self, **kw):
            raise AssertionError(kw)

    manager = ServiceManager(Module(), Client())
    assert manager.reference("secret", "db_pw", None) == ("abc123", "db_pw")
    assert manager.reference("secret", None, "abc") == ("abc123", "db_pw")  # a prefix
    assert manager.reference("secret", "db_pw", "abc123") == ("abc123", "db_pw")
    assert manager.reference("secret", "abc123x", None) == ("abd456", "abc123x")
    with pytest.raises(S.SpecError, match="secrets: secret ID ab is ambiguous"):
        manager.reference("secret", None, "ab")
    with pytest.raises(S.SpecError, match="secrets: secret_id abd456 is not the ID of secret "
                                          "db_pw"):
        manager.reference("secret", "db_pw", "abd456")
    with pytest.raises(S.SpecError, match="secrets: secret abc not found"):
        manager.reference("secret", "abc", None)  # names are exact
    assert Client.calls == 1


# --- jobs -------------------------------------------------------------------------------------

def test_a_replicated_job_as_the_cli_makes_it_and_its_facts():
    job = created(image="i", mode="replicated-job", replicas=5)
    assert job["Mode"] == {"ReplicatedJob": {"MaxConcurrent": 5, "TotalCompletions": 5}}
    assert "UpdateConfig" not in job
    two = created(image="i", mode="replicated-job", replicas=5, max_concurrent=2)
    facts = S.service_facts(two)
    assert (facts["mode"], facts["replicas"], facts["max_concurrent"]) == \
        ("replicated-job", 5, 2)
    assert S.service_facts(created(image="i", mode="global-job"))["mode"] == "global-job"
    assert S.service_facts(created(image="i"))["max_concurrent"] is None


def test_replicas_of_a_job_are_its_completions_and_keep_its_concurrency():
    job = created(image="i", mode="replicated-job", replicas=5, max_concurrent=2)
    facts = S.service_facts(job)
    assert S.differences(wanted(replicas=5), facts) == []
    assert S.merged_spec(job, wanted(replicas=8))["Mode"] == {
        "ReplicatedJob": {"MaxConcurrent": 2, "TotalCompletions": 8}}
    assert S.merged_spec(job, wanted(max_concurrent=3))["Mode"] == {
        "ReplicatedJob": {"MaxConcurrent": 3, "TotalCompletions": 5}}


def test_job_options_only_with_their_modes():
    with pytest.raises(S.SpecError, match="max_concurrent can only be used with mode "
                                          "replicated-job"):
        wanted(max_concurrent=2, mode="replicated")
    with pytest.raises(S.SpecError, match="the service is replicated"):  # a new one's default
        S.check_with_current(wanted(max_concurrent=2), {})
    with pytest.raises(S.SpecError, match="replicas can only be used with mode replicated or "
                                          "replicated-job"):
        wanted(mode="global-job", replicas=2)
    facts = S.service_facts(created(image="i", mode="global-job"))
    with pytest.raises(S.SpecError, match="the service is global-job"):
        S.check_with_current(wanted(replicas=2), facts)


def test_a_service_rebuilt_as_a_job_leaves_its_update_policies_behind():
    current = created(image="i", replicas=3, update_config={"parallelism": 2})
    spec = S.rebuilt_spec(current, wanted(mode="replicated-job", replicas=4))
    assert stored(spec)["Mode"] == {"ReplicatedJob": {"MaxConcurrent": 4, "TotalCompletions": 4}}
    assert "UpdateConfig" not in spec and "RollbackConfig" not in spec


def job_task(tid, slot, node_id, state, iteration=1, given_up=False):
    t = task(tid, slot, node_id, state=state, desired="shutdown" if given_up else "complete")
    t["JobIteration"] = {"Index": iteration}
    if given_up:
        t["RestartGivenUp"] = 3
    return t


def test_wait_for_a_job_means_until_this_run_completed():
    svc = service(mode={"ReplicatedJob": {"MaxConcurrent": 2, "TotalCompletions": 2}})
    svc["JobStatus"] = {"JobIteration": {"Index": 1}}
    target = svc["Spec"]["TaskTemplate"]
    earlier = [job_task("t1", 1, "n1", "complete", iteration=0),
               job_task("t2", 2, "n2", "complete", iteration=0)]
    result = W.assess(svc, [*earlier, job_task("t3", 1, "n1", "running")], NODES, target)
    assert not result.done and (result.running, result.wanted) == (0, 2)
    done = [job_task("t3", 1, "n1", "complete"), job_task("t4", 2, "n2", "complete")]
    assert W.assess(svc, [*earlier, *done], NODES, target).done
    # a failure the agent retries is none; one it gave up on is
    retried = [done[0], job_task("t5", 2, "n2", "failed")]
    assert W.assess(svc, retried, NODES, target).failures == []
    given_up = [done[0], job_task("t5", 2, "n2", "failed", given_up=True)]
    assert W.assess(svc, given_up, NODES, target).failures == ["web.2 on w1: failed"]


def test_wait_for_a_global_job_covers_every_node_given_a_task():
    svc = service(mode={"GlobalJob": {}})
    svc["JobStatus"] = {"JobIteration": {"Index": 1}}
    target = svc["Spec"]["TaskTemplate"]
    tasks = [job_task("t1", 0, "n1", "complete"), job_task("t2", 0, "n2", "running")]
    assert not W.assess(svc, tasks, NODES, target).done
    tasks[1]["Status"]["State"] = "complete"
    assert W.assess(svc, tasks, NODES, target).done
    assert not W.assess(svc, tasks, NODES, target, expected=3).done
