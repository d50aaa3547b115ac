"""The store's pure state machine: apply rules, versions, names, determinism, dumps."""

from __future__ import annotations

import contextlib
import copy
import random
import re

import pytest

from swarmlet.store.objects import KINDS, new_id
from swarmlet.store.state import StoreError, StoreState

T1, T2, T3 = "2025-01-01T00:00:01.000000Z", "2025-01-01T00:00:02.000000Z", "2025-01-01T00:00:03Z"


def create(kind: str, oid: str, name: str | None = None, **extra: object) -> dict:
    spec = {"Name": name} if name else {}
    return {"op": "create", "kind": kind, "object": {"ID": oid, "Spec": spec, **extra}}


def update(kind: str, obj: dict) -> dict:
    return {"op": "update", "kind": kind, "object": obj}


def test_new_id_format() -> None:
    ids = {new_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(re.fullmatch(r"[0-9a-z]{25}", i) for i in ids)
    assert KINDS == ("cluster", "node", "service", "task", "network", "secret", "config",
                     "attachment")


def test_create_update_delete_stamp_index_and_times() -> None:
    st = StoreState()
    [svc] = st.apply([create("service", "s1", "web", Mode="x")], T1)
    assert st.index == 1
    assert svc["Version"] == {"Index": 1}
    assert svc["CreatedAt"] == svc["UpdatedAt"] == T1
    assert list(svc)[:4] == ["ID", "Version", "CreatedAt", "UpdatedAt"]

    svc["Spec"]["Labels"] = {"a": "b"}
    svc["CreatedAt"] = "ignored"
    [new] = st.apply([update("service", svc)], T2)
    assert st.index == 2
    assert new["Version"] == {"Index": 2}
    assert new["CreatedAt"] == T1 and new["UpdatedAt"] == T2
    assert st.get("service", "s1")["Spec"]["Labels"] == {"a": "b"}

    [gone] = st.apply([{"op": "delete", "kind": "service", "id": "s1", "version": 2}], T3)
    assert gone["ID"] == "s1" and st.index == 3
    assert st.get("service", "s1") is None
    assert st.find_by_name("service", "web") is None


def test_errors_and_codes() -> None:
    st = StoreState()
    st.apply([create("node", "n1")], T1)
    cases = [
        ([create("node", "n1")], "exists", "object already exists"),
        ([update("node", {"ID": "nope", "Version": {"Index": 1}})], "not_found",
         "object not found"),
        ([{"op": "delete", "kind": "node", "id": "nope"}], "not_found", "object not found"),
        ([update("node", {"ID": "n1", "Version": {"Index": 0}})], "conflict",
         "update out of sequence"),
        ([{"op": "delete", "kind": "node", "id": "n1", "version": 7}], "conflict",
         "update out of sequence"),
        ([], "invalid", None),
        ([{"op": "upsert", "kind": "node", "object": {"ID": "x"}}], "invalid", None),
        ([create("volume", "v")], "invalid", None),
        ([update("node", {"ID": "n1"})], "invalid", None),
    ]
    for batch, code, message in cases:
        with pytest.raises(StoreError) as err:
            st.apply(batch, T2)
        assert err.value.code == code, batch
        if message:
            assert str(err.value) == message
    assert st.index == 1


def test_stale_update_after_a_concurrent_write() -> None:
    st = StoreState()
    [obj] = st.apply([create("task", "t1")], T1)
    first, second = dict(obj), dict(obj)
    st.apply([update("task", first)], T2)
    with pytest.raises(StoreError, match="update out of sequence"):
        st.apply([update("task", second)], T3)


def test_batch_is_all_or_nothing() -> None:
    st = StoreState()
    st.apply([create("service", "s1", "web")], T1)
    before = st.snapshot()
    with pytest.raises(StoreError) as err:
        st.apply([create("task", "t1"), create("task", "t2"),
                  {"op": "delete", "kind": "service", "id": "s1"},
                  create("network", "n1", "net"), create("task", "t1")], T2)
    assert err.value.code == "exists"
    assert st.snapshot() == before
    assert st.get("service", "s1") is not None and st.list("task") == []
    assert st.find_by_name("network", "net") is None


def test_name_uniqueness() -> None:
    st = StoreState()
    st.apply([create("service", "s1", "web"), create("network", "n1", "web")], T1)
    for kind in ("service", "network"):
        with pytest.raises(StoreError) as err:
            st.apply([create(kind, "other", "WEB")], T2)  # case-insensitive, like SwarmKit
        assert err.value.code == "name_conflict"
        assert str(err.value) == "name conflicts with an existing object"
    # Nodes and tasks may share names.
    st.apply([create("node", "a", "host"), create("node", "b", "host")], T2)
    # Two creates of one name in one batch.
    with pytest.raises(StoreError, match="name conflicts"):
        st.apply([create("secret", "x1", "pw"), create("secret", "x2", "pw")], T3)
    # Rename frees the old name; delete frees it too; both within one batch.
    svc = st.get("service", "s1")
    svc["Spec"]["Name"] = "api"
    st.apply([update("service", svc), create("service", "s2", "web")], T3)
    assert st.find_by_name("service", "web")["ID"] == "s2"
    assert st.find_by_name("service", "api")["ID"] == "s1"
    st.apply([{"op": "delete", "kind": "service", "id": "s2"},
              create("service", "s3", "web")], T3)
    assert st.find_by_name("service", "web")["ID"] == "s3"
    # Renaming onto a taken name fails; updating a service keeping its name is fine.
    api = st.get("service", "s1")
    api["Spec"]["Name"] = "Web"
    with pytest.raises(StoreError, match="name conflicts"):
        st.apply([update("service", api)], T3)
    same = st.get("service", "s3")
    st.apply([update("service", same)], T3)


def test_reads_are_copies() -> None:
    st = StoreState()
    batch = [create("config", "c1", "cfg", Data="x")]
    [out] = st.apply(batch, T1)
    out["Data"] = "changed"
    batch[0]["object"]["Data"] = "changed too"
    got = st.get("config", "c1")
    got["Spec"]["Name"] = "mutated"
    st.list("config")[0]["Data"] = "y"
    st.find_by_name("config", "cfg")["Data"] = "z"
    assert st.get("config", "c1")["Data"] == "x"
    assert st.get("config", "c1")["Spec"]["Name"] == "cfg"


def test_a_view_is_one_index_shared_and_never_changed_by_later_writes() -> None:
    """view() hands out the stored dicts (no deep copy) at one index; apply is copy-on-write,
    so what a view holds stays as it was while the store moves on."""
    st = StoreState()
    st.apply([create("service", "s1", "web", Mode="a"), create("task", "t1", State="new")], T1)
    view = st.view(["service", "task"])
    assert view.index == 1 and set(view.objects) == {"service", "task"}
    [svc], [task] = view.objects["service"], view.objects["task"]
    assert svc is st.view(["service"]).objects["service"][0]  # shared, not copied
    frozen = copy.deepcopy((svc, task))
    st.apply([update("service", {**st.get("service", "s1"), "Mode": "b"}),
              {"op": "delete", "kind": "task", "id": "t1"}, create("task", "t2")], T2)
    assert (svc, task) == frozen and svc["Mode"] == "a"
    assert [s["Mode"] for s in st.view().objects["service"]] == ["b"]
    assert [t["ID"] for t in st.view().objects["task"]] == ["t2"]
    assert st.view().index == 2
    with pytest.raises(StoreError):
        st.view(["volume"])


def random_batches(seed: int, n: int) -> list[tuple[list[dict], str]]:
    """Batches a writer might send, including stale updates and name clashes."""
    rng = random.Random(seed)
    known: dict[str, int] = {}
    out = []
    for i in range(n):
        batch: list[dict] = []
        for _ in range(rng.randint(1, 4)):
            roll = rng.random()
            if roll < 0.5 or not known:
                oid = f"o{rng.randint(0, 40)}"
                batch.append(create("service", oid, f"n{rng.randint(0, 30)}"))
                known.setdefault(oid, 0)
            elif roll < 0.85:
                oid = rng.choice(sorted(known))
                batch.append(update("service", {"ID": oid, "Version": {"Index": rng.randint(0, i)},
                                                "Spec": {"Name": f"n{rng.randint(0, 30)}"}}))
            else:
                batch.append({"op": "delete", "kind": "service", "id": rng.choice(sorted(known))})
        out.append((batch, f"2025-01-01T00:00:{i % 60:02d}Z"))
    return out


def test_determinism_two_replicas_agree() -> None:
    a, b = StoreState(), StoreState()
    results = []
    for batch, ts in random_batches(7, 400):
        outs = []
        for st in (a, b):
            try:
                outs.append(st.apply(batch, ts))
            except StoreError as err:
                outs.append((err.code, str(err)))
        assert outs[0] == outs[1]
        results.append(outs[0])
    assert a == b
    assert a.index == sum(1 for r in results if isinstance(r, list)) > 0
    assert any(isinstance(r, tuple) for r in results)  # failures happened too


def test_snapshot_restore_roundtrip() -> None:
    a = StoreState()
    for batch, ts in random_batches(3, 200):
        with contextlib.suppress(StoreError):
            a.apply(batch, ts)
    b = StoreState()
    b.restore(a.snapshot())
    assert b == a
    # The name index is rebuilt: both reject and accept the same next batches.
    for batch, ts in random_batches(4, 100):
        outs = []
        for st in (a, b):
            try:
                outs.append(st.apply(batch, ts))
            except StoreError as err:
                outs.append(err.code)
        assert outs[0] == outs[1]
    assert a == b
