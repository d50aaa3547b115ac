"""A config with Docker's golang template driver is taken (kept with the config, sent with
it to the nodes that render it); other drivers are refused with a message naming them."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import pytest

from swarmlet.errors import InvalidArgument
from swarmlet.manager.controlapi.secrets import CONFIG, SECRET, check_spec, templating
from swarmlet.manager.dispatcher.assignment_secrets import node_data
from swarmlet.manager.sealing import DataKeys
from swarmlet.spec.data_models import ConfigSpec, SecretSpec
from swarmlet.spec.errors import SpecError
from swarmlet.spec.validate import checked

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "collections"))

from ansible_collections.swarmlet.swarm.plugins.module_utils import (  # noqa: E402
    _data_objects as D,
)

DATA = base64.b64encode(b"server {{.Service.Name}}").decode()


def test_the_agent_takes_golang_and_refuses_other_drivers() -> None:
    body = checked(ConfigSpec, {"Name": "site", "Data": DATA,
                                "Templating": {"Name": "golang"}}, "config spec")
    assert check_spec(CONFIG, body)[0] == "site"
    assert templating(CONFIG, body) == {"Name": "golang"}
    assert templating(CONFIG, {"Name": "site", "Data": DATA}) is None
    with pytest.raises(InvalidArgument, match=r"config template driver jinja is not "
                                              r"supported \(Templating.Name\)"):
        check_spec(CONFIG, {**body, "Templating": {"Name": "jinja"}})
    with pytest.raises(InvalidArgument, match="secret templating is not supported"):
        check_spec(SECRET, {**body, "Templating": {"Name": "golang"}})


def test_the_nodes_get_the_driver_with_the_data() -> None:
    keys = DataKeys.__new__(DataKeys)
    keys.unseal = lambda _id, sealed: sealed  # type: ignore[method-assign]
    task = {"ID": "t", "DesiredState": "running", "Status": {"State": "assigned"},
            "Spec": {"ContainerSpec": {"Configs": [{"ConfigID": "c1"}, {"ConfigID": "c2"}]}}}
    objects = {"config": [
        {"ID": "c1", "Spec": {"Name": "a", "Templating": {"Name": "golang"}},
         "SealedData": b"{{.Task.Slot}}"},
        {"ID": "c2", "Spec": {"Name": "b"}, "SealedData": b"plain"}]}
    entries = {e["ID"]: e for e in node_data([task], objects, keys)}
    assert entries["c1"]["Templating"] == {"Name": "golang"}
    assert "Templating" not in entries["c2"]


def test_a_secret_has_no_templating_field() -> None:
    with pytest.raises(SpecError, match="Templating"):
        checked(SecretSpec, {"Name": "s", "Data": DATA, "Templating": {"Name": "golang"}},
                "secret spec")


def test_swarm_config_sends_the_driver_and_a_new_driver_is_a_change() -> None:
    spec = D.argument_spec(D.CONFIG)
    assert spec["template_driver"] == {"type": "str", "choices": ["golang"]}
    assert "template_driver" not in D.argument_spec(D.SECRET)

    class Client:
        sent: list = []

        def post(self, path, body, **_kw):
            self.sent.append((path, body))
            return {"ID": "new"}

    client = Client()
    assert D._apply(D.CONFIG, client, ("create", "site", {}), b"x", None, "golang") == "new"
    assert client.sent[-1][1]["Templating"] == {"Name": "golang"}
    D._apply(D.CONFIG, client, ("create", "plain", {}), b"x", None)
    assert "Templating" not in client.sent[-1][1]

    params = {"name": "site", "state": "present", "rolling_versions": True,
              "versions_to_keep": 5, "labels": None, "force": False,
              "template_driver": "golang"}
    current = {"ID": "c1", "Spec": {"Name": "site_v1", "Data": base64.b64encode(b"x").decode(),
                                    "Labels": {D.KEY_LABEL: D.data_hash(b"x"),
                                               D.VERSION_LABEL: "1"}}}
    assert D.plan(D.CONFIG, params, b"x", [current], []).changed  # plain -> golang
    templated = {**current, "Spec": {**current["Spec"], "Templating": {"Name": "golang"}}}
    assert not D.plan(D.CONFIG, params, b"x", [templated], []).changed


def test_config_create_template_driver_sends_it(monkeypatch, tmp_path, capsys) -> None:
    from swarmlet.cli import secret as secret_cli
    from swarmlet.cli.main import main

    sent: list = []
    monkeypatch.setattr(secret_cli, "Client", lambda host: None)
    monkeypatch.setattr(secret_cli, "create",
                        lambda _c, kind, spec: sent.append((kind, spec)) or {"ID": "c9"})
    source = tmp_path / "app.conf"
    source.write_text("slot {{.Task.Slot}}\n")
    assert main(["config", "create", "--template-driver", "golang", "app", str(source)]) == 0
    assert capsys.readouterr().out == "c9\n"
    assert sent[-1][1]["Templating"] == {"Name": "golang"}
    assert base64.b64decode(sent[-1][1]["Data"]) == b"slot {{.Task.Slot}}\n"
    assert main(["config", "create", "plain", str(source)]) == 0
    assert "Templating" not in sent[-1][1]


def test_a_stack_s_config_may_be_templated_not_its_secret() -> None:
    import yaml

    from swarmlet.spec.compose.problems import ComposeError
    from swarmlet.spec.compose.stack import load_stack

    text = ("services: {web: {image: a, configs: [c]}}\n"
            "configs: {c: {content: 'slot {{.Task.Slot}}', template_driver: golang}}\n")
    specs = load_stack("app", [{"Filename": "stack.yml", "Config": yaml.safe_load(text)}], {})
    assert specs.configs[0]["Templating"] == {"Name": "golang"}
    assert base64.b64decode(specs.configs[0]["Data"]) == b"slot {{.Task.Slot}}"
    secret = ("services: {web: {image: a}}\n"
              "secrets: {s: {content: x, template_driver: golang}}\n")
    with pytest.raises(ComposeError, match="secret template drivers are not supported"):
        load_stack("app", [{"Filename": "stack.yml", "Config": yaml.safe_load(secret)}], {})
