"""The swarm's events: Docker's messages from store changes, the journal's since/until and
leader changes, the filters, the CLI's flags and lines."""

from __future__ import annotations

import argparse
import json
import threading
import time

import pytest

from swarmlet.api.engine.filters import parse_filters
from swarmlet.api.event_filter import event_matches
from swarmlet.cli.events import default_line, formatter, query
from swarmlet.errors import SwarmletError
from swarmlet.manager.event_journal import EventJournal
from swarmlet.manager.event_messages import cluster_event
from swarmlet.spec.event_times import parse_event_time
from swarmlet.store.memory import MemoryStore
from swarmlet.store.watch import Event, WatchHub

NANO = 1_000_000_000


class WatchedStore(MemoryStore):
    """The in-memory store with the replicated store's watches and a settable leader."""

    def __init__(self) -> None:
        super().__init__()
        self.hub = WatchHub()
        self.raft_leader: str | None = "198.18.0.2:2378"

    def watch(self, kinds=None):
        return self.hub.subscribe(kinds)

    def leader(self) -> str | None:
        return self.raft_leader

    def change(self, op: str, kind: str, obj: dict) -> dict:
        changes = self.state.apply_changes([{"op": op, "kind": kind, "object": obj}],
                                           "2026-01-01T00:00:00.123456Z")
        self.hub.publish([Event(c.kind, c.op, c.object, c.old) for c in changes])
        return changes[0].object


def service(replicas: int = 2, image: str = "demo:1", **extra) -> dict:
    return {"ID": "svc1", "Spec": {"Name": "web", "Mode": {"Replicated": {"Replicas": replicas}},
                                   "TaskTemplate": {"ContainerSpec": {"Image": image}}},
            **extra}


def test_a_service_update_names_what_changed_as_docker_does():
    old = {**service(2, "demo:1"), "UpdatedAt": "2026-12-06T23:00:00Z"}
    new = {**service(5, "Demo:2", UpdateStatus={"State": "updating"}),
           "UpdatedAt": "2026-12-06T23:00:01.5Z"}
    event = cluster_event(Event("service", "update", new, old), now_ns=0)
    assert event == {
        "Type": "service", "Action": "update", "scope": "swarm",
        "Actor": {"ID": "svc1", "Attributes": {
            "name": "web", "image.old": "demo:1", "image.new": "Demo:2",
            "replicas.old": "2", "replicas.new": "5", "updatestate.new": "updating"}},
        "time": 1796598001, "timeNano": 1796598001_500000000}


def test_creates_and_removes_carry_the_name_and_removes_are_timed_now():
    secret = {"ID": "s1", "Spec": {"Name": "db_pw"}, "CreatedAt": "2026-12-06T23:00:00Z"}
    created = cluster_event(Event("secret", "create", secret, None), now_ns=7)
    removed = cluster_event(Event("secret", "delete", secret, None), now_ns=7)
    assert created["Action"] == "create" and created["timeNano"] == 1796598000 * NANO
    assert removed["Action"] == "remove" and removed["timeNano"] == 7
    assert removed["Actor"] == {"ID": "s1", "Attributes": {"name": "db_pw"}}
    assert cluster_event(Event("cluster", "update", {"ID": "c"}, {"ID": "c"}), 0) is None


def test_node_and_task_updates():
    node = {"ID": "n1", "Description": {"Hostname": "m-3"},
            "Spec": {"Availability": "active"}, "Status": {"State": "ready"}}
    down = {**node, "Spec": {"Availability": "drain"}, "Status": {"State": "down"}}
    attrs = cluster_event(Event("node", "update", down, node), 0)["Actor"]["Attributes"]
    assert attrs == {"name": "m-3", "availability.old": "active", "availability.new": "drain",
                     "state.old": "ready", "state.new": "down"}
    task = {"ID": "t1", "ServiceID": "svc1", "ServiceAnnotations": {"Name": "web"},
            "Slot": 3, "NodeID": "n1", "DesiredState": "running",
            "Status": {"State": "starting"}}
    running = {**task, "Status": {"State": "running"}}
    attrs = cluster_event(Event("task", "update", running, task), 0)["Actor"]["Attributes"]
    assert attrs == {"name": "web.3", "service.id": "svc1", "service.name": "web",
                     "node.id": "n1", "state": "running", "desiredstate": "running",
                     "state.old": "starting", "state.new": "running"}


def matches(raw: dict, event: dict) -> bool:
    return event_matches(parse_filters(json.dumps(raw), None), event)


def test_filters_select_as_dockerd_does_with_tasks_by_service_and_node():
    web = cluster_event(Event("service", "create", service(), None), 0)
    task = cluster_event(Event("task", "create", {
        "ID": "t1", "ServiceID": "svc1", "ServiceAnnotations": {"Name": "web"}, "Slot": 1,
        "NodeID": "node9", "DesiredState": "running", "Status": {"State": "new"}}, None), 0)
    assert matches({}, web) and matches({"type": ["service"]}, web)
    assert not matches({"type": ["node"]}, web)
    assert matches({"service": ["web"]}, web) and matches({"service": ["svc"]}, web)
    assert not matches({"service": ["api"]}, web)
    assert matches({"service": ["web"]}, task) and matches({"node": ["node9"]}, task)
    assert not matches({"node": ["node9"]}, web)  # keys AND: a service is on no node
    assert matches({"type": ["service", "task"], "event": ["create"]}, task)
    assert not matches({"event": ["remove"]}, task)
    assert not matches({"container": ["x"]}, web)  # dockerd's objects: none of the swarm's
    assert not matches({"scope": ["local"]}, web)


class TestJournal:
    @pytest.fixture
    def store(self):
        return WatchedStore()

    @pytest.fixture
    def journal(self, store):
        journal = EventJournal(store)
        journal.start()
        yield journal
        journal.stop()

    def test_a_follower_gets_new_events_at_once_and_since_replays_the_kept(self, store,
                                                                          journal):
        seen: list[dict] = []
        follower = journal.follow(idle=0.05)
        store.change("create", "secret", {"ID": "s1", "Spec": {"Name": "a"}})
        started = time.monotonic()
        while not seen and time.monotonic() - started < 2:
            item = next(follower)
            if item is not None:
                seen.append(item)
        assert [e["Actor"]["ID"] for e in seen] == ["s1"]
        assert time.monotonic() - started < 1.0
        replay = journal.follow(since_ns=0, until_ns=time.time_ns(), idle=0.05)
        assert [e["Actor"]["ID"] for e in replay if e] == ["s1"]

    def test_until_ends_the_stream_without_events(self, journal):
        until = time.time_ns() + int(0.3 * NANO)
        started = time.monotonic()
        assert [e for e in journal.follow(until_ns=until, idle=0.05) if e] == []
        assert 0.2 < time.monotonic() - started < 1.5

    def test_a_leader_change_is_a_node_update(self, store, journal):
        for nid, addr in (("n1", "198.18.0.2:2378"), ("n2", "198.18.0.3:2378")):
            store.change("create", "node", {"ID": nid, "Description": {"Hostname": nid},
                                            "ManagerStatus": {"RaftAddr": addr}})
        time.sleep(1.2)  # the journal has seen the first leader
        follower = journal.follow(idle=0.1)
        store.raft_leader = "198.18.0.3:2378"
        found: dict[str, dict] = {}
        deadline = time.monotonic() + 3
        while len(found) < 2 and time.monotonic() < deadline:
            item = next(follower)
            if item and "leader.new" in item["Actor"]["Attributes"]:
                found[item["Actor"]["ID"]] = item["Actor"]["Attributes"]
        assert found == {"n1": {"name": "n1", "leader.old": "true", "leader.new": "false"},
                         "n2": {"name": "n2", "leader.old": "false", "leader.new": "true"}}

    def test_stop_ends_followers(self, store):
        journal = EventJournal(store)
        journal.start()
        out: list = []
        reader = threading.Thread(target=lambda: out.extend(journal.follow(idle=0.05)))
        reader.start()
        journal.stop()
        reader.join(timeout=2)
        assert not reader.is_alive()


def test_event_times_take_docker_cli_forms():
    now = 1796598000 * NANO
    assert parse_event_time("1796598000", now) == now
    assert parse_event_time("1796598000.25", now) == now + NANO // 4
    assert parse_event_time("10m", now) == now - 600 * NANO
    assert parse_event_time("2026-12-06T23:00:00Z", now) == now
    assert parse_event_time("2026-12-07T00:00:00+01:00", now) == now
    with pytest.raises(ValueError, match="is not a time"):
        parse_event_time("yesterday", now)


def test_the_cli_flags_become_the_query_and_lines_read_as_docker_prints_them():
    args = argparse.Namespace(filter=["type=service", "service=web"], since="10m",
                              until=None, format="")
    asked = query(args, 1796598000 * NANO)
    assert json.loads(asked["filters"]) == {"type": ["service"], "service": ["web"]}
    assert asked["since"] == "1796597400.000000000"
    with pytest.raises(SwarmletError, match="type=container"):
        query(argparse.Namespace(filter=["type=container"], since=None, until=None), 0)
    with pytest.raises(SwarmletError, match="invalid filter 'colour'"):
        query(argparse.Namespace(filter=["colour=red"], since=None, until=None), 0)
    event = {"Type": "service", "Action": "update", "Actor": {"ID": "svc1", "Attributes": {
        "replicas.new": "5", "name": "web"}}, "scope": "swarm", "time": 1796598000,
        "timeNano": 1796598000_000000042}
    assert default_line(event) == ("2026-12-06T23:00:00.000000042Z service update svc1 "
                                   "(name=web, replicas.new=5)")
    assert formatter("{{.Type}} {{.Actor.Attributes.name}} {{.Scope}}")(event) == \
        "service web swarm"
    assert json.loads(formatter("json")(event)) == event
