"""The page's view of the swarm, built from the agent API's shapes: pure, no I/O.

Compact on purpose (it goes to every browser on every change): per node what its column
header shows, per task what its card shows. Only tasks meant to run are kept (desired state
not shutdown/remove), as the visualizer shows where work is, not its history.
"""

from __future__ import annotations

import hashlib
from typing import Any

from swarmlet.spec.event_times import rfc3339_nanos

Obj = dict[str, Any]

PALETTE_SIZE = 12  # colours in style.css (.svc-0 .. .svc-11)
GONE = {"shutdown", "remove"}  # desired states of tasks that are on their way out
ROLE_ORDER = {"manager": 0, "worker": 1}


def colour_index(service_id: str) -> int:
    """A service's colour, the same in every browser and after every restart."""
    return int.from_bytes(hashlib.sha1(service_id.encode()).digest()[:4], "big") % PALETTE_SIZE


def epoch(text: str | None) -> float | None:
    """An API timestamp (RFC 3339, up to nanoseconds) as seconds since the epoch."""
    nanos = rfc3339_nanos(text)
    return None if nanos is None else nanos / 1e9


def node_view(node: Obj) -> Obj:
    spec, status = node.get("Spec") or {}, node.get("Status") or {}
    manager = node.get("ManagerStatus") or {}
    return {
        "id": node["ID"],
        "hostname": (node.get("Description") or {}).get("Hostname") or node["ID"][:12],
        "role": spec.get("Role", "worker"),
        "leader": bool(manager.get("Leader")),
        "reachability": manager.get("Reachability", ""),
        "state": status.get("State", "unknown"),
        "availability": spec.get("Availability", "active"),
        "labels": dict(sorted((spec.get("Labels") or {}).items())),
        "addr": status.get("Addr", ""),
    }


def colours(services: list[Obj]) -> dict[str, int]:
    """A colour per service, different from the others' while there are colours left: each
    takes its own (colour_index), or the next free one, oldest service first, so a service
    keeps its colour while the older ones stay."""
    taken: dict[str, int] = {}
    for service in sorted(services, key=lambda s: (s.get("CreatedAt") or "", s["ID"])):
        colour = colour_index(service["ID"])
        used = set(taken.values())
        while colour in used and len(used) < PALETTE_SIZE:
            colour = (colour + 1) % PALETTE_SIZE
        taken[service["ID"]] = colour
    return taken


def service_view(service: Obj, colour: int) -> Obj:
    return {"id": service["ID"], "name": (service.get("Spec") or {}).get("Name", service["ID"]),
            "colour": colour}


def display_image(image: str) -> str:
    """The image as `service ls` shows it: without its digest."""
    return image.split("@", 1)[0]


def task_view(task: Obj, names: dict[str, str]) -> Obj:
    status = task.get("Status") or {}
    image = ((task.get("Spec") or {}).get("ContainerSpec") or {}).get("Image", "")
    return {
        "id": task["ID"],
        "service": task.get("ServiceID", ""),
        "name": names.get(task.get("ServiceID", ""), task.get("ServiceID", "")[:12]),
        "slot": task.get("Slot") or None,  # None for a global service's task
        "node": task.get("NodeID") or None,
        "image": display_image(image),
        "state": status.get("State", "new"),
        "desired": task.get("DesiredState", ""),
        "since": epoch(status.get("Timestamp")),
        "err": status.get("Err", ""),
    }


def build_snapshot(nodes: list[Obj], services: list[Obj], tasks: list[Obj]) -> Obj:
    """Nodes (managers first, then by hostname), services by name, and the tasks meant to
    run, ordered by service name and slot (a card keeps its place among its siblings)."""
    node_views = sorted((node_view(n) for n in nodes),
                        key=lambda n: (ROLE_ORDER.get(n["role"], 2), n["hostname"], n["id"]))
    palette = colours(services)
    service_views = sorted((service_view(s, palette[s["ID"]]) for s in services),
                           key=lambda s: (s["name"], s["id"]))
    names = {s["id"]: s["name"] for s in service_views}
    task_views = sorted((task_view(t, names) for t in tasks
                         if t.get("DesiredState", "") not in GONE),
                        key=lambda t: (t["name"], t["slot"] or 0, t["node"] or "", t["id"]))
    return {"nodes": node_views, "services": service_views, "tasks": task_views}
