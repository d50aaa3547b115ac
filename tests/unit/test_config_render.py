"""A golang-templated config rendered for a task as SwarmKit renders it: the service, node
and task context, env/secret/config, and Docker's words when the template fails."""

from __future__ import annotations

import platform
import socket

import pytest

from swarmlet.spec.gotemplate.nodes import TemplateError
from swarmlet.worker.config_templates import ConfigTemplateError, render, render_configs


def task(slot: int = 2) -> dict:
    return {
        "ID": "t1", "ServiceID": "s1", "NodeID": "n1", "Slot": slot,
        "ServiceAnnotations": {"Name": "web", "Labels": {"tier": "front"}},
        "Spec": {"ContainerSpec": {
            "Env": ["MODE=prod", "EMPTY=", "EQ=a=b"],
            "Secrets": [{"SecretID": "sec1", "File": {"Name": "db_pass"}}],
            "Configs": [{"ConfigID": "cfg1", "File": {"Name": "/app.conf"}},
                        {"ConfigID": "cfg2", "File": {"Name": "/base.conf"}}]}},
    }


DATA = {("secret", "sec1"): b"hunter2", ("config", "cfg2"): b"base {{.Task.Slot}}"}


def rendered(source: str, t: dict | None = None) -> str:
    return render(source.encode(), t or task(), DATA).decode()


def test_the_context_names_the_service_node_and_task():
    out = rendered("{{.Service.ID}} {{.Service.Name}} {{.Service.Labels.tier}} "
                   "{{.Node.ID}} {{.Node.Hostname}} {{.Node.Platform.OS}}/"
                   "{{.Node.Platform.Architecture}} {{.Task.ID}} {{.Task.Name}} {{.Task.Slot}}")
    assert out == (f"s1 web front n1 {socket.gethostname()} linux/{platform.machine()} "
                   "t1 web.2.t1 2")


def test_a_global_task_s_slot_is_its_node():
    assert rendered("{{.Task.Slot}} {{.Task.Name}}", task(slot=0)) == "n1 web.n1.t1"


def test_env_secret_and_config_read_the_task_s_own():
    assert rendered('{{env "MODE"}}|{{env "EQ"}}|{{env "NOPE"}}|{{env "EMPTY"}}') == (
        "prod|a=b||")
    assert rendered('pw={{secret "db_pass"}}') == "pw=hunter2"
    # another config's data as it is, not rendered
    assert rendered('{{config "/base.conf"}}') == "base {{.Task.Slot}}"
    assert rendered('{{printf "%s-%d" .Service.Name 3}} {{if eq .Task.Slot "2"}}two{{end}}'
                    ) == "web-3 two"


def test_errors_are_docker_s_words():
    with pytest.raises(TemplateError) as err:
        rendered('SECRET_VAL={{secret "unknowntarget"}}\n')
    assert str(err.value) == (
        'template: expansion:1:13: executing "expansion" at <secret "unknowntarge...>: '
        "error calling secret: secret target unknowntarget not found")
    with pytest.raises(TemplateError, match=r'^template: expansion:1: function "json" not '
                                            r"defined$"):
        rendered("{{json .}}")  # Docker's CLI functions are not SwarmKit's
    with pytest.raises(TemplateError, match="can't evaluate field Nope in type "
                                            r"\*template.PayloadContext"):
        rendered("{{.Nope}}")
    with pytest.raises(TemplateError, match=r'at <.Service.Labels.nope>: map has no entry '
                                            r'for key "nope"$'):
        rendered("{{.Service.Labels.nope}}")  # Go's missingkey=error
    assert rendered('[{{index .Service.Labels "nope"}}]') == "[]"  # index: the zero value


def test_an_error_never_shows_a_secret_s_value():
    with pytest.raises(TemplateError) as err:
        rendered('{{range secret "db_pass"}}{{end}}')
    assert "hunter2" not in str(err.value)
    assert "<secret>" in str(err.value)


def test_render_configs_renders_the_templated_ones_only():
    data = {**DATA, ("config", "cfg1"): b"slot {{.Task.Slot}}"}
    out = render_configs(task(), data, {"cfg1": "golang"})
    assert out[("config", "cfg1")] == b"slot 2"
    assert out[("config", "cfg2")] == b"base {{.Task.Slot}}"  # not templated: as it is
    assert data[("config", "cfg1")] == b"slot {{.Task.Slot}}"  # per task: the source stays
    # data yet to come: nothing rendered (the task waits for it)
    assert render_configs(task(), DATA, {"cfg1": "golang"}) == DATA
    with pytest.raises(ConfigTemplateError, match=r"^failed to expand templated config cfg1: "
                                                  "template: expansion:1:2: executing"):
        render_configs(task(), {**data, ("config", "cfg1"): b"{{.Task.Nope}}"},
                       {"cfg1": "golang"})
    with pytest.raises(ConfigTemplateError, match="unrecognized template type"):
        render_configs(task(), data, {"cfg1": "jinja"})
