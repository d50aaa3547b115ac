"""The modules' connection options (module_utils/_module.py): community.docker's names answer
as aliases, and its tls/validate_certs cannot turn off the mutual TLS to a manager."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "collections"))

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # noqa: E402
from ansible_collections.swarmlet.swarm.plugins.module_utils._api import (  # noqa: E402
    SwarmletAPIError,
)
from ansible_collections.swarmlet.swarm.plugins.module_utils._module import (  # noqa: E402
    api_argument_spec,
    connect,
)


def params(**given):
    result = ArgumentSpecValidator(api_argument_spec()).validate(given)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def test_community_docker_names_set_the_options() -> None:
    p = params(docker_host="tcp://198.18.0.2:2377", ca_cert="/c/ca.pem",
               tls_client_cert="/c/cert.pem", tls_client_key="/c/key.pem", tls=True,
               tls_verify=True)
    assert (p["swarmlet_host"], p["ca_path"], p["client_cert"], p["client_key"]) == (
        "tcp://198.18.0.2:2377", "/c/ca.pem", "/c/cert.pem", "/c/key.pem")
    assert p["tls"] is True and p["validate_certs"] is True


@pytest.mark.parametrize("option", ["tls", "validate_certs"])
def test_false_is_refused_for_a_manager_port(option: str) -> None:
    p = params(swarmlet_host="tcp://198.18.0.2:2377", ca_path="/c/ca.pem", **{option: False})
    with pytest.raises(SwarmletAPIError) as exc:
        connect(p)
    assert exc.value.message.startswith(f"{option}: false is not supported: swarmlet_host "
                                        "tcp://198.18.0.2:2377 is reached over mutual TLS only")


def test_false_does_not_matter_on_the_local_socket() -> None:
    client = connect(params(swarmlet_host="unix:///run/swarmlet/swarmlet.sock", tls=False,
                            validate_certs=False))
    assert client.host == "unix:///run/swarmlet/swarmlet.sock"


def test_true_still_needs_the_swarm_ca() -> None:
    with pytest.raises(SwarmletAPIError, match=r"ca_path .* required"):
        connect(params(docker_host="tcp://198.18.0.2:2377", tls=True, validate_certs=True))
