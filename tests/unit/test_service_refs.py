"""--secret/--config as Docker's CLI reads them (cli/service_refs.py), and the manager's
check of a service's references (manager/controlapi/service_refs.py)."""

from __future__ import annotations

import argparse

import pytest

from swarmlet.api.statuses import http_status
from swarmlet.cli.service_refs import parse_reference, update_references
from swarmlet.errors import DomainError, SwarmletError
from swarmlet.manager.controlapi.service_refs import check_references

SECRETS = [{"ID": "s1", "Spec": {"Name": "db_pw"}}, {"ID": "s2", "Spec": {"Name": "api_key"}}]
CONFIGS = [{"ID": "c1", "Spec": {"Name": "site.conf"}}]


def test_a_name_alone_and_the_csv_form():
    assert parse_reference("secret", "db_pw", "secret") == {
        "File": {"Name": "db_pw", "UID": "0", "GID": "0", "Mode": 0o444},
        "SecretID": "", "SecretName": "db_pw"}
    ref = parse_reference("secret", "source=db_pw,target=mysql_pw,uid=999,gid=999,mode=0400",
                          "secret")
    assert ref["File"] == {"Name": "mysql_pw", "UID": "999", "GID": "999", "Mode": 0o400}
    assert parse_reference("config", "src=site.conf", "config")["File"]["Name"] == "/site.conf"


@pytest.mark.parametrize(("value", "reason"), [
    ("target=x", "source is required"),
    ("source=a,mode=9", "invalid mode specified: 9"),
    ("source=a,colour=red", "invalid field in secret request: colour"),
    ("source=a,target", "invalid field 'target' must be a key=value pair"),
])
def test_bad_flags_say_what_is_wrong(value, reason):
    with pytest.raises(SwarmletError) as exc:
        parse_reference("secret", value, "secret")
    assert str(exc.value) == f'invalid argument "{value}" for "--secret" flag: {reason}'


def test_update_removes_then_adds_replacing_a_target():
    container = {"Secrets": [parse_reference("secret", "db_pw", "secret") | {"SecretID": "s1"}]}
    args = argparse.Namespace(secret_add=["source=api_key,target=db_pw"], secret_rm=[],
                              config_add=[], config_rm=[])
    update_references(container, args, lambda kind, name: {"api_key": "s2"}[name])
    assert [(r["SecretID"], r["File"]["Name"]) for r in container["Secrets"]] == [
        ("s2", "db_pw")]
    args = argparse.Namespace(secret_add=[], secret_rm=["api_key"], config_add=[], config_rm=[])
    update_references(container, args, lambda kind, name: name)
    assert "Secrets" not in container


def spec(secrets=(), configs=()):
    return {"TaskTemplate": {"ContainerSpec": {"Image": "img", "Secrets": list(secrets),
                                               "Configs": list(configs)}}}


def ref(kind, oid, name, target, mode=None):
    file = {"Name": target} | ({"Mode": mode} if mode is not None else {})
    return {"File": file, f"{kind}ID": oid, f"{kind}Name": name}


def test_references_get_their_names_and_docker_defaults():
    checked = check_references(spec([ref("Secret", "s1", "old-name", "db_pw")],
                                    [ref("Config", "c1", "site.conf", "/etc/site.conf")]),
                               SECRETS, CONFIGS)["TaskTemplate"]["ContainerSpec"]
    assert checked["Secrets"] == [{"File": {"Name": "db_pw", "UID": "0", "GID": "0",
                                            "Mode": 0o444}, "SecretID": "s1",
                                   "SecretName": "db_pw"}]
    assert checked["Configs"][0]["ConfigName"] == "site.conf"
    assert "Secrets" not in check_references(spec(), SECRETS, CONFIGS)[
        "TaskTemplate"]["ContainerSpec"]


@pytest.mark.parametrize(("refs", "status", "message"), [
    ([ref("Secret", "nope", "ghost", "x")], 404, "secret ghost not found"),
    ([ref("Secret", "s1", "db_pw", "x"), ref("Secret", "s2", "api_key", "x")], 400,
     "secret references 'db_pw' and 'api_key' have a conflicting target: 'x'"),
    ([ref("Secret", "s1", "db_pw", "x", mode=0o1777)], 400,
     "invalid file mode for secret db_pw: 1023"),
    ([{"SecretID": "s1"}], 400, "malformed secret reference"),
])
def test_bad_references_are_refused(refs, status, message):
    with pytest.raises(DomainError) as exc:
        check_references(spec(refs), SECRETS, CONFIGS)
    assert (http_status(exc.value), exc.value.message) == (status, message)
