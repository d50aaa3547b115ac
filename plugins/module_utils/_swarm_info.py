# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Pure helpers of swarm_info: the trimmed records of nodes, services and tasks (the ones
community.docker's docker_swarm_info returns) and Docker's list filters, applied client-side.

Standard library only and no I/O, so that tests/unit can test them without a swarm.
"""

from __future__ import annotations

from ansible_collections.swarmlet.swarm.plugins.module_utils._node import node_hostname

NODE_FILTERS = ("id", "name", "role", "label", "availability")
SERVICE_FILTERS = ("id", "name", "label", "mode")
TASK_FILTERS = ("id", "name", "service", "node", "desired-state")


class FilterError(ValueError):
    pass


def _values(value):
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def normalize_filters(filters, allowed, option):
    """{key: [values]} of a filters dict; FilterError naming an unknown key."""
    result = {}
    for key, value in (filters or {}).items():
        if key not in allowed:
            raise FilterError(f"{option}: invalid filter '{key}' (supported: "
                              f"{', '.join(allowed)})")
        if value is None:
            continue
        result[key] = _values(value)
    return result


def _label_matches(labels, wanted):
    key, sep, value = wanted.partition("=")
    if key not in (labels or {}):
        return False
    return not sep or labels[key] == value


def _matches(filters, tests):
    """Values of one key are OR-ed, different keys AND-ed (Docker's filter rules)."""
    return all(any(tests[key](v) for v in values) for key, values in filters.items())


# --- nodes ----------------------------------------------------------------------------------


def node_matches(node, filters):
    spec = node.get("Spec") or {}
    return _matches(filters, {
        "id": lambda v: node.get("ID", "").startswith(v),
        "name": lambda v: node_hostname(node).startswith(v),
        "role": lambda v: spec.get("Role") == v,
        "label": lambda v: _label_matches(spec.get("Labels"), v),
        "availability": lambda v: spec.get("Availability") == v,
    })


def manager_status(node):
    """Reachability of a manager, ``Leader`` for the leader, None for a worker."""
    status = node.get("ManagerStatus")
    if not status:
        return None
    if status.get("Leader"):
        return "Leader"
    return status.get("Reachability")


def node_essentials(node):
    description = node.get("Description") or {}
    return {
        "ID": node.get("ID"),
        "Hostname": description.get("Hostname"),
        "Status": (node.get("Status") or {}).get("State"),
        "Availability": (node.get("Spec") or {}).get("Availability"),
        "ManagerStatus": manager_status(node),
        "EngineVersion": (description.get("Engine") or {}).get("EngineVersion"),
    }


# --- services -------------------------------------------------------------------------------


def service_mode(service):
    """Replicated, Global, ReplicatedJob or GlobalJob (job modes do not break the listing)."""
    mode = (service.get("Spec") or {}).get("Mode") or {}
    for key in ("Replicated", "Global", "ReplicatedJob", "GlobalJob"):
        if key in mode:
            return key
    return None


def service_matches(service, filters):
    spec = service.get("Spec") or {}
    return _matches(filters, {
        "id": lambda v: service.get("ID", "").startswith(v),
        "name": lambda v: spec.get("Name", "").startswith(v),
        "label": lambda v: _label_matches(spec.get("Labels"), v),
        "mode": lambda v: (service_mode(service) or "").lower() == v.lower(),
    })


def service_essentials(service):
    spec = service.get("Spec") or {}
    mode = service_mode(service)
    replicas = None
    if mode in ("Replicated", "ReplicatedJob"):
        replicas = (spec["Mode"][mode] or {}).get(
            "Replicas" if mode == "Replicated" else "TotalCompletions", 1)
    elif service.get("ServiceStatus"):
        replicas = service["ServiceStatus"].get("DesiredTasks")
    return {
        "ID": service.get("ID"),
        "Name": spec.get("Name"),
        "Mode": mode,
        "Replicas": replicas,
        "Image": ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image"),
        "Ports": list((spec.get("EndpointSpec") or {}).get("Ports") or []),
    }


# --- tasks ----------------------------------------------------------------------------------


def task_name(task, service_names):
    service = service_names.get(task.get("ServiceID"), task.get("ServiceID"))
    if task.get("Slot"):
        return f"{service}.{task['Slot']}"
    return f"{service}.{task.get('NodeID')}"


def _refers_to(ref, object_id, name):
    """A reference by name, ID or ID prefix, as Docker resolves SERVICE and NODE."""
    return bool(ref) and (ref == name or object_id.startswith(ref))


def task_matches(task, filters, services, nodes):
    """``services``/``nodes``: ID -> name, to match references by name, ID or ID prefix."""
    service_id, node_id = task.get("ServiceID", ""), task.get("NodeID") or ""
    return _matches(filters, {
        "id": lambda v: task.get("ID", "").startswith(v),
        "name": lambda v: task_name(task, services).startswith(v),
        "service": lambda v: _refers_to(v, service_id, services.get(service_id)),
        "node": lambda v: bool(node_id) and _refers_to(v, node_id, nodes.get(node_id)),
        "desired-state": lambda v: task.get("DesiredState") == v,
    })


def task_essentials(task, services, nodes):
    status = task.get("Status") or {}
    return {
        "ID": task.get("ID"),
        "Name": task_name(task, services),
        "ServiceID": task.get("ServiceID"),
        "ContainerID": (status.get("ContainerStatus") or {}).get("ContainerID"),
        "Image": ((task.get("Spec") or {}).get("ContainerSpec") or {}).get("Image"),
        "Node": nodes.get(task.get("NodeID") or "") or task.get("NodeID") or None,
        "DesiredState": task.get("DesiredState"),
        "CurrentState": status.get("State"),
        "Error": status.get("Err") or None,
    }
