"""The network and service control APIs over an in-memory store (the real state machine):
creation, resolution, the in-use rules on removal, and two creations racing."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from swarmlet.errors import DomainError
from swarmlet.manager import tasks as T
from swarmlet.manager.controlapi import networks as controlapi_networks
from swarmlet.manager.controlapi.networks import NetworkAPI, ingress_network
from swarmlet.manager.controlapi.services import ServiceAPI
from swarmlet.store.state import StoreError, StoreState

TS = "2026-01-01T12:00:00.000000Z"


class FakeStore:
    """RaftStore's read/write surface over a StoreState; `before_write` runs once, first."""

    def __init__(self) -> None:
        self.state = StoreState()
        self.before_write = None

    def write(self, batch: list[dict], timeout: float = 10.0) -> list[dict]:
        hook, self.before_write = self.before_write, None
        if hook:
            hook()
        return self.state.apply(batch, TS)

    def get(self, kind, oid):
        return self.state.get(kind, oid)

    def list(self, kind):
        return self.state.list(kind)

    def find_by_name(self, kind, name):
        return self.state.find_by_name(kind, name)


class FakeManager:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def require_quorum(self) -> None:
        pass

    def cluster(self) -> dict:
        return self.store.list("cluster")[0]


@pytest.fixture
def api(monkeypatch):
    monkeypatch.setattr(controlapi_networks, "host_networks",
                        lambda: [IPv4Network("10.255.255.53/32")])
    store = FakeStore()
    store.state.apply([{"op": "create", "kind": "cluster",
                        "object": {"ID": "c1", "Spec": {"Name": "default"}}},
                       {"op": "create", "kind": "network",
                        "object": ingress_network([])}], TS)
    manager = FakeManager(store)
    return NetworkAPI(manager), ServiceAPI(manager), store


def message(func, *args) -> str:
    with pytest.raises(DomainError) as exc:
        func(*args)
    return exc.value.message


def svc_spec(name: str, networks=(), ports=()) -> dict:
    return {"Name": name, "TaskTemplate": {"ContainerSpec": {"Image": "img"},
                                           "Networks": [{"Target": n} for n in networks]},
            "EndpointSpec": {"Ports": list(ports)}}


def test_create_resolve_and_list(api):
    networks, _, _ = api
    network_id = networks.create({"Name": "backend"})["ID"]
    assert networks.resolve("backend")["ID"] == network_id
    assert networks.resolve(network_id[:6])["ID"] == network_id
    assert networks.resolve(network_id)["IPAM"]["Configs"][0]["Subnet"] == "10.0.1.0/24"
    assert sorted(n["Spec"]["Name"] for n in networks.list()) == ["backend", "ingress"]
    assert message(networks.resolve, "nope") == "network nope not found"


def test_two_creations_from_one_view_never_share_a_subnet(api):
    networks, _, store = api

    def racing_creation() -> None:  # another manager commits between our read and write
        NetworkAPI(FakeManager(store)).create({"Name": "first"})

    store.before_write = racing_creation
    networks.create({"Name": "second"})
    subnets = sorted(n["IPAM"]["Configs"][0]["Subnet"] for n in store.list("network"))
    vnis = sorted(n["DriverState"]["Options"]["com.docker.network.driver.overlay.vxlanid_list"]
                  for n in store.list("network"))
    assert subnets == ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]
    assert vnis == ["4096", "4097", "4098"]


def test_rm_refused_while_a_service_uses_it_then_accepted(api):
    networks, services, store = api
    network_id = networks.create({"Name": "backend"})["ID"]
    service_id = services.create(svc_spec("web", ["backend"]))["ID"]
    assert store.get("service", service_id)["Spec"]["TaskTemplate"]["Networks"] == [
        {"Target": network_id, "Aliases": []}]
    assert message(networks.remove, "backend") == (
        f"network {network_id} is in use by service {service_id}")
    assert message(lambda: networks.remove("backend", dry_run=True)) == (
        f"network {network_id} is in use by service {service_id}")
    service = store.get("service", service_id)
    store.state.apply([T.create(T.new_task(service, 1))], TS)
    services.remove(service_id)
    plan = networks.remove("backend", dry_run=True)
    assert plan["Action"] == "remove" and plan["ID"] == network_id and plan["Spec"] == {}
    assert store.find_by_name("network", "backend") is not None  # a plan writes nothing
    networks.remove("backend")  # the removed service's tasks do not count
    assert store.find_by_name("network", "backend") is None


def test_rm_refused_while_a_task_meant_to_run_uses_it(api):
    networks, services, store = api
    networks.create({"Name": "backend"})
    service_id = services.create(svc_spec("web", ["backend"]))["ID"]
    task = T.new_task(store.get("service", service_id), 1)
    # The service's spec moved on; its old task still runs on the network.
    store.state.apply([T.create(task)], TS)
    service = store.get("service", service_id)
    del service["Spec"]["TaskTemplate"]["Networks"]
    store.state.apply([{"op": "update", "kind": "service", "object": service}], TS)
    network_id = networks.resolve("backend")["ID"]
    assert message(networks.remove, "backend") == (
        f"network {network_id} is in use by task {task['ID']}")


def test_ingress_rm_refused_while_a_service_publishes(api):
    networks, services, _ = api
    service_id = services.create(svc_spec("web", ports=[{"TargetPort": 80}]))["ID"]
    assert message(networks.remove, "ingress") == (
        f"ingress network cannot be removed because service {service_id} depends on it")
    services.remove(service_id)
    networks.remove("ingress")
    assert message(services.create, svc_spec("web2", ports=[{"TargetPort": 80}])) == (
        "service needs ingress network, but no ingress network is present")


def test_service_update_checks_ports_only_when_the_endpoint_changes(api):
    _, services, store = api
    first = services.create(svc_spec("a", ports=[{"TargetPort": 80, "PublishedPort": 8080}]))
    second = services.create(svc_spec("b"))
    b = store.get("service", second["ID"])
    spec = {**b["Spec"], "EndpointSpec": {"Ports": [{"TargetPort": 80,
                                                     "PublishedPort": 8080}]}}
    assert message(services.update, second["ID"], b["Version"]["Index"], spec) == (
        f"port '8080' is already in use by service 'a' ({first['ID']}) as an ingress port")
    a = store.get("service", first["ID"])
    labelled = {**a["Spec"], "Labels": {"x": "y"}}
    services.update(first["ID"], a["Version"]["Index"], labelled)  # its own port: fine
    assert "UpdateStatus" not in store.get("service", first["ID"])
    # A new endpoint replaces the tasks, as a new template does.
    a = store.get("service", first["ID"])
    moved = {**a["Spec"], "EndpointSpec": {"Ports": [{"TargetPort": 80,
                                                      "PublishedPort": 9090}]}}
    services.update(first["ID"], a["Version"]["Index"], moved)
    assert store.get("service", first["ID"])["UpdateStatus"]["State"] == "updating"


def test_a_store_error_other_than_a_conflict_is_raised(api):
    networks, _, store = api

    def broken() -> None:
        raise StoreError("no leader", "no_leader")

    store.write = lambda batch, timeout=10.0: broken()
    with pytest.raises(StoreError):
        networks.create({"Name": "x"})


def test_service_rm_survives_a_task_reaped_between_read_and_write(api):
    _, services, store = api
    service_id = services.create(svc_spec("web"))["ID"]
    service = store.get("service", service_id)
    old, new = T.new_task(service, 1), T.new_task(service, 1)
    store.state.apply([T.create(old), T.create(new)], TS)

    def reaper() -> None:  # the history trim deletes the old task meanwhile
        store.state.apply([{"op": "delete", "kind": "task", "id": old["ID"]}], TS)

    store.before_write = reaper
    services.remove("web")
    assert store.get("service", service_id) is None
    assert store.get("task", new["ID"])["DesiredState"] == "remove"
    assert message(services.remove, "web") == "service web not found"
