"""The host-mode published ports of a node's assignments ("HostPorts"): for each task
running on the node whose service publishes a port with `mode=host`, the port and the
task's address, so the node's load balancer sends that port to the task (net/lb.py). Only
where a task runs does the port answer, as in Docker; the scheduler keeps two tasks with
the same host port off one node.

An entry: {"Protocol", "PublishedPort", "TargetPort", "IP", "TaskID"}. The address is the
task's first network address (a task publishing host ports and on no network of its own is
attached to ingress for it, as Docker attaches it to docker_gwbridge). A host-mode port
without a number is left out: Docker picks a random one on the host; not supported here.
Pure: no store.
"""

from __future__ import annotations

from typing import Any

from swarmlet.manager import tasks as T
from swarmlet.manager.allocator import network_objects as N

Obj = dict[str, Any]


def host_ports(node_id: str, tasks: list[Obj]) -> list[Obj]:
    out = []
    for task in tasks:
        if task.get("NodeID") != node_id or not T.is_serving(task):
            continue
        ports = [p for p in N.host_ports(task.get("Endpoint")) if p.get("PublishedPort")]
        addresses = [a for addrs in N.attachment_addresses(
            task.get("NetworksAttachments")).values() for a in addrs]
        if not ports or not addresses:
            continue
        ip = addresses[0].split("/")[0]
        out += [{"Protocol": str(p.get("Protocol") or "tcp"),
                 "PublishedPort": int(p["PublishedPort"]),
                 "TargetPort": int(p.get("TargetPort") or p["PublishedPort"]),
                 "IP": ip, "TaskID": task["ID"]} for p in ports]
    return sorted(out, key=lambda e: (e["Protocol"], e["PublishedPort"], e["TaskID"]))
