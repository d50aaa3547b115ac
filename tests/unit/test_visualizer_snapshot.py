"""The visualizer's snapshot from the agent API's shapes: what each column and card shows."""

from __future__ import annotations

from swarmlet.visualizer.snapshot import build_snapshot, colour_index, colours, epoch

NODES = [
    {"ID": "w1", "Description": {"Hostname": "sh-2"},
     "Spec": {"Role": "worker", "Availability": "drain", "Labels": {"zone": "b"}},
     "Status": {"State": "ready", "Addr": "198.18.0.3"}},
    {"ID": "m1", "Description": {"Hostname": "sh-1"},
     "Spec": {"Role": "manager", "Availability": "active", "Labels": {}},
     "Status": {"State": "ready", "Addr": "198.18.0.2"},
     "ManagerStatus": {"Leader": True, "Reachability": "reachable", "Addr": "198.18.0.2:2377"}},
    {"ID": "w0", "Description": {"Hostname": "sh-3"},
     "Spec": {"Role": "worker", "Availability": "active"}, "Status": {"State": "down"}},
]
SERVICES = [{"ID": "s-web", "Spec": {"Name": "web"}}, {"ID": "s-agent", "Spec": {"Name": "agent"}}]


def task(tid: str, service: str, slot: int | None, node: str | None, desired: str = "running",
         state: str = "running") -> dict:
    return {"ID": tid, "ServiceID": service, "Slot": slot, "NodeID": node,
            "DesiredState": desired,
            "Spec": {"ContainerSpec": {"Image": "swarmlet/demo:latest@sha256:abc"}},
            "Status": {"State": state, "Timestamp": "2026-12-06T22:00:01.123456789Z"}}


def test_columns_managers_first_with_leader_state_availability_and_labels() -> None:
    snap = build_snapshot(NODES, SERVICES, [])
    assert [n["hostname"] for n in snap["nodes"]] == ["sh-1", "sh-2", "sh-3"]
    sh1, sh2, sh3 = snap["nodes"]
    assert (sh1["role"], sh1["leader"], sh1["state"]) == ("manager", True, "ready")
    assert (sh2["availability"], sh2["labels"], sh2["leader"]) == ("drain", {"zone": "b"}, False)
    assert sh3["state"] == "down"


def test_cards_only_for_tasks_meant_to_run_in_service_and_slot_order() -> None:
    tasks = [task("t3", "s-web", 2, "w1"), task("t1", "s-web", 1, "m1"),
             task("old", "s-web", 1, "m1", desired="shutdown", state="shutdown"),
             task("gone", "s-web", 3, "w1", desired="remove"),
             task("g1", "s-agent", None, "w0", state="pending"),
             task("new", "s-web", 3, None, desired="ready", state="pending")]
    snap = build_snapshot(NODES, SERVICES, tasks)
    assert [t["id"] for t in snap["tasks"]] == ["g1", "t1", "t3", "new"]
    g1, t1 = snap["tasks"][0], snap["tasks"][1]
    assert (t1["name"], t1["slot"], t1["node"], t1["image"]) == ("web", 1, "m1",
                                                                 "swarmlet/demo:latest")
    assert (g1["name"], g1["slot"], g1["state"]) == ("agent", None, "pending")
    assert snap["tasks"][3]["node"] is None  # not scheduled yet
    assert abs(t1["since"] - 1796594401.123456) < 1e-3


def test_service_colour_is_stable_and_in_the_palette() -> None:
    snap = build_snapshot([], SERVICES, [])
    assert [s["name"] for s in snap["services"]] == ["agent", "web"]
    assert {colour_index(f"svc{i}") for i in range(200)} == set(range(12))


def test_services_get_different_colours_the_oldest_keeping_its_own() -> None:
    services = [{"ID": f"svc{i}", "CreatedAt": f"2026-12-06T10:00:{i:02}Z"} for i in range(12)]
    palette = colours(services)
    assert sorted(palette.values()) == list(range(12))
    assert palette["svc0"] == colour_index("svc0")
    newer = [*services, {"ID": "svc-late", "CreatedAt": "2026-12-07T00:00:00Z"}]
    assert {k: v for k, v in colours(newer).items() if k != "svc-late"} == palette
    assert colours(list(reversed(services))) == palette  # the order given does not matter


def test_timestamps_of_every_precision() -> None:
    assert epoch("1970-01-01T00:00:10Z") == 10
    assert epoch("1970-01-01T00:00:10.5+00:00") == 10.5
    assert epoch("") is None and epoch("garbage") is None
