"""Containers that are no task on attachable networks (manager/dispatcher/attachments.py): the
allocator gives them addresses no task or VIP has, their node takes part in the network, the
peers on other nodes learn them, and they go with their network or their node; the control
functions the nodes call; the nftables text that sends their DNS to the node's resolver."""

from __future__ import annotations

import shutil
import subprocess
from ipaddress import IPv4Address, IPv4Network

import pytest
from test_allocator import BACKEND_ID, INGRESS_ID, World, addresses_on

from swarmlet.api.statuses import http_status
from swarmlet.errors import DomainError
from swarmlet.manager import tasks as T
from swarmlet.manager.allocator.allocator import allocate, attach_nodes
from swarmlet.manager.allocator.network_objects import new_network
from swarmlet.manager.dispatcher import attachments as NA
from swarmlet.manager.dispatcher.assignment_networks import node_networks
from swarmlet.manager.orchestrator.reaper import reap
from swarmlet.net import dns_redirect

SOLO_ID = "solo0000000000000000000000"


def attachable_world() -> World:
    w = World()
    backend = w.get("network", BACKEND_ID)
    backend["Spec"]["Attachable"] = True
    w.update("network", backend)
    w.node("n1", "198.18.0.2")
    w.node("n2", "198.18.0.3")
    return w


def attached(w: World, node_id: str, endpoint: str, network_id: str = BACKEND_ID) -> dict:
    return w.create(NA.KIND, NA.new_attachment(node_id, network_id, endpoint))


def test_an_attachment_gets_an_address_of_its_own_and_takes_its_node_onto_the_network():
    w = attachable_world()
    svc = w.service("web", networks=[BACKEND_ID])
    [task] = w.tasks_of(svc, 1)
    att = attached(w, "n1", "e1")
    w.run(allocate)
    att = w.get(NA.KIND, att["ID"])
    address = NA.address_of(att)
    assert address and address.endswith("/24")
    assert att["NetworksAttachments"][0]["Network"]["ID"] == BACKEND_ID
    assert address not in w.live_addresses()  # the helper counts tasks, nodes and VIPs
    assert address not in addresses_on(w.get("task", task["ID"]), BACKEND_ID)
    assert w.run(allocate) == []  # kept, not allocated again
    w.run(attach_nodes)
    n1 = w.get("node", "n1")
    assert [a["Network"]["ID"] for a in n1["Attachments"]] == [BACKEND_ID, INGRESS_ID]
    assert address not in [a for x in n1["Attachments"] for a in x["Addresses"]]
    # its node builds the network; n2 learns it as a peer on n1
    mine = node_networks("n1", [], w.state.list("node"), w.state.list("network"), [],
                         [att])
    assert [n["Network"]["ID"] for n in mine] == [INGRESS_ID, BACKEND_ID]
    theirs = node_networks("n2", [], w.state.list("node"), w.state.list("network"), [],
                           [att])
    assert [n["Network"]["ID"] for n in theirs] == [INGRESS_ID]  # n2 has nothing there
    # once n2 takes part too (a task there), n1's container is one of its peers
    task = w.get("task", task["ID"])
    task["NodeID"] = "n2"
    w.update("task", T.set_status(task, "assigned", "assigned"))
    w.run(attach_nodes)
    tasks = w.state.list("task")
    theirs = node_networks("n2", tasks, w.state.list("node"), w.state.list("network"), tasks,
                           [att])
    backend = next(n for n in theirs if n["Network"]["ID"] == BACKEND_ID)
    assert {"IP": address.split("/")[0], "NodeAddr": "198.18.0.2"} in backend["Peers"]


def test_a_detached_container_frees_its_address_and_its_node_leaves_the_network():
    w = attachable_world()
    att = attached(w, "n1", "e1")
    w.run(allocate)
    address = NA.address_of(w.get(NA.KIND, att["ID"]))
    w.run(attach_nodes)
    w.state.apply([{"op": "delete", "kind": NA.KIND, "id": att["ID"]}], w.stamp())
    w.run(attach_nodes)
    assert [a["Network"]["ID"] for a in w.get("node", "n1")["Attachments"]] == [INGRESS_ID]
    again = attached(w, "n2", "e2")
    w.run(allocate)
    assert NA.address_of(w.get(NA.KIND, again["ID"])) == address  # free again


def test_attachments_go_with_their_network_and_with_their_node():
    w = attachable_world()
    w.create("network", new_network(SOLO_ID, "solo", IPv4Network(
        "10.0.2.0/24"), IPv4Address("10.0.2.1"), 4098,
        attachable=True))
    on_solo = attached(w, "n1", "e1", SOLO_ID)
    on_n2 = attached(w, "n2", "e2")
    w.state.apply([{"op": "delete", "kind": "network", "id": SOLO_ID}], w.stamp())
    w.run(allocate)
    w.run(reap)
    assert w.state.get(NA.KIND, on_solo["ID"]) is None
    assert NA.is_allocated(w.get(NA.KIND, on_n2["ID"]))
    assert w.run(reap) == []  # node and network still there
    w.state.apply([{"op": "delete", "kind": "node", "id": "n2"}], w.stamp())
    w.run(reap)
    assert w.state.get(NA.KIND, on_n2["ID"]) is None


class Store:
    """The calls network_attachments makes of the Raft store, over a StoreState."""

    def __init__(self, w: World) -> None:
        self.w = w

    def get(self, kind, oid):
        return self.w.state.get(kind, oid)

    def list(self, kind):
        return self.w.state.list(kind)

    def find_by_name(self, kind, name):
        return self.w.state.find_by_name(kind, name)

    def write(self, changes):
        self.w.state.apply(changes, self.w.stamp())
        self.w.run(allocate)  # the leader's loop, at once


def test_attach_answers_with_the_address_and_again_with_the_same_one():
    w = attachable_world()
    store = Store(w)
    first = NA.attach(store, "n1", "backend", "e1", wait=1)
    assert NA.address_of(first)
    assert NA.attach(store, "n1", BACKEND_ID, "e1", wait=1)["ID"] == first["ID"]
    assert len(w.state.list(NA.KIND)) == 1
    assert NA.detach(store, "n1", "e1") is True
    assert NA.detach(store, "n1", "e1") is False  # already gone: nothing to do
    assert w.state.list(NA.KIND) == []


def test_attach_refuses_a_network_not_made_attachable_with_dockers_message():
    w = attachable_world()
    store = Store(w)
    with pytest.raises(DomainError, match="network ingress not manually attachable") as err:
        NA.attach(store, "n1", "ingress", "e1", wait=1)
    assert http_status(err.value) == 403
    with pytest.raises(DomainError, match="network nope not found"):
        NA.attach(store, "n1", "nope", "e1", wait=1)
    assert w.state.list(NA.KIND) == []


def test_attach_says_so_when_no_address_comes():
    w = attachable_world()
    store = Store(w)
    store.write = lambda changes: w.state.apply(changes, w.stamp())  # no allocator running
    with pytest.raises(DomainError, match="no address was allocated within"):
        NA.attach(store, "n1", "backend", "e1", wait=0.2)


def test_dns_redirect_names_the_containers_and_dockerds_resolvers():
    assert dns_redirect.dockerd_resolvers("nameserver 10.255.255.53\n") == ["10.255.255.53"]
    # only loopback resolvers (systemd-resolved): dockerd gives containers its defaults
    assert dns_redirect.dockerd_resolvers("nameserver 127.0.0.53\nnameserver ::1\n") == [
        "8.8.8.8", "8.8.4.4"]
    text = dns_redirect.render([("10.0.1.9", "10.0.1.2"), ("10.0.1.10", "10.0.1.3")],
                               ["10.255.255.53"])
    assert "elements = { 10.255.255.53 }" in text
    rules = [line.strip() for line in text.splitlines() if "dnat" in line]
    assert rules == [
        "ip saddr 10.0.1.9 ip daddr @resolvers meta l4proto { tcp, udp } th dport 53 "
        "dnat ip to 10.0.1.2",
        "ip saddr 10.0.1.10 ip daddr @resolvers meta l4proto { tcp, udp } th dport 53 "
        "dnat ip to 10.0.1.3"]


@pytest.mark.skipif(not shutil.which("nft") or not shutil.which("unshare"),
                    reason="needs nft and unshare")
def test_the_kernel_takes_the_dns_redirect_table():
    text = dns_redirect.render([("10.0.1.9", "10.0.1.2")], ["10.255.255.53", "8.8.8.8"])
    proc = subprocess.run(["unshare", "-n", "sh", "-c", "nft -f - && nft list ruleset"],
                          input=text + dns_redirect.removal() + text, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert "dnat to 10.0.1.2" in proc.stdout
