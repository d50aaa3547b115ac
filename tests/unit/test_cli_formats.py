"""`--format` on each ls/ps/inspect command: the fields Docker's formatters give a row, the
default tables, and inspect templates over the whole object (a fake API, no cluster)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from swarmlet.cli import network as network_cli
from swarmlet.cli import node as node_cli
from swarmlet.cli import secret as secret_cli
from swarmlet.cli import service as service_cli
from swarmlet.cli.main import main
from swarmlet.client import ApiResponseError

WEB, AGENT = "web0123456789abcdefghijkl", "agent123456789abcdefghijk"
N1, N2 = "node1aaaaaaaaaaaaaaaaaaaa", "node2bbbbbbbbbbbbbbbbbbbb"
STAMP = "<5.5 minutes before the request>"  # made a timestamp when the fake API answers


def fresh(value):
    """The fake API's answer with STAMP as a timestamp 5.5 minutes before now (the tests may
    run long after this module was imported)."""
    if value == STAMP:
        stamp = datetime.now(UTC) - timedelta(minutes=5, seconds=30)
        return stamp.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: fresh(v) for k, v in value.items()}
    if isinstance(value, list):
        return [fresh(v) for v in value]
    return value
SERVICES = [
    {"ID": WEB, "Version": {"Index": 9},
     "Spec": {"Name": "web", "Labels": {"com.docker.stack.namespace": "shop"},
              "Mode": {"Replicated": {"Replicas": 2}},
              "TaskTemplate": {"ContainerSpec": {"Image": "nginx:1.25"}}},
     "Endpoint": {"Ports": [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080,
                             "PublishMode": "ingress"}]},
     "ServiceStatus": {"RunningTasks": 2, "DesiredTasks": 2}},
    {"ID": AGENT, "Version": {"Index": 4},
     "Spec": {"Name": "agent", "Mode": {"Global": {}},
              "TaskTemplate": {"ContainerSpec": {"Image": "agent:2"}}},
     "ServiceStatus": {"RunningTasks": 1, "DesiredTasks": 2}},
]


def task(task_id: str, slot: int, node: str, state: str = "running",
         desired: str = "running", created: str = STAMP) -> dict:
    return {"ID": task_id, "ServiceID": WEB, "Slot": slot, "NodeID": node,
            "DesiredState": desired, "CreatedAt": created,
            "Status": {"State": state, "Timestamp": STAMP},
            "Spec": {"ContainerSpec": {"Image": "nginx:1.25"}}}


TASKS = [task("t1aaaaaaaaaaaaaaaaaaaaaaa", 1, N1),
         task("t0aaaaaaaaaaaaaaaaaaaaaaa", 1, N1, "shutdown", "shutdown", "2020-01-01T00:00:00Z"),
         task("t2bbbbbbbbbbbbbbbbbbbbbbb", 2, N2)]
NODES = [
    {"ID": N1, "Spec": {"Availability": "active", "Role": "manager", "Labels": {"ssd": "true"}},
     "Description": {"Hostname": "alpha", "Engine": {"EngineVersion": "24.0.7"}},
     "Status": {"State": "ready", "Addr": "198.18.0.2"},
     "ManagerStatus": {"Leader": True, "Reachability": "reachable"}},
    {"ID": N2, "Spec": {"Availability": "drain", "Role": "worker"},
     "Description": {"Hostname": "beta", "Engine": {"EngineVersion": "24.0.7"}},
     "Status": {"State": "down", "Addr": "198.18.0.3"}},
]
NETWORKS = [{"ID": "net0123456789abcdefghijkl", "CreatedAt": "2026-03-04T05:06:07.250Z",
             "Spec": {"Name": "front", "Labels": {"env": "prod"},
                      "DriverConfiguration": {"Name": "overlay"}}}]
SECRETS = [{"ID": "sec0123456789abcdefghijkl", "CreatedAt": STAMP, "UpdatedAt": STAMP,
            "Spec": {"Name": "db_password", "Labels": {"env": "prod"}}}]
CONFIGS = [{"ID": "cfg0123456789abcdefghijkl", "CreatedAt": STAMP, "UpdatedAt": STAMP,
            "Spec": {"Name": "nginx_conf", "Data": "c2VydmVyIHt9"}}]
COLLECTIONS = {"services": SERVICES, "nodes": NODES, "networks": NETWORKS,
               "secrets": SECRETS, "configs": CONFIGS}


class FakeClient:
    def __init__(self, host=None) -> None:
        pass

    def get(self, path, **query):
        return fresh(self._get(path, **query))

    def _get(self, path, **query):
        if path == "/info":
            return {"Swarm": {"NodeID": N1}}
        if path == "/tasks":
            return [t for t in TASKS if query.get("service", WEB) == t["ServiceID"]
                    and query.get("node", t["NodeID"]) == t["NodeID"]]
        _, collection, *ref = path.split("/")
        objects = COLLECTIONS[collection]
        if not ref:
            return objects
        for obj in objects:
            if ref[0] in (obj["ID"], obj["Spec"].get("Name"), obj.get("Description", {}).get(
                    "Hostname")):
                return obj
        raise ApiResponseError(404, f"{collection[:-1]} {ref[0]} not found")


@pytest.fixture(autouse=True)
def fake(monkeypatch):
    for module in (service_cli, node_cli, network_cli, secret_cli):
        monkeypatch.setattr(module, "Client", FakeClient)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- service ------------------------------------------------------------------------------


def test_service_ls_default_table_and_templates(capsys):
    code, out, _ = run(capsys, "service", "ls")
    assert code == 0
    assert out.splitlines() == [
        "ID             NAME      MODE         REPLICAS   IMAGE        PORTS",
        "agent1234567   agent     global       1/2        agent:2      ",
        "web012345678   web       replicated   2/2        nginx:1.25   *:8080->80/tcp"]
    assert run(capsys, "service", "ls", "--format", "{{.Name}} {{.Replicas}}")[1] == (
        "agent 1/2\nweb 2/2\n")
    assert run(capsys, "service", "ls", "--format", r"table {{.Name}}\t{{.Mode}}")[1] == (
        "NAME      MODE\nagent     global\nweb       replicated\n")
    assert run(capsys, "service", "ls", "-q")[1] == "agent1234567\nweb012345678\n"
    rows = [json.loads(line) for line in run(capsys, "service", "ls", "--format",
                                             "json")[1].splitlines()]
    assert set(rows[0]) == {"ID", "Name", "Mode", "Replicas", "Image", "Ports"}


def test_service_ls_bad_templates_fail_with_dockers_words(capsys):
    code, out, err = run(capsys, "service", "ls", "--format", "{{foo .Name}}")
    assert (code, out) == (1, "")
    assert err == 'template parsing error: template: :1: function "foo" not defined\n'
    code, out, err = run(capsys, "service", "ls", "--format", "{{.Nodes}}")
    assert (code, out) == (1, "")
    assert "can't evaluate field Nodes in type *service.serviceContext" in err


def test_service_ps_fields_and_history_indent_only_in_tables(capsys):
    code, out, _ = run(capsys, "service", "ps", "--format",
                       "{{.Name}} {{.Node}} {{.DesiredState}}", "web")
    assert (code, out) == (0, "web.1 alpha Running\nweb.1 alpha Shutdown\nweb.2 beta Running\n")
    out = run(capsys, "service", "ps", "--format", r"table {{.Name}}\t{{.Node}}", "web")[1]
    assert out.splitlines() == ["NAME        NODE", "web.1       alpha",
                                r" \_ web.1   alpha", "web.2       beta"]
    assert run(capsys, "service", "ps", "-q", "web")[1].split() == [t["ID"] for t in TASKS]
    assert run(capsys, "service", "ps", "--format", "{{.ID}} {{.Image}}", "--no-trunc",
               "web")[1].split()[:2] == [TASKS[0]["ID"], "nginx:1.25"]


def test_service_inspect_format_is_over_the_whole_object(capsys):
    out = run(capsys, "service", "inspect", "--format",
              '{{.Spec.Name}} {{index .Spec.Labels "com.docker.stack.namespace"}}', "web",
              "agent")[1]
    assert out == "web shop\nagent \n"
    assert run(capsys, "service", "inspect", "-f", "{{json .Spec.Mode}}", "web")[1] == (
        '{"Replicated":{"Replicas":2}}\n')
    code, out, err = run(capsys, "service", "inspect", "-f", "{{.Spec.Mode.Replicated.Replicas}}",
                         "agent")
    assert (code, out) == (1, "\n")
    assert err.strip() == ('template parsing error: template: :1:2: executing "" at '
                           '<.Spec.Mode.Replicated.Replicas>: map has no entry for key '
                           '"Replicated"')
    assert "Service Mode:" in run(capsys, "service", "inspect", "--pretty", "web")[1]
    assert json.loads(run(capsys, "service", "inspect", "web")[1])[0]["ID"] == WEB


# --- node ---------------------------------------------------------------------------------


def test_node_ls_default_table_marks_self_and_templates_see_dockers_fields(capsys):
    assert run(capsys, "node", "ls")[1].splitlines() == [
        "ID                            HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   "
        "ENGINE VERSION",
        f"{N1} *   alpha      Ready     Active         Leader           24.0.7",
        f"{N2}     beta       Down      Drain                           24.0.7"]
    out = run(capsys, "node", "ls", "--format",
              "{{.Hostname}} {{.Self}} {{.Status}} {{.ManagerStatus}} {{.TLSStatus}}")[1]
    assert out == "alpha true Ready Leader Unknown\nbeta false Down  Unknown\n"
    assert run(capsys, "node", "ls", "-q")[1].split() == [N1, N2]


def test_node_ps_and_inspect(capsys):
    assert run(capsys, "node", "ps", "--format", "{{.Name}}|{{.CurrentState}}")[1].startswith(
        "web.1|Running 5 minutes ago\n")
    out = run(capsys, "node", "inspect", "--format",
              "{{.Description.Hostname}} {{.Spec.Labels.ssd}} {{.Status.Addr}}", "self")[1]
    assert out == "alpha true 198.18.0.2\n"


# --- network ------------------------------------------------------------------------------


def test_network_ls_fields(capsys):
    assert run(capsys, "network", "ls")[1].splitlines() == [
        "NETWORK ID     NAME      DRIVER    SCOPE", "net012345678   front     overlay   swarm"]
    out = run(capsys, "network", "ls", "--format",
              '{{.Name}} {{.Driver}} {{.Scope}} {{.IPv6}} {{.Internal}} {{.Labels}} '
              '{{.Label "env"}} {{.CreatedAt}}')[1]
    assert out == "front overlay swarm false false env=prod prod 2026-03-04 05:06:07.25 +0000 UTC\n"
    assert run(capsys, "network", "ls", "--no-trunc", "--format", "{{.ID}}")[1] == (
        NETWORKS[0]["ID"] + "\n")


def test_network_inspect_format_and_its_exit_status_64(capsys):
    assert run(capsys, "network", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Scope}}",
               "front")[1] == "front overlay swarm\n"
    code, out, err = run(capsys, "network", "inspect", "-f", "{{.Name}}", "front", "nope")
    assert (code, out, err) == (1, "front\n", "Error: No such network: nope\n")
    code, _, err = run(capsys, "network", "inspect", "-f", "{{bad}}", "front")
    assert code == 64
    assert err == 'template parsing error: template: :1: function "bad" not defined\n'


# --- secret and config --------------------------------------------------------------------


def test_secret_and_config_ls_columns_and_fields(capsys):
    lines = run(capsys, "secret", "ls")[1].splitlines()
    assert lines[0].split() == ["ID", "NAME", "DRIVER", "CREATED", "UPDATED"]
    assert lines[1].split()[:2] == [SECRETS[0]["ID"], "db_password"]
    assert run(capsys, "config", "ls")[1].splitlines()[0].split() == [
        "ID", "NAME", "CREATED", "UPDATED"]
    out = run(capsys, "secret", "ls", "--format",
              '{{.Name}} {{.Labels}} {{.Label "env"}} {{.CreatedAt}}')[1]
    assert out == "db_password env=prod prod 5 minutes ago\n"
    code, _, err = run(capsys, "config", "ls", "--format", "{{.Driver}}")
    assert code == 1
    assert "can't evaluate field Driver in type *config.configContext" in err


def test_secret_and_config_inspect_format(capsys):
    assert run(capsys, "secret", "inspect", "--format", "{{.Spec.Name}} {{.ID}}",
               "db_password")[1] == f"db_password {SECRETS[0]['ID']}\n"
    assert run(capsys, "config", "inspect", "-f", "{{.Spec.Data}}", "nginx_conf")[1] == (
        "c2VydmVyIHt9\n")
    code, out, err = run(capsys, "secret", "inspect", "-f", "{{.Spec.Name}}", "db_password",
                         "nope")
    assert (code, out) == (1, "db_password\n")
    assert err == "Error: no such secret: nope\n"
