"""Host-mode published ports in a node's assignments (manager/dispatcher/assignment_ports.py),
and the
ingress attachment of tasks that publish host ports but have no network of their own."""

from __future__ import annotations

from swarmlet.manager.allocator.network_objects import task_network_ids
from swarmlet.manager.dispatcher.assignment_ports import host_ports

INGRESS, FRONT = "ingress00000", "front0000000"
HOST = {"Ports": [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 9090,
                   "PublishMode": "host"}]}


def task(tid, node="n1", state="running", desired="running", endpoint=HOST,
         attachments=((INGRESS, "10.0.0.9/24"),)):
    return {"ID": tid, "NodeID": node, "DesiredState": desired,
            "Status": {"State": state}, "Endpoint": endpoint,
            "NetworksAttachments": [{"Network": {"ID": n}, "Addresses": [a]}
                                    for n, a in attachments]}


def test_only_running_tasks_of_this_node_with_host_ports():
    tasks = [task("a"), task("b", node="n2"), task("c", state="starting"),
             task("d", desired="shutdown"), task("e", endpoint={"Ports": [
                 {"TargetPort": 80, "PublishedPort": 8080, "PublishMode": "ingress"}]})]
    assert host_ports("n1", tasks) == [{"Protocol": "tcp", "PublishedPort": 9090,
                                        "TargetPort": 80, "IP": "10.0.0.9", "TaskID": "a"}]


def test_the_first_network_address_and_no_number_left_out():
    first = task("a", attachments=((FRONT, "10.0.1.4/24"), (INGRESS, "10.0.0.9/24")))
    assert host_ports("n1", [first])[0]["IP"] == "10.0.1.4"
    unnumbered = task("b", endpoint={"Ports": [{"TargetPort": 80, "PublishMode": "host"}]})
    assert host_ports("n1", [unnumbered]) == []


def test_host_ports_attach_ingress_only_without_a_network():
    bare = {"Spec": {}, "Endpoint": HOST}
    assert task_network_ids(bare, INGRESS) == [INGRESS]
    on_front = {"Spec": {"Networks": [{"Target": FRONT}]}, "Endpoint": HOST}
    assert task_network_ids(on_front, INGRESS) == [FRONT]
    assert task_network_ids({"Spec": {}, "Endpoint": {}}, INGRESS) == []
