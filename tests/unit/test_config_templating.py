"""A config with Docker's golang template driver is refused with a message that says what
to do, by the agent and by swarm_config (which says so before sending anything)."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import pytest

from swarmlet.errors import InvalidArgument
from swarmlet.manager.controlapi.secrets import CONFIG, check_spec
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


def test_the_agent_refuses_a_templated_config_naming_the_driver() -> None:
    body = checked(ConfigSpec, {"Name": "site", "Data": DATA,
                                "Templating": {"Name": "golang"}}, "config spec")
    with pytest.raises(InvalidArgument, match=r"config templating is not supported "
                                              r"\(Templating.Name golang\)"):
        check_spec(CONFIG, body)
    assert check_spec(CONFIG, {"Name": "site", "Data": DATA})[0] == "site"


def test_a_secret_has_no_templating_field() -> None:
    with pytest.raises(SpecError, match="Templating"):
        checked(SecretSpec, {"Name": "s", "Data": DATA, "Templating": {"Name": "golang"}},
                "secret spec")


def test_swarm_config_takes_communitys_choices_and_refuses_golang() -> None:
    spec = D.argument_spec(D.CONFIG)
    assert spec["template_driver"] == {"type": "str", "choices": ["golang"]}
    assert "template_driver" not in D.argument_spec(D.SECRET)

    class Failed(Exception):
        pass

    class Module:
        params = {"name": "site", "state": "present", "template_driver": "golang",
                  "data": "x", "data_is_b64": False, "data_src": None}

        def fail_json(self, msg, **_out):
            raise Failed(msg)

    with pytest.raises(Failed, match="template_driver: config templating is not supported"):
        D.run_module(Module(), D.CONFIG)
