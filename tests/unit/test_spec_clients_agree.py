"""`swarmlet service create` and `swarm_service` with the same options make the same service:
both clients only translate their syntax into a partial spec, and the agent's normalisation
(swarmlet.spec.service.normalise_spec, the real agent code) makes the stored spec of each.
The CLI side runs the real CLI parser; the module side its option -> spec translation."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

from swarmlet.cli.main import build_parser
from swarmlet.cli.service_spec import spec_from_create_args
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

ARGS = argument_spec()
NETWORKS = {"front": "nfront00000000000000000001", "back": "nback000000000000000000001"}
OBJECTS = {("secret", "db_pw"): "sid000000000000000000001",
           ("config", "site.conf"): "cid000000000000000000001"}


def _with_suboptions(spec, value):
    """An option's value as AnsibleModule hands it over: every sub-option present, with its
    default when unset."""
    subs = spec.get("options")
    if not subs or value is None:
        return value
    if isinstance(value, list):
        return [_with_suboptions(dict(spec, type="dict"), item) for item in value]
    full = {name: sub.get("default") for name, sub in subs.items()}
    full.update(value)
    return full


def module_spec(name, **given):
    """The spec swarm_service sends to create the service (networks and secrets resolved as
    it asks the agent)."""
    params = {name_: opt.get("default") for name_, opt in ARGS.items()}
    params.update({key: _with_suboptions(ARGS[key], value) for key, value in given.items()})
    wanted = S.wanted_options(params)
    wanted = S.resolve_networks(wanted, lambda ref: NETWORKS.get(ref, ref))
    wanted = S.resolve_references(
        wanted, lambda kind, ref_name, _id: (OBJECTS[(kind, ref_name)], ref_name))
    return S.new_spec(name, wanted)


def cli_spec(*argv):
    args = build_parser().parse_args(["service", "create", *argv])
    return spec_from_create_args(
        args, {}, resolve=lambda ref: NETWORKS.get(ref, ref),
        lookup=lambda kind, ref_name: OBJECTS[(kind, ref_name)])


def stored(spec):
    return normalise_spec(copy.deepcopy(spec))


CASES = {
    "minimal": (["--name", "web", "alpine"], dict(image="alpine")),
    "rich": ([
        "--name", "web", "--replicas", "3",
        "-e", "A=1", "-e", "B=2",
        "--label", "team=web", "--container-label", "c=d",
        "--mount", "type=bind,source=/srv/data,target=/data,readonly",
        "--mount", "type=tmpfs,target=/scratch,tmpfs-size=16m,tmpfs-mode=1777",
        "--mount", "type=volume,source=cache,target=/cache",
        "--mount", "type=volume,source=db,target=/db,volume-nocopy,volume-label=tier=db,"
                   "volume-driver=rexray,volume-opt=size=10",
        "-p", "published=8080,target=80", "-p", "published=5353,target=53,protocol=udp,mode=host",
        "--update-parallelism", "2", "--update-delay", "10s", "--update-failure-action",
        "rollback", "--update-monitor", ".5s", "--update-max-failure-ratio", "0.5",
        "--update-order", "start-first",
        "--rollback-parallelism", "0", "--rollback-order", "stop-first",
        "--restart-condition", "on-failure", "--restart-delay", "2s",
        "--restart-max-attempts", "3", "--restart-window", "1m30s",
        "--limit-cpu", "0.5", "--limit-memory", "64m",
        "--reserve-cpu", "0.25", "--reserve-memory", "1.5g",
        "--health-cmd", "wget -q -O- http://localhost/", "--health-interval", "10s",
        "--health-retries", "3",
        "--constraint", "node.role==worker", "--constraint", "node.labels.zone!=west",
        "--placement-pref", "spread=node.labels.zone", "--replicas-max-per-node", "2",
        "--network", "front", "--network", NETWORKS["back"],
        "--secret", "source=db_pw,target=db_password,mode=0400",
        "--config", "source=site.conf,target=/etc/site.conf",
        "--hostname", "h", "--user", "nobody", "--workdir", "/srv",
        "--stop-grace-period", "20s", "--stop-signal", "SIGTERM",
        "--entrypoint", "sh -c",
        "swarmlet/demo:latest", "sleep 1d",
    ], dict(
        image="swarmlet/demo:latest", replicas=3,
        env={"A": "1", "B": 2},
        labels={"team": "web"}, container_labels={"c": "d"},
        mounts=[{"type": "bind", "source": "/srv/data", "target": "/data", "readonly": True},
                {"type": "tmpfs", "target": "/scratch", "tmpfs_size": "16M",
                 "tmpfs_mode": "1777"},
                {"type": "volume", "source": "cache", "target": "/cache"},
                {"type": "volume", "source": "db", "target": "/db", "no_copy": True,
                 "labels": {"tier": "db"},
                 "driver_config": {"name": "rexray", "options": {"size": 10}}}],
        publish=[{"published_port": 8080, "target_port": 80},
                 {"published_port": 5353, "target_port": 53, "protocol": "udp",
                  "mode": "host"}],
        update_config={"parallelism": 2, "delay": "10s", "failure_action": "rollback",
                       "monitor": ".5s", "max_failure_ratio": 0.5, "order": "start-first"},
        rollback_config={"parallelism": 0, "order": "stop-first"},
        restart_config={"condition": "on-failure", "delay": "2s", "max_attempts": 3,
                        "window": "1m30s"},
        limits={"cpus": 0.5, "memory": "64M"}, reservations={"cpus": 0.25, "memory": "1.5G"},
        healthcheck={"test": "wget -q -O- http://localhost/", "interval": "10s",
                     "retries": 3},
        placement={"constraints": ["node.role==worker", "node.labels.zone!=west"],
                   "preferences": [{"spread": "node.labels.zone"}],
                   "replicas_max_per_node": 2},
        networks=["front", NETWORKS["back"]],
        secrets=[{"secret_name": "db_pw", "filename": "db_password", "mode": "0400"}],
        configs=[{"config_name": "site.conf", "filename": "/etc/site.conf"}],
        hostname="h", user="nobody", working_dir="/srv",
        stop_grace_period="20s", stop_signal="SIGTERM",
        command=["sh", "-c"], args=["sleep 1d"],
    )),
    "global, no health check, dnsrr": (
        ["--name", "agent", "--mode", "global", "--no-healthcheck", "--endpoint-mode", "dnsrr",
         "alpine"],
        dict(image="alpine", mode="global", healthcheck={"test": ["NONE"]},
             endpoint_mode="dnsrr")),
}


@pytest.mark.parametrize("case", CASES)
def test_cli_and_module_make_the_same_service(case):
    argv, options = CASES[case]
    name = argv[argv.index("--name") + 1]
    assert stored(cli_spec(*argv)) == stored(module_spec(name, **options))


def test_neither_client_sends_a_default_of_its_own():
    """Options left unset are absent from both partial specs: the agent alone fills them."""
    argv, options = CASES["minimal"]
    for spec in (cli_spec(*argv), module_spec("web", **options)):
        assert "UpdateConfig" not in spec and "RollbackConfig" not in spec
        assert "RestartPolicy" not in spec["TaskTemplate"]
    argv = ["--name", "web", "--update-parallelism", "2", "alpine"]
    assert cli_spec(*argv)["UpdateConfig"] == {"Parallelism": 2}
    assert module_spec("web", image="alpine", update_config={"parallelism": 2})[
        "UpdateConfig"] == {"Parallelism": 2}


# --- swarm_service's check and diff mode are the agent's plan -----------------------------------

class Exit(Exception):
    def __init__(self, result):
        super().__init__(result)
        self.result = result


class FakeModule:
    def __init__(self, check_mode=True, **given):
        self.params = {name: opt.get("default") for name, opt in ARGS.items()}
        self.params.update({k: _with_suboptions(ARGS[k], v) for k, v in given.items()})
        self.check_mode, self._diff = check_mode, True

    def exit_json(self, **result):
        raise Exit(result)

    def fail_json(self, **result):
        raise AssertionError(result["msg"])


class PlanningAgent:
    """The agent's side of a dry run: the real normalise_spec and plan diff; writes refused."""

    def __init__(self, service=None):
        self.service = service
        self.requests = []

    def get_or_none(self, path):
        return self.service

    def get(self, path, **query):
        return []

    def dry_run(self, method, path, body=None, **query):
        from swarmlet.manager.controlapi.plan import diff

        self.requests.append((method, path, query))
        old = self.service["Spec"] if path.endswith("/update") else None
        spec = normalise_spec(copy.deepcopy(body), old)
        return {"DryRun": True, "Spec": spec, "Diff": diff(old or {}, spec),
                "Placement": {"Nodes": {"w1": 1}, "Unplaced": []}}

    def post(self, *args, **kwargs):
        raise AssertionError("check mode must not write")


def run_module(agent, **given):
    from ansible_collections.swarmlet.swarm.plugins.modules.swarm_service import (
        ServiceManager,
    )

    module = FakeModule(name="web", **given)
    manager = ServiceManager(module, agent)
    with pytest.raises(Exit) as done:
        manager.present(S.wanted_options(module.params))
    return done.value.result


def test_check_mode_creates_from_the_plan():
    agent = PlanningAgent()
    result = run_module(agent, image="alpine", update_config={"parallelism": 2})
    assert agent.requests == [("POST", "/services/create", {})]
    assert result["changed"] and result["msg"] == "Service created"
    assert result["swarm_service"]["update_parallelism"] == 2
    assert result["swarm_service"]["update_monitor"] == 5 * 10**9  # the agent's default
    assert result["diff"]["before"] == {}


def test_check_mode_changes_are_the_plans_diff():
    current = {"ID": "s1", "Version": {"Index": 7},
               "Spec": stored(cli_spec("--name", "web", "--replicas", "2", "alpine"))}
    agent = PlanningAgent(current)
    same = run_module(agent, image="alpine", replicas=2, restart_config={}, update_config={})
    assert agent.requests[-1] == ("POST", "/services/s1/update", {"version": 7})
    assert not same["changed"] and same["msg"] == "Service unchanged"
    more = run_module(agent, replicas=5)
    assert more["changed"] and more["changes"] == ["replicas"]
    assert more["diff"] == {"before": {"replicas": 2}, "after": {"replicas": 5}}
