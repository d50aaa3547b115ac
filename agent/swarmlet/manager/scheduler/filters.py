"""The filter pipeline (SwarmKit's filter.go and pipeline.go): a node can take a task when
every filter that applies to the task passes, checked in SwarmKit's order. Counting the
first failing filter per node explains an unschedulable task in Docker's words:
"no suitable node (scheduling constraints not satisfied on 3 nodes)"."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from swarmlet.errors import SwarmletError
from swarmlet.manager.scheduler.nodeinfo import NodeInfo, host_ports, reservations
from swarmlet.spec.constraints import Constraint, node_matches, parse_constraints


def _on(nodes: int) -> str:
    return "on 1 node" if nodes == 1 else f"on {nodes} nodes"


def _placement(task: dict) -> dict:
    return (task.get("Spec") or {}).get("Placement") or {}


class Filter(ABC):
    """One step. `for_task` returns None when the task asks nothing of this filter (SwarmKit's
    SetTask returning false). A `static` filter gives a node the same answer for a whole
    pass; the others change as tasks are placed."""

    static = True

    @classmethod
    @abstractmethod
    def for_task(cls, task: dict) -> Filter | None: ...

    @abstractmethod
    def check(self, info: NodeInfo) -> bool: ...

    @abstractmethod
    def explain(self, nodes: int) -> str: ...


class ReadyFilter(Filter):
    """Node READY and availability ACTIVE (pause and drain take no new tasks)."""

    @classmethod
    def for_task(cls, task: dict) -> Filter:
        return cls()

    def check(self, info: NodeInfo) -> bool:
        return info.ready

    def explain(self, nodes: int) -> str:
        return "1 node not available for new tasks" if nodes == 1 else \
            f"{nodes} nodes not available for new tasks"


class ResourceFilter(Filter):
    """Reservations fit what the node has left after the tasks it already holds."""

    static = False

    def __init__(self, nano_cpus: int, memory_bytes: int) -> None:
        self.nano_cpus, self.memory_bytes = nano_cpus, memory_bytes

    @classmethod
    def for_task(cls, task: dict) -> Filter | None:
        cpus, memory = reservations(task)
        return cls(cpus, memory) if cpus or memory else None

    def check(self, info: NodeInfo) -> bool:
        return self.nano_cpus <= info.nano_cpus and self.memory_bytes <= info.memory_bytes

    def explain(self, nodes: int) -> str:
        return f"insufficient resources {_on(nodes)}"


class ConstraintFilter(Filter):
    """All placement constraints AND-ed. Answers are cached per node: labels do not change
    during a pass."""

    def __init__(self, constraints: list[Constraint] | None) -> None:
        self.constraints = constraints  # None: unparseable, so no node qualifies
        self._cache: dict[str, bool] = {}

    @classmethod
    def for_task(cls, task: dict) -> Filter | None:
        exprs = _placement(task).get("Constraints") or []
        if not exprs:
            return None
        try:
            return cls(parse_constraints(list(exprs)))
        except SwarmletError:
            # The API validates constraints, so this is a damaged spec. SwarmKit would skip
            # the filter; placing nowhere is safer than placing where the user said not to.
            return cls(None)

    def check(self, info: NodeInfo) -> bool:
        hit = self._cache.get(info.id)
        if hit is None:
            hit = self.constraints is not None and node_matches(self.constraints, info.node)
            self._cache[info.id] = hit
        return hit

    def explain(self, nodes: int) -> str:
        return f"scheduling constraints not satisfied {_on(nodes)}"


def _arch(arch: str) -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(arch, arch)


class PlatformFilter(Filter):
    """The node's OS/architecture is one the image supports; an empty field is a wildcard."""

    def __init__(self, platforms: list[tuple[str, str]]) -> None:
        self.platforms = platforms

    @classmethod
    def for_task(cls, task: dict) -> Filter | None:
        platforms = [(str(p.get("OS") or ""), _arch(str(p.get("Architecture") or "")))
                     for p in _placement(task).get("Platforms") or []]
        return cls(platforms) if platforms else None

    def check(self, info: NodeInfo) -> bool:
        platform = (info.node.get("Description") or {}).get("Platform")
        if not platform:
            return False
        os_, arch = str(platform.get("OS") or ""), _arch(str(platform.get("Architecture") or ""))
        return any((not want_os or want_os == os_) and (not want_arch or want_arch == arch)
                   for want_os, want_arch in self.platforms)

    def explain(self, nodes: int) -> str:
        return f"unsupported platform {_on(nodes)}"


class HostPortFilter(Filter):
    """No host-mode published port of the task is taken on the node already."""

    static = False

    def __init__(self, ports: list[tuple[str, int]]) -> None:
        self.ports = ports

    @classmethod
    def for_task(cls, task: dict) -> Filter | None:
        ports = host_ports(task)
        return cls(ports) if ports else None

    def check(self, info: NodeInfo) -> bool:
        return info.host_ports.isdisjoint(self.ports)

    def explain(self, nodes: int) -> str:
        return f"host-mode port already in use {_on(nodes)}"


class MaxReplicasFilter(Filter):
    """Fewer than Placement.MaxReplicas active tasks of the service on the node."""

    static = False

    def __init__(self, service_id: str, limit: int) -> None:
        self.service_id, self.limit = service_id, limit

    @classmethod
    def for_task(cls, task: dict) -> Filter | None:
        limit = int(_placement(task).get("MaxReplicas") or 0)
        return cls(task.get("ServiceID", ""), limit) if limit > 0 else None

    def check(self, info: NodeInfo) -> bool:
        return info.tasks_by_service.get(self.service_id, 0) < self.limit

    def explain(self, nodes: int) -> str:
        return "max replicas per node limit exceed"  # sic: SwarmKit's text, without a count


FILTERS: tuple[type[Filter], ...] = (ReadyFilter, ResourceFilter, ConstraintFilter,
                                     PlatformFilter, HostPortFilter, MaxReplicasFilter)


class Pipeline:
    """The filters that apply to one task (or a group of identical tasks), in order."""

    def __init__(self, task: dict) -> None:
        self.filters = [f for cls in FILTERS if (f := cls.for_task(task)) is not None]
        # Filters whose answer changes as tasks are placed; only these need a re-check.
        self.dynamic = [f for f in self.filters if not f.static]

    def first_failure(self, info: NodeInfo) -> Filter | None:
        for f in self.filters:
            if not f.check(info):
                return f
        return None

    def passes(self, info: NodeInfo) -> bool:
        return all(f.check(info) for f in self.filters)

    def passes_dynamic(self, info: NodeInfo) -> bool:
        """For a node that passed every filter earlier in this pass."""
        return all(f.check(info) for f in self.dynamic)

    def explain(self, infos: Iterable[NodeInfo]) -> str:
        """Failures per filter over `infos`, most failures first (ties in pipeline order)."""
        counts: dict[int, int] = {}
        for info in infos:
            failed = self.first_failure(info)
            if failed is not None:
                index = self.filters.index(failed)
                counts[index] = counts.get(index, 0) + 1
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return "; ".join(self.filters[i].explain(n) for i, n in ranked)

    def unschedulable(self, infos: Iterable[NodeInfo]) -> str:
        return no_suitable_node(self.explain(infos))


def no_suitable_node(explanation: str) -> str:
    return f"no suitable node ({explanation})" if explanation else "no suitable node"
