# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""swarm_stack's and swarm_stack_info's pure part: what a stack plan of the agent (POST
/stacks/deploy, with or without ``dry_run``) means for ``changed``, the diff, the lines Docker's
``stack deploy`` would print, and the stack's objects and tasks in community.docker's shapes.

The plan is the agent's: each step is ``{Kind, Name, Action, ID, Diff}`` with Action one of
create, update, remove, unchanged (agent/swarmlet/manager/controlapi/stacks.py).
"""

from __future__ import annotations

NAMESPACE_LABEL = "com.docker.stack.namespace"
CHANGES = ("create", "update", "remove")
KINDS = ("network", "secret", "config", "service")


def has_changes(plan):
    return any(step.get("Action") in CHANGES for step in plan or [])


def deploy_lines(plan):
    """What ``docker stack deploy`` prints for the steps (RV(stdout))."""
    lines = []
    for step in plan or []:
        kind, name, action = step.get("Kind", ""), step.get("Name", ""), step.get("Action")
        if action == "create":
            lines.append(f"Creating {kind} {name}")
        elif action == "remove":
            lines.append(f"Removing {kind} {name}")
        elif kind == "service":
            lines.append(f"Updating service {name} (id: {step.get('ID', '')})")
    return lines


def plan_diff(plan):
    """Ansible's diff of a plan, by kind ("services", ...) and name: an object created is
    V(absent) before and V(present) after, one removed the reverse, and one updated shows the
    fields that change, each by its path in the spec."""
    before, after = {}, {}
    for step in plan or []:
        action = step.get("Action")
        if action not in CHANGES:
            continue
        group = step.get("Kind", "object") + "s"
        name = step.get("Name", "")
        if action == "update":
            changes = step.get("Diff") or []
            old = dict((c.get("Path", ""), c.get("Old")) for c in changes)
            new = dict((c.get("Path", ""), c.get("New")) for c in changes)
        else:
            old, new = ("absent", "present") if action == "create" else ("present", "absent")
        before.setdefault(group, {})[name] = old
        after.setdefault(group, {})[name] = new
    return {"before": before, "after": after}


def spec_changes(plan):
    """RV(stack_spec_diff): the field changes of every service the plan updates."""
    return dict((s.get("Name", ""), s.get("Diff") or []) for s in plan or []
                if s.get("Kind") == "service" and s.get("Action") == "update")


def services_to_wait_for(plan):
    """(ID or name, name) of the services a plan creates or updates."""
    return [(s.get("ID") or s.get("Name", ""), s.get("Name", "")) for s in plan or []
            if s.get("Kind") == "service" and s.get("Action") in ("create", "update")]


def in_stack(obj, name):
    return ((obj.get("Spec") or {}).get("Labels") or {}).get(NAMESPACE_LABEL) == name


def stack_objects(listings, name):
    """The objects of stack ``name`` in listings {kind: [objects]} as removal steps, in
    Docker's order of ``stack rm``: services, secrets, configs, networks."""
    steps = []
    for kind in ("service", "secret", "config", "network"):
        for obj in sorted(listings.get(kind) or [],
                          key=lambda o: (o.get("Spec") or {}).get("Name", "")):
            if in_stack(obj, name):
                steps.append({"Kind": kind, "Name": (obj.get("Spec") or {}).get("Name", ""),
                              "ID": obj.get("ID", ""), "Action": "remove"})
    return steps


def stack_summaries(services):
    """docker_stack_info's RV(results): one ``{Name, Services}`` per stack (Services a
    string, as ``docker stack ls --format '{{json .}}'`` prints it), sorted by name."""
    counts = {}
    for service in services:
        name = ((service.get("Spec") or {}).get("Labels") or {}).get(NAMESPACE_LABEL)
        if name is not None:
            counts[name] = counts.get(name, 0) + 1
    return [{"Name": name, "Services": str(counts[name])} for name in sorted(counts)]


def _pretty(word):
    return (word or "")[:1].upper() + (word or "")[1:]


def stack_task(task, service_names, hostnames):
    """One task as docker_stack_task_info's RV(results) shows it (``docker stack ps --format
    '{{json .}}'``), with full IDs and CurrentState without the "... ago" that would change
    from one run to the next."""
    status = task.get("Status") or {}
    service = service_names.get(task.get("ServiceID"), task.get("ServiceID", ""))
    slot = task.get("Slot") or task.get("NodeID") or ""
    ports = ((status.get("PortStatus") or {}).get("Ports")) or []
    return {
        "ID": task.get("ID", ""),
        "Name": f"{service}.{slot}",
        "Image": ((task.get("Spec") or {}).get("ContainerSpec") or {}).get("Image", ""),
        "Node": hostnames.get(task.get("NodeID") or "", task.get("NodeID") or ""),
        "DesiredState": _pretty(task.get("DesiredState")),
        "CurrentState": _pretty(status.get("State")),
        "Error": status.get("Err") or "",
        "Ports": ",".join(f"*:{p.get('PublishedPort')}->{p.get('TargetPort')}/"
                          f"{p.get('Protocol', 'tcp')}" for p in ports),
    }
