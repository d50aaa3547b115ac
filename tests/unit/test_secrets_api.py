"""Secrets and configs over an in-memory store (the real state machine): sealed before they
are stored, never shown (secrets) or shown (configs), Docker's validation and messages,
immutability, removal refused while a service refers to them."""

from __future__ import annotations

import base64
import json

import pytest
from test_network_api import FakeManager, FakeStore, message

from swarmlet.manager.controlapi.secrets import CONFIG, SECRET, DataObjectAPI
from swarmlet.manager.sealing import DataKeys, SealError, data_key, seal, unseal
from swarmlet.store.keyring import RaftKeyRing

MARKER = b"hunter2-7f3a9c-marker"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def store():
    return FakeStore()


def api(store, kind, raft_key="raft-key-of-this-swarm"):
    manager = FakeManager(store)
    manager.data_key = DataKeys(RaftKeyRing.single(raft_key))
    return DataObjectAPI(manager, kind)


def test_a_secret_is_sealed_in_the_store_and_never_shown(store):
    secrets = api(store, SECRET)
    secret_id = secrets.create({"Name": "db_pw", "Labels": {"a": "b"}, "Data": b64(MARKER)})["ID"]
    stored = json.dumps(store.state.objects)
    assert MARKER.decode() not in stored and b64(MARKER) not in stored
    shown = secrets.inspect("db_pw")
    assert shown["ID"] == secret_id and shown["Spec"] == {"Name": "db_pw", "Labels": {"a": "b"}}
    assert "SealedData" not in shown and "SealedData" not in secrets.list()[0]
    keys = DataKeys(RaftKeyRing.single("raft-key-of-this-swarm"))
    assert keys.unseal(secret_id, store.get("secret", secret_id)["SealedData"]) == MARKER


def test_a_config_shows_its_data(store):
    configs = api(store, CONFIG)
    configs.create({"Name": "nginx.conf", "Data": b64(b"server {}")})
    assert base64.b64decode(configs.inspect("nginx.conf")["Spec"]["Data"]) == b"server {}"
    assert b"server {}".decode() not in json.dumps(store.state.objects)
    # a templated one keeps its driver (the nodes render it) and shows it, as Docker does
    configs.create({"Name": "app.conf", "Data": b64(b"{{.Task.Slot}}"),
                    "Templating": {"Name": "golang"}})
    assert configs.inspect("app.conf")["Spec"]["Templating"] == {"Name": "golang"}
    assert "Templating" not in configs.inspect("nginx.conf")["Spec"]


def test_sealed_data_opens_only_with_its_key_and_object():
    key = data_key("k1")
    sealed = seal(key, "id1", MARKER)
    assert seal(key, "id1", MARKER) != sealed  # a fresh nonce each time
    with pytest.raises(SealError):
        unseal(data_key("k2"), "id1", sealed)
    with pytest.raises(SealError):
        unseal(key, "id2", sealed)  # moved onto another object


def test_data_sealed_before_a_key_rotation_still_opens_and_new_data_uses_the_new_epoch():
    """A manager left: the remaining managers switched to epoch 1. What was sealed under
    epoch 0 (or by a release without epochs) opens; new values are sealed under epoch 1,
    which the former manager's copy of the keys cannot open."""
    legacy = seal(data_key("k0"), "id1", MARKER)  # no epoch prefix: epoch 0
    ring = RaftKeyRing({0: "k0", 1: "k1"})
    keys = DataKeys(ring)
    assert keys.unseal("id1", legacy) == MARKER
    ring.use(1)
    fresh = keys.seal("id2", MARKER)
    assert fresh.startswith("e1.") and keys.unseal("id2", fresh) == MARKER
    with pytest.raises(SealError, match="epoch 1"):
        DataKeys(RaftKeyRing.single("k0")).unseal("id2", fresh)


@pytest.mark.parametrize(("spec", "error"), [
    ({"Name": "x", "Data": b64(b"a" * 512000)},
     "secret data must be larger than 0 and less than 512000 bytes"),
    ({"Name": "x", "Data": ""}, "secret data must be larger than 0 and less than 512000 bytes"),
    ({"Name": "x", "Data": "not base64!"}, "secret data must be base64-encoded"),
    ({"Name": "x", "Data": "\u00bdK0"}, "secret data must be base64-encoded"),  # not ASCII
    ({"Data": b64(b"a")}, "meta: name must be provided"),
    ({"Name": "-bad", "Data": b64(b"a")},
     "invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end "
     "character must be [a-zA-Z0-9]"),
    ({"Name": "x", "Labels": {"a": 1}, "Data": b64(b"a")}, "Labels must be a mapping of strings"),
])
def test_bad_secrets_are_refused_and_nothing_is_stored(store, spec, error):
    assert message(api(store, SECRET).create, spec) == error
    assert store.list("secret") == []


def test_the_limits_of_each_kind(store):
    api(store, SECRET).create({"Name": "big", "Data": b64(b"a" * 511999)})
    api(store, CONFIG).create({"Name": "big", "Data": b64(b"a" * 1023999)})
    assert message(api(store, CONFIG).create, {"Name": "x", "Data": b64(b"a" * 1024000)}) == (
        "config data must be larger than 0 and less than 1024000 bytes")
    assert message(api(store, SECRET).create, {"Name": "big", "Data": b64(b"b")}) == (
        "secret big already exists")


def test_only_labels_change(store):
    secrets = api(store, SECRET)
    secrets.create({"Name": "s", "Data": b64(MARKER)})
    version = secrets.inspect("s")["Version"]["Index"]
    assert message(secrets.update, "s", version, {"Name": "s", "Data": b64(b"new")}) == (
        "only updates to Labels are allowed")
    assert message(secrets.update, "s", version, {"Name": "t"}) == (
        "only updates to Labels are allowed")
    # The same data again is no change (SwarmKit's rule; `docker stack deploy` sends it).
    secrets.update("s", version, {"Name": "s", "Data": b64(MARKER), "Labels": {"rotated": "no"}})
    assert secrets.inspect("s")["Spec"]["Labels"] == {"rotated": "no"}
    assert message(secrets.update, "s", version, {"Labels": {}}) == "update out of sequence"


def test_rm_refused_while_a_service_uses_it(store):
    secrets = api(store, SECRET)
    secret_id = secrets.create({"Name": "db_pw", "Data": b64(MARKER)})["ID"]
    for name in ("wordpress", "mysql"):
        store.state.apply([{"op": "create", "kind": "service", "object": {
            "ID": f"id-{name}", "Spec": {"Name": name, "TaskTemplate": {"ContainerSpec": {
                "Image": "img", "Secrets": [{"SecretID": secret_id, "SecretName": "db_pw",
                                             "File": {"Name": "db_pw"}}]}}}}}],
                          "2026-01-01T00:00:00.000000Z")
    assert message(secrets.remove, "db_pw") == (
        "secret 'db_pw' is in use by the following service: mysql, wordpress")
    for name in ("wordpress", "mysql"):
        store.state.apply([{"op": "delete", "kind": "service", "id": f"id-{name}"}],
                          "2026-01-01T00:00:00.000000Z")
    secrets.remove(secret_id[:8])
    assert message(secrets.inspect, "db_pw") == "secret db_pw not found"
