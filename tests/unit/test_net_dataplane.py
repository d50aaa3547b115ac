"""When overlays come and go on a node: the dataplane's passes against fake devices and a fake
dockerd (the real ones are exercised by tests/integration/test_overlay.py)."""

from __future__ import annotations

import pytest

from swarmlet.metrics import agent_registry
from swarmlet.net import names
from swarmlet.net.dataplane import NetworkNotReady, NodeNetworks
from swarmlet.net.spec import OverlaySpec

LOCAL = "198.18.0.2"


class FakeOverlays:
    def __init__(self) -> None:
        self.devices: dict[int, OverlaySpec] = {}
        self.ports: dict[int, list[str]] = {}

    def present(self) -> set[int]:
        return set(self.devices)

    def ensure(self, spec: OverlaySpec, local_addr: str) -> None:
        assert local_addr == LOCAL
        self.devices[spec.vni] = spec

    def remove(self, vni: int) -> None:
        self.devices.pop(vni, None)

    def endpoints(self, vni: int) -> list[str]:
        return self.ports.get(vni, [])


class FakeDocker:
    def __init__(self) -> None:
        self.networks: dict[str, dict] = {}
        self.busy: set[str] = set()
        self.endpoints: set[str] = set()

    def ours(self) -> dict[str, dict]:
        return dict(self.networks)

    def ensure(self, spec: OverlaySpec) -> str:
        name = names.docker_network_name("m1", spec.name)
        self.networks[spec.network_id] = {"Name": name,
                                          "Options": {names.OPT_VNI: str(spec.vni)}}
        return name

    def endpoint_ids(self) -> set[str]:
        return set(self.endpoints)

    def remove(self, network_id: str) -> bool:
        if network_id in self.busy:
            return False
        self.networks.pop(network_id, None)
        return True


class FakeLinks:
    def __init__(self, overlays: FakeOverlays) -> None:
        self.overlays = overlays
        self.recent: set[str] = set()

    def young(self, name: str) -> bool:
        return name in self.recent

    def delete(self, endpoint_id: str) -> bool:
        name = names.host_veth(endpoint_id)
        for ports in self.overlays.ports.values():
            if name in ports:
                ports.remove(name)
        return True


def entry(net_id: str, name: str, vni: int, peers=()) -> dict:
    return {"Network": {"ID": net_id, "Spec": {"Name": name},
                        "DriverState": {"Options": {names.VNI_OPTION: str(vni)}}},
            "NodeAddress": f"10.0.{vni - 4000}.2/24",
            "Peers": [{"IP": ip, "NodeAddr": node} for ip, node in peers]}


def attachment(net_id: str, name: str, vni: int, address: str) -> dict:
    return {"Network": entry(net_id, name, vni)["Network"], "Addresses": [address]}


@pytest.fixture
def plane() -> NodeNetworks:
    p = NodeNetworks(machine="m1")
    p.overlays = FakeOverlays()  # type: ignore[assignment]
    p.docker = FakeDocker()  # type: ignore[assignment]
    p.links = FakeLinks(p.overlays)  # type: ignore[assignment]
    return p


def test_nothing_is_judged_before_the_first_assignments(plane):
    plane.overlays.devices[4097] = OverlaySpec("n1", "old", 4097, "10.0.97.2/24")
    plane.reconcile()
    assert 4097 in plane.overlays.devices


def test_listed_networks_are_programmed_and_attachable(plane):
    plane.update([entry("n1", "backend", 4097, [("10.0.97.5", "198.18.0.3")])], LOCAL)
    assert plane.overlays.devices[4097].peers[0].ip == "10.0.97.5"
    assert plane.gateway(4097) == "10.0.97.2"
    assert plane.prefixlen(4097) == 24
    assert plane.docker.networks == {}  # made only when a container needs it
    plan = plane.attach([attachment("n1", "backend", 4097, "10.0.97.7/24")])
    assert plan == [("swarmlet-m1-backend", "10.0.97.7/24")]
    with pytest.raises(NetworkNotReady, match="network front is not set up"):
        plane.attach([attachment("n2", "front", 4098, "10.0.98.7/24")])


def test_a_network_stays_while_a_container_is_attached(plane):
    plane.update([entry("n1", "backend", 4097)], LOCAL)
    plane.attach([attachment("n1", "backend", 4097, "10.0.97.7/24")])
    plane.overlays.ports[4097] = ["swv0123456789ab"]
    plane.docker.endpoints = {"0123456789ab" + "0" * 52}
    plane.docker.busy.add("n1")
    plane.update([], LOCAL)
    assert 4097 in plane.overlays.devices
    assert "n1" in plane.docker.networks
    assert plane.gateway(4097) == "10.0.97.2"  # its container may still leave cleanly
    with pytest.raises(NetworkNotReady):  # but no new container joins it
        plane.attach([attachment("n1", "backend", 4097, "10.0.97.8/24")])
    plane.overlays.ports.clear()
    plane.docker.busy.clear()
    plane.reconcile()
    assert plane.overlays.devices == {}
    assert plane.docker.networks == {}
    assert plane.gateway(4097) is None


def test_leftovers_of_an_earlier_agent_go_when_unlisted(plane):
    plane.overlays.devices[4099] = OverlaySpec("n9", "gone", 4099, "10.0.99.2/24")
    plane.docker.networks["n9"] = {"Name": "swarmlet-m1-gone", "Options": {names.OPT_VNI: "4099"}}
    plane.update([entry("n1", "backend", 4097)], LOCAL)
    assert set(plane.overlays.devices) == {4097}
    assert plane.docker.networks == {}


def test_remove_all_on_leave(plane):
    plane.update([entry("n1", "backend", 4097), entry("n2", "front", 4098)], LOCAL)
    plane.attach([attachment("n2", "front", 4098, "10.0.98.7/24")])
    plane.remove_all()
    assert plane.overlays.devices == {}
    assert plane.docker.networks == {}


def test_executor_waits_for_a_network_then_rejects(plane, monkeypatch):
    from swarmlet.worker import executor as ex

    clock = [100.0]
    monkeypatch.setattr(ex.time, "monotonic", lambda: clock[0])
    e = ex.Executor("node1", lambda _u: None, plane)
    task = {"ID": "t1", "NetworksAttachments": [attachment("n1", "backend", 4097, "10.0.97.7/24")]}
    assert e._networks(task) == ("preparing", "preparing", "")
    clock[0] += ex.NETWORK_WAIT + 1
    state, _, err = e._networks(task)
    assert (state, err) == ("rejected", "network backend is not set up on this node yet")
    plane.update([entry("n1", "backend", 4097)], LOCAL)
    assert e._networks(task) == [("swarmlet-m1-backend", "10.0.97.7/24")]
    assert e._networks({"ID": "t2"}) == []
    e.client.close()


def test_links_dockerd_no_longer_has_are_pruned(plane):
    live, lost, young = "a1" * 32, "b2" * 32, "c3" * 32
    plane.update([entry("n1", "backend", 4097)], LOCAL)
    plane.overlays.ports[4097] = [names.host_veth(e) for e in (live, lost, young)]
    plane.docker.endpoints = {live}
    plane.links.recent = {names.host_veth(young)}
    plane.reconcile()
    assert plane.overlays.ports[4097] == [names.host_veth(live), names.host_veth(young)]


def test_an_answer_that_changes_nothing_of_the_networks_costs_no_pass(plane):
    """Most answers only carry a task's new status: the node's devices, Docker networks and
    tables are not looked at again for it (the repair passes still are)."""
    plane.update([entry("n1", "backend", 4097)], LOCAL)
    plane.overlays.devices.clear()  # drift: found by the next real pass, not by this answer
    plane.update([entry("n1", "backend", 4097)], LOCAL)
    assert plane.overlays.devices == {}
    plane.update([entry("n1", "backend", 4097, [("10.0.97.5", "198.18.0.3")])], LOCAL)
    assert plane.overlays.devices[4097].peers[0].ip == "10.0.97.5"
    plane.overlays.devices.clear()
    plane.reconcile()
    assert 4097 in plane.overlays.devices


def test_each_pass_is_timed_per_part_for_metrics(plane):
    """swarmlet_dataplane_programming_seconds (docs/observability.md): one observation per
    part programmed, for each pass a change runs."""
    registry = agent_registry(lambda: None)
    parts = ("overlays", "balancer", "dns", "endpoints", "docker_networks", "cleanup")

    def passes() -> dict[str, float]:
        return {part: registry.get_sample_value("swarmlet_dataplane_programming_seconds_count",
                                                {"what": part}) or 0.0 for part in parts}

    before = passes()
    plane.update([entry("n1", "backend", 4097)], LOCAL)
    assert {part: n - before[part] for part, n in passes().items()} == dict.fromkeys(parts, 1)
