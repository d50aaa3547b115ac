"""`swarmlet stack ...` against a fake agent: the request a deploy sends, Docker's lines,
messages and exit codes, and the rows ls/ps/services print."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swarmlet.cli import stack as stack_cli
from swarmlet.cli.main import main
from swarmlet.client import ApiResponseError

NS = "com.docker.stack.namespace"


def service(sid: str, name: str, stack: str | None, replicas: int = 1, **labels) -> dict:
    spec_labels = {**({NS: stack} if stack else {}), **labels}
    return {"ID": sid, "Version": {"Index": 10},
            "Spec": {"Name": name, "Labels": spec_labels,
                     "TaskTemplate": {"ContainerSpec": {"Image": "demo:1"}},
                     "Mode": {"Replicated": {"Replicas": replicas}}},
            "ServiceStatus": {"RunningTasks": replicas, "DesiredTasks": replicas}}


def task(tid: str, sid: str, slot: int, node: str = "n1") -> dict:
    return {"ID": tid, "ServiceID": sid, "Slot": slot, "NodeID": node,
            "DesiredState": "running", "CreatedAt": "2026-01-01T00:00:00Z",
            "Status": {"State": "running", "Timestamp": "2026-01-01T00:00:00Z"},
            "Spec": {"ContainerSpec": {"Image": "demo:1"}}}


SERVICES = [service("svc-web-0123456789", "shop_web", "shop", 2),
            service("svc-db-0123456789a", "shop_db", "shop", env="prod"),
            service("svc-other-01234567", "other", None)]
TASKS = [task("task-web-1-01234567890", "svc-web-0123456789", 1),
         task("task-web-2-01234567890", "svc-web-0123456789", 2, "n2"),
         task("task-db-1-012345678901", "svc-db-0123456789a", 1),
         task("task-other-0123456789", "svc-other-01234567", 1)]
NODES = [{"ID": "n1", "Description": {"Hostname": "m1"}},
         {"ID": "n2", "Description": {"Hostname": "m2"}}]


class FakeClient:
    requests: list = []
    answers: dict = {}

    def __init__(self, host=None) -> None:
        pass

    def get(self, path, **query):
        FakeClient.requests.append(("GET", path, query))
        if path == "/services":
            return SERVICES
        if path == "/tasks":
            return [t for t in TASKS if "service" not in query or
                    t["ServiceID"] == query["service"]]
        if path == "/nodes":
            return NODES
        if path == "/stacks":
            return [{"Name": "shop", "Services": 2}, {"Name": "app10", "Services": 1},
                    {"Name": "app9", "Services": 3}]
        raise AssertionError(path)

    def post(self, path, body=None, **query):
        FakeClient.requests.append(("POST", path, body, query))
        answer = FakeClient.answers[path]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def delete(self, path, **query):
        FakeClient.requests.append(("DELETE", path, query))
        answer = FakeClient.answers[path]
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture(autouse=True)
def fake(monkeypatch):
    FakeClient.requests = []
    FakeClient.answers = {}
    monkeypatch.setattr(stack_cli, "Client", FakeClient)
    return FakeClient


PLAN = {"DryRun": False, "Warnings": ["Ignoring unsupported options: build"], "Plan": [
    {"Kind": "network", "Name": "shop_default", "Action": "create", "ID": "net1"},
    {"Kind": "network", "Name": "shop_back", "Action": "unchanged", "ID": "net2"},
    {"Kind": "secret", "Name": "shop_key", "Action": "create", "ID": "sec1"},
    {"Kind": "config", "Name": "shop_conf", "Action": "create", "ID": "cfg1"},
    {"Kind": "service", "Name": "shop_web", "Action": "create", "ID": "svc1"},
    {"Kind": "service", "Name": "shop_db", "Action": "update", "ID": "svc-db-0123456789a",
     "Diff": [{"Path": "TaskTemplate.ContainerSpec.Image", "Old": "db:1", "New": "db:2"}]},
    {"Kind": "service", "Name": "shop_cache", "Action": "unchanged", "ID": "svc3"},
    {"Kind": "service", "Name": "shop_old", "Action": "remove", "ID": "svc4"},
]}


def compose(tmp_path: Path, text: str = "services:\n  web:\n    image: demo:${TAG:-1}\n"):
    path = tmp_path / "docker-compose.yml"
    path.write_text(text)
    return str(path)


def test_deploy_sends_the_files_and_prints_dockers_lines(tmp_path, fake, capsys) -> None:
    fake.answers["/stacks/deploy"] = PLAN
    path = compose(tmp_path)
    assert main(["stack", "deploy", "-c", path, "--prune", "--resolve-image", "never",
                 "shop"]) == 0
    _post, route, body, query = fake.requests[-1]
    assert (route, query) == ("/stacks/deploy", {})
    assert body == {"Name": "shop", "Prune": True, "ResolveImage": "never", "Contents": {},
                    "WorkingDir": str(tmp_path),
                    "Files": [{"Filename": path,
                               "Config": {"services": {"web": {"image": "demo:1"}}}}]}
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "Creating network shop_default", "Creating secret shop_key", "Creating config shop_conf",
        "Creating service shop_web", "Updating service shop_db (id: svc-db-0123456789a)",
        "Updating service shop_cache (id: svc3)", "Removing service shop_old"]
    assert err == ("Ignoring unsupported options: build\n\n" + stack_cli.view.DETACH_NOTE
                   + "\n")


def test_deploy_dry_run_prints_the_plan_and_changes_nothing(tmp_path, fake, capsys) -> None:
    fake.answers["/stacks/deploy"] = {**PLAN, "DryRun": True}
    assert main(["stack", "deploy", "-c", compose(tmp_path), "--dry-run", "shop"]) == 0
    assert [r[3] for r in fake.requests if r[0] == "POST"] == [{"dry_run": 1}]
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["KIND", "NAME", "ACTION", "ID"]
    assert "service   shop_db        update      svc-db-01234" in out
    assert "TaskTemplate.ContainerSpec.Image   db:1      db:2" in out
    assert "No changes." not in out


def test_deploy_errors_in_files_are_named_before_any_request(tmp_path, fake, capsys) -> None:
    path = compose(tmp_path, "services:\n  web:\n    image: demo:${TAG:?set TAG}\n")
    assert main(["stack", "deploy", "-c", path, "shop"]) == 1
    assert fake.requests == []
    assert capsys.readouterr().err == (
        f"{path}: error while interpolating services.web.image: required variable TAG is "
        "missing a value: set TAG\n")


@pytest.mark.parametrize("argv, message", [
    (["stack", "deploy", "shop"], "specify a Compose file (with --compose-file)"),
    (["stack", "deploy", "-c", "x.yml", "--resolve-image", "sometimes", "shop"],
     "invalid option sometimes for flag --resolve-image"),
    (["stack", "deploy", "-c", "x.yml", "' '"], "invalid stack name: \"' '\""),
    (["stack", "rm", "shop", "  "], 'invalid stack name: "  "'),
])
def test_deploy_usage_errors(fake, capsys, argv, message) -> None:
    assert main(argv) == 1
    assert capsys.readouterr().err.strip() == message
    assert fake.requests == []


def test_a_refused_deploy_is_the_daemons_message(tmp_path, fake, capsys) -> None:
    fake.answers["/stacks/deploy"] = ApiResponseError(
        400, "docker-compose.yml: services.web.deploy.replicas: must be a number")
    assert main(["stack", "deploy", "-c", compose(tmp_path), "shop"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ("Error response from daemon: docker-compose.yml: "
                   "services.web.deploy.replicas: must be a number\n")


def test_detach_false_waits_for_the_changed_services(tmp_path, fake, monkeypatch) -> None:
    fake.answers["/stacks/deploy"] = PLAN
    waited = []
    monkeypatch.setattr(stack_cli, "wait_on_service",
                        lambda client, ref, quiet, stale_status: waited.append(ref))
    assert main(["stack", "deploy", "-c", compose(tmp_path), "--detach=false", "shop"]) == 0
    assert waited == ["svc1", "svc-db-0123456789a"]
    waited.clear()
    assert main(["stack", "deploy", "-c", compose(tmp_path), "-d", "shop"]) == 0
    assert waited == []


def test_ls_sorts_naturally(fake, capsys) -> None:
    assert main(["stack", "ls"]) == 0
    assert [line.split() for line in capsys.readouterr().out.splitlines()] == [
        ["NAME", "SERVICES"], ["app9", "3"], ["app10", "1"], ["shop", "2"]]
    assert main(["stack", "ls", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0]) == {"Name": "app9",
                                                                   "Services": "3"}


def test_services_lists_the_stacks_services_only(fake, capsys) -> None:
    assert main(["stack", "services", "shop"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS"]
    assert [line.split()[1] for line in lines[1:]] == ["shop_db", "shop_web"]
    assert main(["stack", "services", "-q", "--filter", "label=env=prod", "shop"]) == 0
    assert capsys.readouterr().out.splitlines() == ["svc-db-0123456789a"]


def test_services_of_an_empty_stack_is_a_message_and_success(fake, capsys) -> None:
    assert main(["stack", "services", "nope"]) == 0
    assert capsys.readouterr().err == "Nothing found in stack: nope\n"


def test_ps_lists_the_stacks_tasks_with_service_ps_columns(fake, capsys) -> None:
    assert main(["stack", "ps", "shop"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["ID", "NAME", "IMAGE", "NODE"]
    assert [line.split()[1] for line in lines[1:]] == ["shop_db.1", "shop_web.1", "shop_web.2"]
    assert main(["stack", "ps", "-q", "--no-trunc", "-f", "node=m2", "shop"]) == 0
    assert capsys.readouterr().out.splitlines() == ["task-web-2-01234567890"]


def test_ps_of_an_empty_stack_fails(fake, capsys) -> None:
    assert main(["stack", "ps", "nope"]) == 1
    assert capsys.readouterr().err == "nothing found in stack: nope\n"


def test_rm_prints_what_was_removed_and_nothing_found_is_no_failure(fake, capsys) -> None:
    fake.answers["/stacks/shop"] = {"Removed": [
        {"Kind": "service", "Name": "shop_db", "ID": "a"},
        {"Kind": "service", "Name": "shop_web", "ID": "b"},
        {"Kind": "secret", "Name": "shop_key", "ID": "c"},
        {"Kind": "network", "Name": "shop_default", "ID": "d"}]}
    fake.answers["/stacks/nope"] = ApiResponseError(404, "nothing found in stack: nope")
    assert main(["stack", "rm", "nope", "shop"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == ["Removing service shop_db", "Removing service shop_web",
                                "Removing secret shop_key", "Removing network shop_default"]
    assert err == "Nothing found in stack: nope\n"


def test_rm_failures_are_collected(fake, capsys) -> None:
    fake.answers["/stacks/shop"] = ApiResponseError(503, "no leader")
    fake.answers["/stacks/other"] = {"Removed": [{"Kind": "service", "Name": "other_a"}],
                                     "Errors": ["network other_net: in use by task x"]}
    fake.answers["/stacks/third"] = {"Removed": [{"Kind": "service", "Name": "third_a"}]}
    assert main(["stack", "rm", "shop", "other", "third"]) == 1
    out, err = capsys.readouterr()
    assert out == "Removing service other_a\nRemoving service third_a\n"
    assert err == ("network other_net: in use by task x\n"
                   "failed to remove some resources from stack: shop: no leader\n"
                   "failed to remove some resources from stack: other\n")


def test_stack_ls_takes_a_go_template(fake, capsys) -> None:
    assert main(["stack", "ls", "--format", "{{.Name}}={{.Services}}"]) == 0
    assert capsys.readouterr().out == "app9=3\napp10=1\nshop=2\n"
    assert main(["stack", "ls", "--format", "table {{.Name}}"]) == 0
    assert capsys.readouterr().out.split() == ["NAME", "app9", "app10", "shop"]
