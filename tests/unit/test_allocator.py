"""The allocator as pure passes over a real (in-memory) store state: addresses for new
tasks, service endpoints (VIPs, published ports), node attachments, freeing, and what a new
leader sees (the store is the only truth)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from test_orchestrator import NOW

from swarmlet.manager import tasks as T
from swarmlet.manager.allocator.allocator import allocate, attach_nodes
from swarmlet.manager.allocator.network_objects import new_network
from swarmlet.manager.dispatcher.assignment_networks import node_networks, sendable
from swarmlet.manager.snapshot import Snapshot
from swarmlet.spec.service import normalise_spec
from swarmlet.store.state import StoreState

TS = "2026-01-01T12:00:00.000000Z"
INGRESS_ID = "ingress00000000000000000"
BACKEND_ID = "backend00000000000000000"


class World:
    """A store state the passes read and write, as the leader's loop does."""

    def __init__(self, ingress: bool = True) -> None:
        self.state = StoreState()
        self._clock = 0
        if ingress:
            self.create("network", new_network(INGRESS_ID, "ingress",
                                               IPv4Network("10.0.0.0/24"),
                                               IPv4Address("10.0.0.1"), 4096, ingress=True))
        self.create("network", new_network(BACKEND_ID, "backend", IPv4Network("10.0.1.0/24"),
                                           IPv4Address("10.0.1.1"), 4097))

    def stamp(self) -> str:
        self._clock += 1
        return f"2026-01-01T12:00:{self._clock:02d}.000000Z"

    def create(self, kind: str, obj: dict) -> dict:
        [stored] = self.state.apply([{"op": "create", "kind": kind, "object": obj}],
                                    self.stamp())
        return stored

    def snap(self) -> Snapshot:
        s = self.state
        return Snapshot({o["ID"]: o for o in s.list("service")},
                        {o["ID"]: o for o in s.list("node")}, s.list("task"), 5, NOW,
                        networks={o["ID"]: o for o in s.list("network")},
                        attachments=s.list("attachment"))

    def run(self, stage) -> list[dict]:
        changes = stage(self.snap())
        if changes:
            self.state.apply(changes, self.stamp())
        return changes

    def service(self, name: str, networks=(), ports=(), mode: str = "vip") -> dict:
        spec = {"Name": name, "TaskTemplate": {"ContainerSpec": {"Image": "img"},
                                               "Networks": [{"Target": n} for n in networks]},
                "EndpointSpec": {"Mode": mode, "Ports": list(ports)}}
        return self.create("service", {"ID": f"svc-{name}", "Spec": normalise_spec(spec),
                                       "SpecVersion": {"Index": 1}})

    def tasks_of(self, service: dict, count: int, node_id: str = "") -> list[dict]:
        made = []
        for slot in range(1, count + 1):
            task = T.new_task(service, slot)
            task["ID"] = f"{service['ID']}-t{slot}-{self._clock}"
            made.append(self.create("task", task))
        return made

    def node(self, node_id: str, addr: str) -> dict:
        return self.create("node", {"ID": node_id, "Spec": {"Role": "worker",
                                                             "Availability": "active"},
                                    "Status": {"State": "ready", "Addr": addr}})

    def get(self, kind: str, oid: str) -> dict:
        found = self.state.get(kind, oid)
        assert found is not None
        return found

    def update(self, kind: str, obj: dict) -> None:
        self.state.apply([{"op": "update", "kind": kind, "object": obj}], self.stamp())

    def live_addresses(self) -> list[str]:
        """Every address held: live tasks', nodes', VIPs (duplicates kept, to count)."""
        out = []
        for task in self.state.list("task"):
            if not T.is_terminal(task):
                out += [a for att in task.get("NetworksAttachments") or []
                        for a in att["Addresses"]]
        for node in self.state.list("node"):
            out += [a for att in node.get("Attachments") or [] for a in att["Addresses"]]
        for service in self.state.list("service"):
            out += [v["Addr"] for v in (service.get("Endpoint") or {}).get("VirtualIPs") or []]
        return out


def addresses_on(task: dict, network_id: str) -> list[str]:
    return [a for att in task.get("NetworksAttachments") or []
            if att["Network"]["ID"] == network_id for a in att["Addresses"]]


def test_new_tasks_get_distinct_addresses_on_their_network_and_become_pending():
    w = World()
    svc = w.service("web", networks=[BACKEND_ID])
    made = w.tasks_of(svc, 3)
    w.run(allocate)
    tasks = [w.get("task", t["ID"]) for t in made]
    assert {T.state_of(t) for t in tasks} == {"pending"}
    got = sorted(a for t in tasks for a in addresses_on(t, BACKEND_ID))
    vip = w.get("service", svc["ID"])["Endpoint"]["VirtualIPs"]
    # The VIP first (services before tasks), then the tasks, lowest first; never .0 or .1.
    assert vip == [{"NetworkID": BACKEND_ID, "Addr": "10.0.1.2/24"}]
    assert got == ["10.0.1.3/24", "10.0.1.4/24", "10.0.1.5/24"]
    attachment = tasks[0]["NetworksAttachments"][0]["Network"]
    assert attachment["ID"] == BACKEND_ID and attachment["Spec"]["Name"] == "backend"
    assert attachment["DriverState"]["Options"] == {
        "com.docker.network.driver.overlay.vxlanid_list": "4097"}
    assert attachment["IPAM"]["Configs"] == [{"Subnet": "10.0.1.0/24", "Gateway": "10.0.1.1"}]


def test_a_service_without_networks_or_ports_has_a_bare_endpoint_and_tasks_no_attachments():
    w = World()
    svc = w.service("plain")
    [made] = w.tasks_of(svc, 1)
    w.run(allocate)
    assert w.get("service", svc["ID"])["Endpoint"] == {"Spec": {"Mode": "vip"}}
    task = w.get("task", made["ID"])
    assert T.state_of(task) == "pending" and "NetworksAttachments" not in task


def test_dnsrr_has_no_vip():
    w = World()
    svc = w.service("db", networks=[BACKEND_ID], mode="dnsrr")
    [made] = w.tasks_of(svc, 1)
    w.run(allocate)
    assert "VirtualIPs" not in w.get("service", svc["ID"])["Endpoint"]
    assert addresses_on(w.get("task", made["ID"]), BACKEND_ID) == ["10.0.1.2/24"]


def test_published_ports_numbers_given_and_dynamic_and_the_ingress_network():
    w = World()
    ports = [{"TargetPort": 80, "PublishedPort": 8080}, {"TargetPort": 81},
             {"TargetPort": 53, "Protocol": "udp"},
             {"TargetPort": 82, "PublishMode": "host", "PublishedPort": 9000}]
    svc = w.service("web", networks=[BACKEND_ID], ports=ports)
    other = w.service("api", ports=[{"TargetPort": 80}])
    [made] = w.tasks_of(svc, 1)
    w.run(allocate)
    endpoint = w.get("service", svc["ID"])["Endpoint"]
    published = [(p["Protocol"], p["TargetPort"], p["PublishedPort"], p["PublishMode"])
                 for p in endpoint["Ports"]]
    assert published == [("tcp", 80, 8080, "ingress"), ("tcp", 81, 30000, "ingress"),
                         ("udp", 53, 30000, "ingress"), ("tcp", 82, 9000, "host")]
    assert [p["PublishedPort"] for p in w.get("service", other["ID"])["Endpoint"]["Ports"]] \
        == [30001]
    assert {v["NetworkID"] for v in endpoint["VirtualIPs"]} == {BACKEND_ID, INGRESS_ID}
    task = w.get("task", made["ID"])
    assert [a["Network"]["ID"] for a in task["NetworksAttachments"]] == [BACKEND_ID, INGRESS_ID]
    assert IPv4Address(addresses_on(task, INGRESS_ID)[0].split("/")[0]) in \
        IPv4Network("10.0.0.0/24")


def test_allocations_are_kept_across_passes():
    w = World()
    svc = w.service("web", networks=[BACKEND_ID], ports=[{"TargetPort": 80}])
    w.run(allocate)
    before = w.get("service", svc["ID"])["Endpoint"]
    assert w.run(allocate) == []  # nothing changes: no write
    w.service("later", ports=[{"TargetPort": 80}])
    w.run(allocate)
    assert w.get("service", svc["ID"])["Endpoint"] == before


def test_a_port_held_by_another_service_keeps_the_newer_ones_tasks_new_with_dockers_message():
    w = World()
    first = w.service("first", ports=[{"TargetPort": 80, "PublishedPort": 8080}])
    w.run(allocate)
    # A race the control API could not see: a second service asking for the same port.
    second = w.service("second", ports=[{"TargetPort": 80, "PublishedPort": 8080}])
    [made] = w.tasks_of(second, 1)
    w.run(allocate)
    task = w.get("task", made["ID"])
    assert T.state_of(task) == "new"
    assert task["Status"]["Err"] == (f"port '8080' is already in use by service 'first' "
                                     f"({first['ID']}) as an ingress port")
    assert "Endpoint" not in w.get("service", second["ID"])
    assert w.run(allocate) == []  # the same error is not written again


def test_publishing_without_an_ingress_network_leaves_tasks_new():
    w = World(ingress=False)
    svc = w.service("web", ports=[{"TargetPort": 80}])
    [made] = w.tasks_of(svc, 1)
    w.run(allocate)
    task = w.get("task", made["ID"])
    assert T.state_of(task) == "new"
    assert task["Status"]["Err"] == ("service needs ingress network, but no ingress network "
                                     "is present")


def test_a_missing_network_leaves_tasks_new():
    w = World()
    svc = w.service("web", networks=["nonexistent"])
    [made] = w.tasks_of(svc, 1)
    w.run(allocate)
    assert w.get("task", made["ID"])["Status"]["Err"] == "network nonexistent not found"


def test_ended_and_deleted_tasks_free_their_addresses_live_ones_never_share():
    w = World()
    svc = w.service("web", networks=[BACKEND_ID], mode="dnsrr")
    made = w.tasks_of(svc, 3)
    w.run(allocate)
    first, second, _ = (w.get("task", t["ID"]) for t in made)
    w.update("task", T.set_status(first, "failed", "exit 1"))
    w.state.apply([{"op": "delete", "kind": "task", "id": second["ID"]}], w.stamp())
    newer = w.tasks_of(svc, 3)
    w.run(allocate)
    reused = sorted(a for t in newer for a in addresses_on(w.get("task", t["ID"]), BACKEND_ID))
    assert reused == ["10.0.1.2/24", "10.0.1.3/24", "10.0.1.5/24"]  # .4 is third's still
    live = w.live_addresses()
    assert len(live) == len(set(live))


def test_a_new_leader_computes_in_use_from_the_store_and_never_doubles():
    w = World()
    svc = w.service("web", networks=[BACKEND_ID])
    w.tasks_of(svc, 5)
    w.run(allocate)
    w.node("n1", "198.18.0.2")
    for task in w.state.list("task"):
        task["NodeID"] = "n1"
        w.update("task", T.set_status(task, "assigned", "scheduler assigned task to node"))
    w.run(attach_nodes)
    # "Failover": nothing of the old leader's passes survives but the store itself.
    w2 = World.__new__(World)
    w2.state, w2._clock = StoreState(), 100
    w2.state.restore(w.state.snapshot())
    w2.tasks_of(w2.get("service", svc["ID"]), 5)
    w2.run(allocate)
    w2.run(attach_nodes)
    live = w2.live_addresses()
    assert len(live) == len(set(live)) == 1 + 10 + 2  # VIP, 10 tasks, node on both networks


def test_nodes_get_ingress_everywhere_and_a_network_while_its_tasks_are_there():
    w = World()
    w.node("n1", "198.18.0.2")
    w.node("n2", "198.18.0.3")
    svc = w.service("web", networks=[BACKEND_ID])
    [made] = w.tasks_of(svc, 1)
    w.run(allocate)
    task = w.get("task", made["ID"])
    task["NodeID"] = "n1"
    w.update("task", T.set_status(task, "assigned", "assigned"))
    w.run(attach_nodes)
    n1, n2 = w.get("node", "n1"), w.get("node", "n2")
    assert [a["Network"]["ID"] for a in n1["Attachments"]] == [BACKEND_ID, INGRESS_ID]
    assert [a["Network"]["ID"] for a in n2["Attachments"]] == [INGRESS_ID]
    assert w.run(attach_nodes) == []
    # The task ends: n1 leaves the backend network; ingress stays.
    task = w.get("task", made["ID"])
    w.update("task", T.set_status(task, "shutdown", "shut down"))
    w.run(attach_nodes)
    assert [a["Network"]["ID"] for a in w.get("node", "n1")["Attachments"]] == [INGRESS_ID]


def test_removed_networks_leave_node_attachments_and_removed_services_free_vips():
    w = World()
    w.node("n1", "198.18.0.2")
    svc = w.service("web", networks=[BACKEND_ID])
    w.run(allocate)
    vip = w.get("service", svc["ID"])["Endpoint"]["VirtualIPs"][0]["Addr"]
    w.state.apply([{"op": "delete", "kind": "service", "id": svc["ID"]}], w.stamp())
    again = w.service("again", networks=[BACKEND_ID])
    w.run(allocate)
    assert w.get("service", again["ID"])["Endpoint"]["VirtualIPs"][0]["Addr"] == vip
    w.run(attach_nodes)
    w.state.apply([{"op": "delete", "kind": "network", "id": INGRESS_ID}], w.stamp())
    w.run(attach_nodes)
    assert w.get("node", "n1").get("Attachments") == []


def test_assignments_networks_node_address_and_peers_on_other_nodes():
    w = World()
    w.node("n1", "198.18.0.2")
    w.node("n2", "198.18.0.3")
    svc = w.service("web", networks=[BACKEND_ID])
    made = w.tasks_of(svc, 2)
    w.run(allocate)
    for task, node_id in zip(made, ("n1", "n2"), strict=True):
        task = w.get("task", task["ID"])
        task["NodeID"] = node_id
        w.update("task", T.set_status(task, "assigned", "assigned"))
    tasks, nodes = w.state.list("task"), w.state.list("node")
    mine = [t for t in tasks if t["NodeID"] == "n1"]
    assert sendable(mine, w.get("node", "n1")) == []  # no node address on backend yet
    w.run(attach_nodes)
    tasks, nodes = w.state.list("task"), w.state.list("node")
    mine = sendable([t for t in tasks if t["NodeID"] == "n1"], w.get("node", "n1"))
    assert len(mine) == 1
    networks = node_networks("n1", mine, nodes, w.state.list("network"), tasks)
    assert [n["Network"]["ID"] for n in networks] == [INGRESS_ID, BACKEND_ID]
    n2_addrs = {a["Network"]["ID"]: a["Addresses"][0].split("/")[0]
                for a in w.get("node", "n2")["Attachments"]}
    theirs = addresses_on(next(t for t in tasks if t["NodeID"] == "n2"), BACKEND_ID)
    backend = networks[1]
    assert backend["NodeAddress"] in [a for n in nodes if n["ID"] == "n1"
                                      for att in n["Attachments"] for a in att["Addresses"]]
    assert backend["Peers"] == sorted(
        [{"IP": n2_addrs[BACKEND_ID], "NodeAddr": "198.18.0.3"},
         {"IP": theirs[0].split("/")[0], "NodeAddr": "198.18.0.3"}],
        key=lambda p: IPv4Address(p["IP"]))
    assert networks[0]["Peers"] == [{"IP": n2_addrs[INGRESS_ID], "NodeAddr": "198.18.0.3"}]


def test_a_full_subnet_leaves_the_rest_new():
    count = 253  # .2 to .254 of a /24
    w = World()
    svc = w.service("many", networks=[BACKEND_ID], mode="dnsrr")
    w.tasks_of(svc, count + 1)
    w.run(allocate)
    states = [T.state_of(t) for t in w.state.list("task")]
    assert states.count("pending") == count and states.count("new") == 1
