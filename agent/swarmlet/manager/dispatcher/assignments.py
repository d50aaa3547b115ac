"""What each node is assigned, computed from one view of the store shared by every node.

The view is read once per store index, atomically and without copies, not once per node:
a change wakes every waiting node, and each computes its own sections from the same lists,
indexed by node.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from swarmlet.manager.allocator import network_objects as N
from swarmlet.manager.dispatcher import (
    assignment_networks,
    assignment_ports,
    assignment_secrets,
    assignment_services,
)
from swarmlet.manager.dispatcher import attachments as NA
from swarmlet.manager.sealing import DataKeys
from swarmlet.store.state import View

Obj = dict[str, Any]


class StoreReader(Protocol):
    @property
    def index(self) -> int: ...

    def view(self, kinds: list[str] | None = None) -> View: ...


@dataclass
class AssignmentView:
    index: int
    nodes: list[Obj]
    tasks: list[Obj]
    networks: list[Obj]
    services: list[Obj]
    attachments: list[Obj]  # allocated ones
    data: dict[str, list[Obj]]  # sealed secrets and configs
    previous_peers: assignment_networks.PeerIndex | None = None
    previous_shared: tuple[Shared, tuple[tuple[Obj, ...], ...]] | None = None
    tasks_by_node: dict[str, list[Obj]] = field(init=False)
    nodes_by_id: dict[str, Obj] = field(init=False)
    ingress: str | None = field(init=False)
    attachable: list[Obj] = field(init=False)
    peers: assignment_networks.PeerIndex = field(init=False)
    shared: Shared = field(init=False)
    shared_parts: tuple[tuple[Obj, ...], ...] = field(init=False)
    # Services by the set of networks a node is on: most nodes of a swarm share one set.
    _services: dict[frozenset[str], list[Obj]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        by_node: dict[str, list[Obj]] = defaultdict(list)
        for task in self.tasks:
            by_node[task.get("NodeID") or ""].append(task)
        self.tasks_by_node = dict(by_node)
        self.nodes_by_id = {n["ID"]: n for n in self.nodes}
        self.ingress = next((n["ID"] for n in self.networks
                             if (n.get("Spec") or {}).get("Ingress")), None)
        self.attachable = [N.attachment_copy(n) for n in self.networks
                           if n["Spec"].get("Attachable")]
        self.peers = assignment_networks.PeerIndex(self.nodes, self.tasks, self.attachments,
                                                   self.previous_peers)
        self.previous_peers = None  # only the last view is kept, not a chain of them
        self.shared_parts = Shared.parts(self)
        previous = self.previous_shared
        self.shared = previous[0] if previous is not None and \
            same_objects(previous[1], self.shared_parts) else Shared()
        self.previous_shared = None

    def services_on(self, network_ids: frozenset[str]) -> list[Obj]:
        found = self._services.get(network_ids)
        if found is None:
            found = self._services[network_ids] = assignment_services.node_services(
                network_ids, self.services, self.tasks, self.ingress)
        return found

    @classmethod
    def read(cls, store: StoreReader, previous: AssignmentView | None = None) -> AssignmentView:
        """One atomic read of the store, not copied (store/state.py View): the objects are
        the store's own, shared by every node's answer and never changed."""
        kinds = ["node", "task", "network", "service", "attachment",
                 *assignment_secrets.KINDS]
        index, objects = store.view(kinds)
        return cls(index, objects["node"], objects["task"], objects["network"],
                   objects["service"],
                   [a for a in objects["attachment"] if NA.is_allocated(a)],
                   {k: objects[k] for k in assignment_secrets.KINDS},
                   previous.peers if previous is not None else None,
                   (previous.shared, previous.shared_parts) if previous is not None else None)


class Shared:
    """A token for what every node's sections are computed from, apart from its own node
    object and its networks' peers: the tasks, networks, services, attachments, secrets
    and configs, as the store's own objects. A view whose lists hold the very same objects
    as the previous view's keeps the previous token, so `is` tells that none of them
    changed (a stored object is never changed in place: a write stores a new one). The
    token holds nothing: what a node was last sent pins no old objects through it."""

    __slots__ = ()

    @staticmethod
    def parts(view: AssignmentView) -> tuple[tuple[Obj, ...], ...]:
        return (tuple(view.tasks), tuple(view.networks), tuple(view.services),
                tuple(view.attachments), *(tuple(view.data.get(k) or ())
                                           for k in assignment_secrets.KINDS))


def same_objects(old: tuple[Any, ...], new: tuple[Any, ...]) -> bool:
    """Whether two tuples hold the very same objects, nested tuples compared the same way."""
    if len(old) != len(new):
        return False
    for a, b in zip(old, new, strict=True):
        if a is b:
            continue
        if not (type(a) is tuple and type(b) is tuple and same_objects(a, b)):
            return False
    return True


def node_inputs(view: AssignmentView, node_id: str, *more: object) -> tuple[object, ...]:
    """Everything one node's sections are computed from (node_assignments), as objects:
    while a later view gives the very same objects (same_objects), the node's sections are
    the same and need no computing. `more`: what else they depend on (the log broker's
    state). A join or a heartbeat's news about another node changes none of these."""
    node = view.nodes_by_id.get(node_id)
    on = N.attachment_addresses((node or {}).get("Attachments"))
    return (view.shared, node, *more, *(view.peers.peers(n, node_id) for n in on))


def node_assignments(view: AssignmentView, node_id: str, data_key: DataKeys,
                     log_subscriptions: Callable[[set[str]], list[Obj]],
                     ) -> dict[str, list[Obj]]:
    """The sections of one node's assignments (protocol/assignments.py names them)."""
    mine = assignment_networks.sendable(view.tasks_by_node.get(node_id, []),
                                        view.nodes_by_id.get(node_id))
    networks = assignment_networks.node_networks(node_id, mine, view.nodes, view.networks,
                                                 view.tasks, view.attachments, view.peers)
    services = view.services_on(frozenset(n["Network"]["ID"] for n in networks))
    return {
        "Tasks": mine,
        "Networks": networks,
        "Services": services,
        "HostPorts": assignment_ports.host_ports(node_id, view.tasks_by_node.get(node_id, [])),
        "Secrets": assignment_secrets.node_data(mine, view.data, data_key),
        "Attachments": [a for a in view.attachments if a.get("NodeID") == node_id],
        "AttachableNetworks": view.attachable,
        "LogSubscriptions": log_subscriptions({t["ServiceID"] for t in mine}),
    }
