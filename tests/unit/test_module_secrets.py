"""swarm_secret's and swarm_config's pure part (module_utils/_data_objects.py): the data from
the parameters and the agent's limits, the hash label, and the plan of a run (create,
replace, relabel, rolling versions and their pruning, refusal while in use), never holding
the value in a message or a diff."""

from __future__ import annotations

import base64
import hashlib
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "collections"))

from ansible_collections.swarmlet.swarm.plugins.module_utils import (  # noqa: E402
    _data_objects as D,
)
from ansible_collections.swarmlet.swarm.plugins.modules import (  # noqa: E402
    swarm_config,
    swarm_secret,
)

VALUE = b"s3cr3t-marker"
KEY = hashlib.sha224(VALUE).hexdigest()


def params(**given):
    values = {name: opt.get("default") for name, opt in D.argument_spec(D.SECRET).items()}
    values.update(given)
    return values


def obj(name, obj_id=None, labels=None, version=7, data=None):
    spec = {"Name": name, "Labels": dict(labels or {})}
    if data is not None:
        spec["Data"] = base64.b64encode(data).decode()
    return {"ID": obj_id or f"id-{name}", "Version": {"Index": version}, "Spec": spec}


def service(name, *secret_ids, kind="Secret"):
    refs = [{"File": {"Name": "f"}, f"{kind}ID": i, f"{kind}Name": "x"} for i in secret_ids]
    return {"ID": f"svc-{name}",
            "Spec": {"Name": name, "TaskTemplate": {"ContainerSpec": {f"{kind}s": refs}}}}


def steps(plan):
    """The steps, objects shown by name."""
    return [(s[0], s[1] if isinstance(s[1], str) else s[1]["Spec"]["Name"], *s[2:])
            for s in plan.steps]


# --- options and data -------------------------------------------------------------------------

def test_modules_share_one_argument_spec():
    secret = D.argument_spec(D.SECRET)
    config = D.argument_spec(D.CONFIG)
    assert secret["data"]["no_log"] is True and config["data"]["no_log"] is False
    assert set(secret) | {"template_driver"} == set(config)  # a config may be templated
    assert {"name", "data", "data_is_b64", "data_src", "labels", "force", "rolling_versions",
            "versions_to_keep", "state"} <= set(secret)
    assert secret["versions_to_keep"]["default"] == 5
    assert D.MODULE_KWARGS["required_if"] == [("state", "present", ["data", "data_src"], True)]
    assert swarm_secret.DOCUMENTATION and swarm_config.DOCUMENTATION


def test_data_plain_b64_and_file(tmp_path):
    assert D.load_data(D.SECRET, "héllo") == "héllo".encode()
    assert D.load_data(D.SECRET, base64.b64encode(b"\x00\xff").decode(), True) == b"\x00\xff"
    src = tmp_path / "value"
    src.write_bytes(b"from a file\n")
    read = lambda p: Path(p).read_bytes()  # noqa: E731
    assert D.load_data(D.SECRET, None, False, str(src), read) == b"from a file\n"
    with pytest.raises(D.DataObjectError, match=r"Cannot read data_src .*/nope: No such file"):
        D.load_data(D.SECRET, None, False, str(tmp_path / "nope"), read)


def test_data_limits_and_bad_base64_never_echo_the_value():
    big = "x" * 512000
    with pytest.raises(D.DataObjectError) as exc:
        D.load_data(D.SECRET, big)
    assert str(exc.value) == ("secret data must be larger than 0 and less than 512000 bytes "
                              "(500 KB); got 512000 bytes")
    assert D.load_data(D.SECRET, "x" * 511999)
    assert D.load_data(D.CONFIG, big)  # a config may be up to 1000 KB
    with pytest.raises(D.DataObjectError, match="less than 1024000 bytes"):
        D.load_data(D.CONFIG, "x" * 1024000)
    with pytest.raises(D.DataObjectError, match="larger than 0"):
        D.load_data(D.SECRET, "")
    with pytest.raises(D.DataObjectError) as exc:
        D.load_data(D.SECRET, "not base64 s3cr3t!", True)
    assert str(exc.value) == "data is not valid Base64 (data_is_b64 is true)"


def test_names_and_labels():
    D.check_name(D.SECRET, "db_password.v-1")
    for bad in ("-x", "x-", "a b", "x" * 65):
        with pytest.raises(D.DataObjectError, match="invalid secret name"):
            D.check_name(D.SECRET, bad)
    assert D.string_labels({"a": 1, "b": "x"}) == {"a": "1", "b": "x"}
    with pytest.raises(D.DataObjectError, match="labels: the value of a must be a string"):
        D.string_labels({"a": True})
    with pytest.raises(D.DataObjectError, match="ansible_key is set by the module"):
        D.string_labels({"ansible_key": "x"})
    with pytest.raises(D.DataObjectError, match="invalid secret name"):  # room for _vN
        D.plan(D.SECRET, params(name="x" * 62, rolling_versions=True), VALUE, [], [])


# --- plain (not rolling) ----------------------------------------------------------------------

def test_create_then_unchanged():
    plan = D.plan(D.SECRET, params(name="db", labels={"app": "wp"}), VALUE, [], [])
    assert steps(plan) == [("create", "db", {"app": "wp", "ansible_key": KEY})]
    assert plan.changed and plan.result == "db"
    assert plan.diff == {"before": {}, "after": {"name": "db", "labels": {"app": "wp"},
                                                 "data": "(hidden, changed)"}}
    existing = obj("db", labels={"app": "wp", "ansible_key": KEY})
    again = D.plan(D.SECRET, params(name="db", labels={"app": "wp"}), VALUE,
                   [obj("db_other"), existing], [])
    assert not again.changed and again.result is existing
    assert again.diff["before"] == again.diff["after"]
    assert again.diff["after"] == {"name": "db", "labels": {"app": "wp"}, "data": "(hidden)"}
    assert VALUE.decode() not in repr(plan.diff) + repr(again.diff)


def test_labels_change_in_place_and_unset_keeps_them():
    existing = obj("db", labels={"app": "wp", "ansible_key": KEY})
    plan = D.plan(D.SECRET, params(name="db", labels={"app": "blog"}), VALUE, [existing], [])
    assert steps(plan) == [("relabel", "db", {"app": "blog", "ansible_key": KEY})]
    assert plan.diff["before"]["labels"] == {"app": "wp"}
    assert plan.diff["after"]["labels"] == {"app": "blog"}
    assert not D.plan(D.SECRET, params(name="db"), VALUE, [existing], []).changed
    cleared = D.plan(D.SECRET, params(name="db", labels={}), VALUE, [existing], [])
    assert steps(cleared) == [("relabel", "db", {"ansible_key": KEY})]


def test_new_value_replaces_an_unused_secret_keeping_its_labels():
    existing = obj("db", labels={"app": "wp", "ansible_key": "old"})
    plan = D.plan(D.SECRET, params(name="db"), VALUE, [existing], [service("other", "zzz")])
    assert steps(plan) == [("remove", "db"), ("create", "db", {"app": "wp", "ansible_key": KEY})]
    assert plan.diff["before"]["data"] == "(hidden)"
    assert plan.diff["after"]["data"] == "(hidden, changed)"


def test_new_value_of_a_secret_in_use_fails_naming_the_services():
    existing = obj("db", labels={"ansible_key": "old"})
    services = [service("wp", "id-db"), service("db-admin", "id-db"), service("x", "other")]
    with pytest.raises(D.DataObjectError) as exc:
        D.plan(D.SECRET, params(name="db"), VALUE, [existing], services)
    assert "secret 'db' is in use by the following service: db-admin, wp" in str(exc.value)
    assert "rolling_versions" in str(exc.value)
    with pytest.raises(D.DataObjectError, match="in use by the following service: wp"):
        D.plan(D.SECRET, params(name="db", force=True),
               VALUE, [obj("db", labels={"ansible_key": KEY})], services[:1])


def test_force_replaces_and_a_secret_without_the_key_is_left_with_a_warning():
    existing = obj("db", labels={"ansible_key": KEY})
    assert steps(D.plan(D.SECRET, params(name="db", force=True), VALUE, [existing], [])) == [
        ("remove", "db"), ("create", "db", {"ansible_key": KEY})]
    plan = D.plan(D.SECRET, params(name="db"), VALUE, [obj("db")], [])
    assert not plan.changed
    assert plan.warnings == ["'ansible_key' label not found. Secret will not be changed unless "
                             "the force parameter is set to 'true'"]


def test_a_config_is_compared_by_its_data():
    same = obj("site.conf", data=VALUE)  # made by the CLI: no ansible_key
    plan = D.plan(D.CONFIG, params(name="site.conf"), VALUE, [same], [])
    assert not plan.changed and not plan.warnings
    other = obj("site.conf", data=b"other", labels={"ansible_key": KEY})  # data wins
    plan = D.plan(D.CONFIG, params(name="site.conf"), VALUE, [other], [])
    assert steps(plan) == [("remove", "site.conf"), ("create", "site.conf", {"ansible_key": KEY})]
    with pytest.raises(D.DataObjectError, match=r"config 'site\.conf' is in use by the "
                                                r"following service: web"):
        D.plan(D.CONFIG, params(name="site.conf"), VALUE, [other],
               [service("web", "id-site.conf", kind="Config")])


def test_absent():
    assert not D.plan(D.SECRET, params(name="db", state="absent"), None, [], []).changed
    existing = obj("db")
    plan = D.plan(D.SECRET, params(name="db", state="absent"), None, [existing], [])
    assert steps(plan) == [("remove", "db")]
    assert plan.diff == {"before": {"name": "db", "labels": {}, "data": "(hidden)"},
                         "after": {}}
    with pytest.raises(D.DataObjectError, match=r"Cannot remove secret db: secret 'db' is in "
                                                r"use by the following service: wp"):
        D.plan(D.SECRET, params(name="db", state="absent"), None, [existing],
               [service("wp", "id-db")])


# --- rolling versions -------------------------------------------------------------------------

def rolling(**given):
    return params(rolling_versions=True, **given)


def version(n, key=KEY, base="db"):
    return obj(f"{base}_v{n}", labels={"ansible_key": key, "ansible_version": str(n)})


def test_rolling_first_version_then_unchanged():
    plan = D.plan(D.SECRET, rolling(name="db"), VALUE, [obj("db")], [])
    assert steps(plan) == [("create", "db_v1", {"ansible_key": KEY, "ansible_version": "1"})]
    assert plan.result == "db_v1"
    assert plan.diff["after"]["versions"] == ["db_v1"]
    again = D.plan(D.SECRET, rolling(name="db"), VALUE, [version(1), obj("db_vx")], [])
    assert not again.changed and again.result["Spec"]["Name"] == "db_v1"


def test_rolling_new_value_while_in_use_makes_a_new_version():
    services = [service("wp", "id-db_v2")]
    found = [version(10, "old"), version(2, "old")]  # by number, not by name
    plan = D.plan(D.SECRET, rolling(name="db", labels={"app": "wp"}), VALUE, found, services)
    assert steps(plan) == [("create", "db_v11", {"app": "wp", "ansible_key": KEY,
                                                 "ansible_version": "11"})]
    assert plan.result == "db_v11" and plan.pruned == [] and plan.in_use == {}
    assert plan.diff["before"]["name"] == "db_v10"
    assert plan.diff["after"]["versions"] == ["db_v2", "db_v10", "db_v11"]


def test_rolling_prunes_old_versions_no_service_uses():
    found = [version(1, "a"), version(2, "b"), version(3, "c")]
    services = [service("wp", "id-db_v2")]
    plan = D.plan(D.SECRET, rolling(name="db", versions_to_keep=2), VALUE, found, services)
    # v4 is made; v3 and v4 kept; v1 pruned; v2 in use, kept
    assert steps(plan) == [
        ("create", "db_v4", {"ansible_key": KEY, "ansible_version": "4"}),
        ("remove", "db_v1")]
    assert plan.pruned == ["db_v1"] and plan.in_use == {"db_v2": ["wp"]}
    assert plan.diff["after"]["versions"] == ["db_v2", "db_v3", "db_v4"]
    # once the service moved on, a run with the same value prunes v2 (a change)
    later = D.plan(D.SECRET, rolling(name="db", versions_to_keep=2), VALUE,
                   [version(2, "b"), version(3, "c"), version(4)], [service("wp", "id-db_v4")])
    assert steps(later) == [("remove", "db_v2")] and later.pruned == ["db_v2"]
    assert later.result["Spec"]["Name"] == "db_v4"
    for keep in (0, 1):
        only = D.plan(D.SECRET, rolling(name="db", versions_to_keep=keep), VALUE,
                      [version(3, "c"), version(4)], [])
        assert steps(only) == [("remove", "db_v3")]
    assert not D.plan(D.SECRET, rolling(name="db", versions_to_keep=-1), VALUE,
                      [version(n, "x") for n in range(1, 9)] + [version(9)], []).changed


def test_rolling_absent_removes_every_version_unless_in_use():
    found = [version(1), version(2), obj("db")]
    plan = D.plan(D.SECRET, rolling(name="db", state="absent"), None, found, [])
    assert steps(plan) == [("remove", "db_v1"), ("remove", "db_v2")]
    assert plan.pruned == ["db_v1", "db_v2"]
    with pytest.raises(D.DataObjectError, match="secret 'db_v2' is in use by the following "
                                                "service: wp"):
        D.plan(D.SECRET, rolling(name="db", state="absent"), None, found,
               [service("wp", "id-db_v2")])
