"""`service update` / `service rollback`: flags applied onto an existing spec, and the requests
the commands make (a fake client, no cluster)."""

from __future__ import annotations

import copy

import pytest

from swarmlet.cli import service as service_cli
from swarmlet.cli.main import build_parser
from swarmlet.cli.service_update import updated_spec
from swarmlet.client import ApiResponseError
from swarmlet.errors import SwarmletError
from swarmlet.spec.errors import SpecError
from swarmlet.spec.service import normalise_spec

S = 10**9
SVC_ID = "svc0000000000000000000001"


def current() -> dict:
    """A spec as the server keeps it (defaults filled in)."""
    return {
        "Name": "web",
        "Labels": {"tier": "front", "team": "a"},
        "Mode": {"Replicated": {"Replicas": 2}},
        "TaskTemplate": {
            "ContainerSpec": {
                "Image": "nginx:1.25", "Args": ["nginx", "-g", "daemon off;"],
                "Env": ["A=1", "B=2", "C=3"], "Labels": {"x": "1"}, "Dir": "/srv",
                "Mounts": [{"Type": "volume", "Source": "data", "Target": "/data"},
                           {"Type": "bind", "Source": "/etc", "Target": "/e",
                            "ReadOnly": True}],
                "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 30 * S,
                                "Retries": 3},
            },
            "Placement": {"Constraints": ["node.role==worker"],
                          "Preferences": [{"Spread": {"SpreadDescriptor": "node.labels.zone"}}]},
            "Resources": {"Limits": {"NanoCPUs": S, "MemoryBytes": 2**30}},
            "RestartPolicy": {"Condition": "any", "Delay": 5 * S, "MaxAttempts": 0,
                              "Window": 0},
            "ForceUpdate": 0,
        },
        "UpdateConfig": {"Parallelism": 1, "Delay": 0, "FailureAction": "pause",
                         "Monitor": 5 * S, "MaxFailureRatio": 0, "Order": "stop-first"},
        "RollbackConfig": {"Parallelism": 1, "Delay": 0, "FailureAction": "pause",
                           "Monitor": 5 * S, "MaxFailureRatio": 0, "Order": "stop-first"},
        "EndpointSpec": {"Mode": "vip"},
    }


def parse(*argv: str):
    return build_parser().parse_args(["service", "update", *argv, "web"])


def update(*argv: str, spec: dict | None = None, environ: dict | None = None) -> dict:
    return updated_spec(spec or current(), parse(*argv), environ or {})


def error(*argv: str, spec: dict | None = None) -> str:
    with pytest.raises(SwarmletError) as exc:
        update(*argv, spec=spec)
    return str(exc.value)


def container(s: dict) -> dict:
    return s["TaskTemplate"]["ContainerSpec"]


# --- nothing given, simple fields -------------------------------------------------------


def test_no_flags_keep_the_spec_and_the_original_is_not_touched():
    original = current()
    assert updated_spec(original, parse(), {}) == current()
    updated_spec(original, parse("--image", "nginx:1.26", "--env-rm", "A"), {})
    assert original == current()


def test_image_args_entrypoint_and_container_settings():
    s = update("--image", "nginx:1.26", "--args", "sh -c 'echo hi'", "--entrypoint",
               "/docker-entrypoint.sh", "--workdir", "/app", "--user", "1000",
               "--hostname", "h1", "--stop-grace-period", "20s", "--stop-signal", "SIGQUIT")
    c = container(s)
    assert c["Image"] == "nginx:1.26"
    assert c["Args"] == ["sh", "-c", "echo hi"]
    assert c["Command"] == ["/docker-entrypoint.sh"]
    assert (c["Dir"], c["User"], c["Hostname"]) == ("/app", "1000", "h1")
    assert (c["StopGracePeriod"], c["StopSignal"]) == (20 * S, "SIGQUIT")
    assert c["Env"] == ["A=1", "B=2", "C=3"]  # untouched
    assert 'for "--args" flag' in error("--args", "'open")


def test_replicas_and_max_per_node():
    s = update("--replicas", "5", "--replicas-max-per-node", "1")
    assert s["Mode"] == {"Replicated": {"Replicas": 5}}
    assert s["TaskTemplate"]["Placement"]["MaxReplicas"] == 1
    assert s["TaskTemplate"]["Placement"]["Constraints"] == ["node.role==worker"]
    assert 'invalid argument "x" for "--replicas" flag' in error("--replicas", "x")


def test_replicas_on_a_global_service_is_dockers_error():
    spec = current()
    spec["Mode"] = {"Global": {}}
    assert error("--replicas", "3", spec=spec) == (
        "replicas can only be used with replicated mode")


def test_force_increments_force_update():
    assert update("--force")["TaskTemplate"]["ForceUpdate"] == 1
    spec = current()
    spec["TaskTemplate"]["ForceUpdate"] = 4
    assert update("--force", spec=spec)["TaskTemplate"]["ForceUpdate"] == 5
    assert update()["TaskTemplate"]["ForceUpdate"] == 0


# --- add / rm pairs ---------------------------------------------------------------------


def test_env_add_replaces_in_place_appends_and_rm_removes_by_name():
    s = update("--env-add", "B=20", "--env-add", "D=4", "--env-rm", "A", "--env-add", "HOME_X",
               "--env-add", "UNSET", environ={"HOME_X": "/root"})
    assert container(s)["Env"] == ["B=20", "C=3", "D=4", "HOME_X=/root", "UNSET"]
    # removal first, then addition: rm and add of one name leaves the added value
    assert container(update("--env-rm", "A", "--env-add", "A=9"))["Env"] == [
        "B=2", "C=3", "A=9"]
    assert container(update("--env-rm", "NOPE"))["Env"] == ["A=1", "B=2", "C=3"]
    assert error("--env-add", "=x") == (
        'invalid argument "=x" for "--env-add" flag: invalid environment variable: =x')


def test_env_rm_of_everything_and_env_add_onto_no_env():
    assert container(update("--env-rm", "A", "--env-rm", "B", "--env-rm", "C"))["Env"] == []
    spec = current()
    del container(spec)["Env"]
    assert "Env" not in container(update("--env-rm", "A", spec=spec))
    assert container(update("--env-add", "A=1", spec=spec))["Env"] == ["A=1"]


def test_service_labels_add_rm_and_missing_key_is_no_error():
    s = update("--label-add", "tier=back", "--label-add", "new", "--label-rm", "team",
               "--label-rm", "missing")
    assert s["Labels"] == {"tier": "back", "new": ""}
    assert "empty name" in error("--label-add", "=v")
    assert 'for "--label-add" flag' in error("--label-add", "=v")


def test_container_labels_add_rm():
    s = update("--container-label-add", "y=2", "--container-label-rm", "x")
    assert container(s)["Labels"] == {"y": "2"}
    assert s["Labels"] == {"tier": "front", "team": "a"}  # service labels untouched
    spec = current()
    del container(spec)["Labels"]
    assert "Labels" not in container(update("--container-label-rm", "x", spec=spec))


def test_constraints_add_rm_sorted_like_docker():
    s = update("--constraint-add", "node.labels.ssd==true", "--constraint-add",
               "node.hostname!=n1", "--constraint-rm", "node.role==worker")
    assert s["TaskTemplate"]["Placement"]["Constraints"] == [
        "node.hostname!=n1", "node.labels.ssd==true"]
    assert s["TaskTemplate"]["Placement"]["Preferences"] == [
        {"Spread": {"SpreadDescriptor": "node.labels.zone"}}]


def test_placement_prefs_add_rm():
    s = update("--placement-pref-rm", "spread=node.labels.zone", "--placement-pref-add",
               "spread=node.labels.rack")
    assert s["TaskTemplate"]["Placement"]["Preferences"] == [
        {"Spread": {"SpreadDescriptor": "node.labels.rack"}}]
    assert ('for "--placement-pref-add" flag: unsupported placement preference pack'
            in error("--placement-pref-add", "pack=x"))
    assert 'for "--placement-pref-rm" flag' in error("--placement-pref-rm", "spread")


def test_mounts_add_replaces_by_target_rm_by_target_sorted_by_source():
    s = update("--mount-add", "type=volume,src=cache,dst=/data", "--mount-add",
               "type=tmpfs,dst=/tmp", "--mount-rm", "/e")
    assert container(s)["Mounts"] == [
        {"Type": "tmpfs", "Target": "/tmp"},
        {"Type": "volume", "Source": "cache", "Target": "/data"}]
    assert error("--mount-add", "dst=/a", "--mount-add", "src=b,dst=/a") == (
        "duplicate mount target")
    assert error("--mount-add", "type=bind,src=/x").startswith(
        'invalid argument "type=bind,src=/x" for "--mount-add" flag: ')
    assert container(update("--mount-rm", "/nowhere"))["Mounts"] == current()[
        "TaskTemplate"]["ContainerSpec"]["Mounts"][::-1]  # sorted: "/etc" < "data"


# --- resources, restart, health ---------------------------------------------------------


def test_resources_keep_the_values_not_given():
    s = update("--limit-memory", "512m", "--reserve-cpu", "0.25")
    assert s["TaskTemplate"]["Resources"] == {
        "Limits": {"NanoCPUs": S, "MemoryBytes": 512 * 2**20},
        "Reservations": {"NanoCPUs": S // 4}}


def test_restart_flags_keep_the_others():
    s = update("--restart-condition", "on-failure", "--restart-max-attempts", "3")
    assert s["TaskTemplate"]["RestartPolicy"] == {"Condition": "on-failure", "Delay": 5 * S,
                                                  "MaxAttempts": 3, "Window": 0}


def test_health_flags_merge_onto_the_existing_check():
    assert container(update("--health-retries", "5"))["Healthcheck"] == {
        "Test": ["CMD-SHELL", "true"], "Interval": 30 * S, "Retries": 5}
    assert container(update("--health-cmd", "curl -f localhost"))["Healthcheck"]["Test"] == [
        "CMD-SHELL", "curl -f localhost"]
    assert container(update("--no-healthcheck"))["Healthcheck"] == {"Test": ["NONE"]}
    assert container(update("--health-cmd", ""))["Healthcheck"] == {"Interval": 30 * S,
                                                                   "Retries": 3}
    assert error("--no-healthcheck", "--health-cmd", "") == (
        "--no-healthcheck conflicts with --health-* options")


def test_health_settings_replace_a_none_test():
    spec = current()
    container(spec)["Healthcheck"] = {"Test": ["NONE"]}
    assert container(update("--health-interval", "10s", spec=spec))["Healthcheck"] == {
        "Interval": 10 * S}


# --- update / rollback policies ---------------------------------------------------------


def test_policy_flags_change_only_what_they_name():
    s = update("--update-parallelism", "0", "--update-delay", "10s", "--update-failure-action",
               "rollback", "--update-monitor", "1m", "--update-max-failure-ratio", "0.25",
               "--update-order", "start-first", "--rollback-parallelism", "3",
               "--rollback-failure-action", "continue")
    assert s["UpdateConfig"] == {"Parallelism": 0, "Delay": 10 * S, "FailureAction": "rollback",
                                 "Monitor": 60 * S, "MaxFailureRatio": 0.25,
                                 "Order": "start-first"}
    assert s["RollbackConfig"] == {**current()["RollbackConfig"], "Parallelism": 3,
                                   "FailureAction": "continue"}
    assert update("--update-delay", "1s")["RollbackConfig"] == current()["RollbackConfig"]


def test_policy_defaults_are_the_agents_for_a_spec_without_one():
    spec = current()
    del spec["UpdateConfig"]
    sent = update("--update-order", "start-first", spec=spec)
    assert sent["UpdateConfig"] == {"Order": "start-first"}
    assert normalise_spec(sent, old=current())["UpdateConfig"] == {
        "Parallelism": 1, "Delay": 0, "FailureAction": "pause", "Monitor": 5 * S,
        "MaxFailureRatio": 0, "Order": "start-first"}


@pytest.mark.parametrize(("argv", "message"), [
    (["--update-failure-action", "explode"], "unrecognized update failure action explode"),
    (["--rollback-failure-action", "rollback"], "unrecognized rollback failure action rollback"),
    (["--update-order", "random"], "unrecognized update order random"),
    (["--rollback-order", "x"], "unrecognized rollback order x"),
    (["--update-max-failure-ratio", "1.5"],
     "TaskSpec: update-maxfailureratio cannot be less than 0 or bigger than 1"),
    (["--rollback-max-failure-ratio", "-0.1"],
     "TaskSpec: update-maxfailureratio cannot be less than 0 or bigger than 1"),
    (["--update-delay=-1s"], "TaskSpec: update-delay cannot be negative"),
    (["--rollback-monitor=-5s"], "TaskSpec: update-monitor cannot be negative"),
])
def test_policy_values_the_daemon_refuses(argv, message):
    """The CLI sends them; the agent refuses them with Docker's daemon words."""
    with pytest.raises(SpecError) as exc:
        normalise_spec(update(*argv), old=current())
    assert exc.value.message == message


@pytest.mark.parametrize(("argv", "message"), [
    (["--update-parallelism", "-1"], 'invalid argument "-1" for "--update-parallelism" flag: '
     'strconv.ParseUint: parsing "-1": invalid syntax'),
    (["--update-max-failure-ratio", "half"], 'invalid argument "half" for '
     '"--update-max-failure-ratio" flag: strconv.ParseFloat: parsing "half": invalid syntax'),
    (["--rollback-delay", "soon"], 'invalid argument "soon" for "--rollback-delay" flag: '
     'time: invalid duration "soon"'),
    (["--update-monitor", "5"], 'for "--update-monitor" flag'),
])
def test_policy_flag_syntax_errors(argv, message):
    assert message in error(*argv)


# --- the commands -----------------------------------------------------------------------


class FakeClient:
    """Records requests; GET /services/{ref} answers with one service."""

    service: dict = {}
    requests: list = []

    def __init__(self, host=None) -> None:
        pass

    def get(self, path, **query):
        FakeClient.requests.append(("GET", path, None, query))
        return copy.deepcopy(FakeClient.service)

    def post(self, path, body=None, **query):
        FakeClient.requests.append(("POST", path, body, query))
        return {}


@pytest.fixture
def fake(monkeypatch):
    FakeClient.requests = []
    FakeClient.service = {"ID": SVC_ID, "Version": {"Index": 42}, "Spec": current(),
                          "PreviousSpec": current(),
                          "UpdateStatus": {"State": "completed", "StartedAt": "t0"}}
    waits: list = []
    monkeypatch.setattr(service_cli, "Client", FakeClient)
    monkeypatch.setattr(service_cli, "wait_on_service",
                        lambda client, ref, quiet=False, stale_status=None:
                        waits.append((ref, quiet, stale_status)))
    return waits


def run(*argv: str) -> None:
    args = build_parser().parse_args(argv)
    args.run(args)


def test_update_posts_the_new_spec_with_the_version_and_waits(fake, capsys):
    run("service", "update", "--image", "nginx:1.26", "web")
    get, post = FakeClient.requests
    assert get[:2] == ("GET", "/services/web")
    method, path, body, query = post
    assert (method, path, query) == ("POST", f"/services/{SVC_ID}/update", {"version": 42})
    assert container(body)["Image"] == "nginx:1.26"
    assert capsys.readouterr().out == "web\n"
    assert fake == [("web", False, {"State": "completed", "StartedAt": "t0"})]


def test_update_detach_and_quiet(fake, capsys):
    run("service", "update", "-d", "--force", "web")
    assert FakeClient.requests[-1][2]["TaskTemplate"]["ForceUpdate"] == 1
    assert fake == []
    run("service", "update", "-q", "--force", "web")
    assert fake[0][1] is True


def test_update_rollback_flag_asks_for_the_previous_spec(fake, capsys):
    run("service", "update", "--rollback", "-d", "web")
    assert FakeClient.requests[-1] == ("POST", f"/services/{SVC_ID}/update", None,
                                       {"version": 42, "rollback": "previous"})
    assert capsys.readouterr().out == "web\n"


def test_update_rollback_flag_alone(fake):
    with pytest.raises(SwarmletError) as exc:
        run("service", "update", "--rollback", "--image", "x", "web")
    assert str(exc.value) == "other flags may not be combined with --rollback"
    assert [r[0] for r in FakeClient.requests] == ["GET"]


def test_rollback_command(fake, capsys):
    run("service", "rollback", "web")
    assert FakeClient.requests[-1] == ("POST", f"/services/{SVC_ID}/update", None,
                                       {"version": 42, "rollback": "previous"})
    assert capsys.readouterr().out == "web\n"
    assert fake == [("web", False, {"State": "completed", "StartedAt": "t0"})]
    run("service", "rollback", "-d", "-q", "web")
    assert len(fake) == 1


def test_rollback_without_previous_spec_is_the_daemons_error(fake, monkeypatch, capsys):
    def refuse(self, path, body=None, **query):
        raise ApiResponseError(400, "service web does not have a previous spec")

    monkeypatch.setattr(FakeClient, "post", refuse)
    from swarmlet.cli.main import main
    assert main(["service", "rollback", "web"]) == 1
    assert capsys.readouterr().err == (
        "Error response from daemon: service web does not have a previous spec\n")
