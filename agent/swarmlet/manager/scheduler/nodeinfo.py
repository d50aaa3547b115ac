"""Per-node view the filters read: the node, what its tasks hold (resources, host ports) and
how many active tasks it runs in total and per service. Built once from a snapshot, then
updated in place as the scheduler places tasks during one pass (SwarmKit's NodeInfo)."""

from __future__ import annotations

from collections.abc import Iterable

# A task holds its node's resources and host ports from ASSIGNED until it reaches a terminal
# state. A pending task with a NodeID (preassigned) holds nothing until the scheduler
# confirms it, as in SwarmKit.
HOLDING_STATES = frozenset({"assigned", "accepted", "preparing", "ready", "starting",
                            "running"})
# Active = desired state at most COMPLETE: these count toward spreading and MaxReplicas; a
# task told to shut down no longer does, though it still holds resources until it stops.
ACTIVE_DESIRED = frozenset({"new", "pending", "assigned", "accepted", "preparing", "ready",
                            "starting", "running", "complete"})

HostPort = tuple[str, int]  # (protocol, published port)


def reservations(task: dict) -> tuple[int, int]:
    """(NanoCPUs, MemoryBytes) the task reserves."""
    res = ((task.get("Spec") or {}).get("Resources") or {}).get("Reservations") or {}
    return int(res.get("NanoCPUs") or 0), int(res.get("MemoryBytes") or 0)


def host_ports(task: dict) -> list[HostPort]:
    """Host-mode published ports of the task; port 0 (not published) takes nothing."""
    ports = (task.get("Endpoint") or {}).get("Ports") or []
    return [(str(p.get("Protocol") or "tcp").lower(), int(p["PublishedPort"]))
            for p in ports
            if str(p.get("PublishMode") or "").lower() == "host" and p.get("PublishedPort")]


class NodeInfo:
    __slots__ = ("active_tasks", "host_ports", "id", "memory_bytes", "nano_cpus", "node",
                 "ready", "tasks_by_service")

    def __init__(self, node: dict) -> None:
        self.node = node
        self.id: str = node["ID"]
        spec, status = node.get("Spec") or {}, node.get("Status") or {}
        self.ready = (str(status.get("State", "")).lower() == "ready"
                      and str(spec.get("Availability", "active")).lower() == "active")
        res = (node.get("Description") or {}).get("Resources") or {}
        self.nano_cpus = int(res.get("NanoCPUs") or 0)        # available, not total
        self.memory_bytes = int(res.get("MemoryBytes") or 0)  # available, not total
        self.host_ports: set[HostPort] = set()
        self.tasks_by_service: dict[str, int] = {}
        self.active_tasks = 0

    def reserve(self, service_id: str, nano_cpus: int, memory_bytes: int,
                ports: Iterable[HostPort], active: bool = True) -> None:
        """Account for one task on this node."""
        self.nano_cpus -= nano_cpus
        self.memory_bytes -= memory_bytes
        self.host_ports.update(ports)
        if active:
            self.active_tasks += 1
            self.tasks_by_service[service_id] = self.tasks_by_service.get(service_id, 0) + 1

    def add_task(self, task: dict) -> None:
        cpus, memory = reservations(task)
        self.reserve(task.get("ServiceID", ""), cpus, memory, host_ports(task),
                     active=task.get("DesiredState", "running") in ACTIVE_DESIRED)

    def service_tasks(self, service_id: str) -> int:
        return self.tasks_by_service.get(service_id, 0)

    def __repr__(self) -> str:
        return (f"NodeInfo({self.id!r}, ready={self.ready}, active={self.active_tasks}, "
                f"cpus={self.nano_cpus}, memory={self.memory_bytes})")


def holds_node(task: dict) -> bool:
    """Whether the task is load on its node (see HOLDING_STATES)."""
    return bool(task.get("NodeID")) and (task.get("Status") or {}).get("State") in HOLDING_STATES


def build_node_infos(nodes: Iterable[dict], tasks: Iterable[dict]) -> dict[str, NodeInfo]:
    """NodeInfo per node ID, loaded with every task that holds a node. Tasks on nodes that are
    not in `nodes` are ignored: there is nothing left to place next to them."""
    infos = {node["ID"]: NodeInfo(node) for node in nodes}
    for task in tasks:
        if holds_node(task):
            info = infos.get(task["NodeID"])
            if info is not None:
                info.add_task(task)
    return infos
