"""How `service ls`, `service ps`, `node ps` and `service inspect --pretty` show things: pure
functions from API objects to rows and text, as Docker's formatters do."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from swarmlet.cli.templates import Listing
from swarmlet.cli.units import bytes_size, cpus_text, duration_text, human_duration
from swarmlet.errors import SwarmletError

Obj = dict[str, Any]
LS_HEADER = ["ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS"]
LS_KEYS = ["ID", "Name", "Mode", "Replicas", "Image", "Ports"]
PS_HEADER = ["ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR", "PORTS"]
PS_KEYS = ["ID", "Name", "Image", "Node", "DesiredState", "CurrentState", "Error", "Ports"]
SERVICE_LS = Listing("table {{.ID}}\t{{.Name}}\t{{.Mode}}\t{{.Replicas}}\t{{.Image}}\t{{.Ports}}",
                     dict(zip(LS_KEYS, LS_HEADER, strict=True)), "*service.serviceContext")
TASK_PS = Listing("table {{.ID}}\t{{.Name}}\t{{.Image}}\t{{.Node}}\t{{.DesiredState}}\t"
                  "{{.CurrentState}}\t{{.Error}}\t{{.Ports}}",
                  dict(zip(PS_KEYS, PS_HEADER, strict=True)), "*task.taskContext")
TASK_STATES = ("new", "allocated", "pending", "assigned", "accepted", "preparing", "ready",
               "starting", "running", "complete", "shutdown", "failed", "rejected", "remove",
               "orphaned")
TASK_FILTERS = ("id", "name", "node", "desired-state")
MAX_ERR_LENGTH = 30
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def truncate_id(object_id: str) -> str:
    return object_id[:12]


def pretty_print(word: str) -> str:
    """Docker's PrettyPrint: the first letter upper-cased."""
    return word[:1].upper() + word[1:]


def display_image(image: str) -> str:
    """An image as ls/ps show it: a tagged reference loses its digest and docker.io prefix."""
    name = image.partition("@")[0]
    if ":" not in name.rsplit("/", 1)[-1]:
        return image  # not tagged: Docker shows it as it is
    library = "docker.io/library/"
    if name.startswith(library) and "/" not in name[len(library):]:
        return name[len(library):]
    return name.removeprefix("docker.io/")


def parse_time(text: str | None) -> datetime:
    if not text:
        return EPOCH
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return EPOCH
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def go_time(text: str) -> str:
    """An API timestamp as Go's time.Time prints it (network ls's CreatedAt):
    2026-01-01T10:00:00.5Z -> 2026-01-01 10:00:00.5 +0000 UTC."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    if not m:
        return text
    day, clock, fraction, zone = m.groups()
    fraction = (fraction or "")[:9].rstrip("0")
    offset = "+0000 UTC" if zone == "Z" else f"{zone.replace(':', '')} {zone.replace(':', '')}"
    return f"{day} {clock}{'.' + fraction if fraction else ''} {offset}"


# --- service ls -------------------------------------------------------------------------


MODE_WORDS = {"Global": "global", "Replicated": "replicated", "ReplicatedJob": "replicated job",
              "GlobalJob": "global job"}


def service_mode(service: Obj) -> str:
    mode = service.get("Spec", {}).get("Mode", {})
    return next((word for key, word in MODE_WORDS.items() if key in mode), "")


def replicas_text(service: Obj, tasks: list[Obj] | None = None) -> str:
    """running/desired, from ServiceStatus (or counted from the service's tasks); a job's
    adds its completions, as Docker's: "1/2 (3/5 completed)"."""
    status = service.get("ServiceStatus")
    if service_mode(service).endswith(" job"):
        return _job_text(service, status or {})
    if status is not None:
        running, desired = status.get("RunningTasks", 0), status.get("DesiredTasks", 0)
    else:
        tasks = [t for t in tasks or [] if t.get("ServiceID") == service["ID"]]
        running = sum(1 for t in tasks if t.get("DesiredState") == "running"
                      and t.get("Status", {}).get("State") == "running")
        if service_mode(service) == "global":
            desired = sum(1 for t in tasks if t.get("DesiredState") == "running")
        else:
            desired = service["Spec"]["Mode"]["Replicated"].get("Replicas", 1)
    max_per_node = service["Spec"].get("TaskTemplate", {}).get("Placement", {}).get(
        "MaxReplicas", 0)
    if service_mode(service) == "replicated" and max_per_node:
        return f"{running}/{desired} (max {max_per_node} per node)"
    return f"{running}/{desired}"


def _job_text(service: Obj, status: Obj) -> str:
    running, desired = status.get("RunningTasks", 0), status.get("DesiredTasks", 0)
    completed = status.get("CompletedTasks", 0)
    job = service["Spec"]["Mode"].get("ReplicatedJob")
    total = desired + completed if job is None else job.get("TotalCompletions", 0)
    return f"{running}/{desired} ({completed}/{total} completed)"


def service_ports(service: Obj) -> list[Obj]:
    ports = service.get("Endpoint", {}).get("Ports")
    if ports is None:
        ports = (service.get("Spec", {}).get("EndpointSpec") or {}).get("Ports") or []
    return ports


def ports_text(ports: list[Obj]) -> str:
    """Published ingress ports, consecutive ones grouped: "*:8080->80/tcp, *:30000-30001->..."."""
    ingress = sorted((p for p in ports if p.get("PublishMode", "ingress") == "ingress"),
                     key=lambda p: (p.get("Protocol", "tcp"), p.get("PublishedPort", 0)))
    groups: list[list[Any]] = []  # [pub_start, pub_end, tgt_start, tgt_end, protocol]
    for p in ingress:
        pub, tgt, proto = p.get("PublishedPort", 0), p.get("TargetPort", 0), p.get(
            "Protocol", "tcp")
        last = groups[-1] if groups else None
        if (last is None or proto != last[4] or pub - last[1] not in (0, 1)
                or tgt - last[3] not in (0, 1) or (last[3] != last[2] and tgt <= last[3])):
            groups.append([pub, pub, tgt, tgt, proto])
        else:
            last[1], last[3] = pub, tgt
    return ", ".join(f"*:{_span(g[0], g[1])}->{_span(g[2], g[3])}/{g[4]}" for g in groups
                     if g[0] > 0)


def _span(start: int, end: int) -> str:
    return f"{start}-{end}" if end > start else str(start)


def service_row(service: Obj, tasks: list[Obj] | None = None) -> Obj:
    """A service as `service ls` shows it, keyed by Docker's --format json names."""
    image = service["Spec"].get("TaskTemplate", {}).get("ContainerSpec", {}).get("Image", "")
    return {"ID": truncate_id(service["ID"]), "Name": service["Spec"].get("Name", ""),
            "Mode": service_mode(service), "Replicas": replicas_text(service, tasks),
            "Image": display_image(image), "Ports": ports_text(service_ports(service))}


def service_rows(services: list[Obj], tasks: list[Obj] | None = None) -> list[Obj]:
    ordered = sorted(services, key=lambda s: natural_key(s["Spec"].get("Name", "")))
    return [service_row(s, tasks) for s in ordered]


def natural_key(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


# --- service ps / node ps ---------------------------------------------------------------


def task_name(task: Obj, service_names: dict[str, str]) -> str:
    service = service_names.get(task["ServiceID"], task["ServiceID"])
    return f"{service}.{task['Slot']}" if task.get("Slot") else f"{service}.{task.get('NodeID')}"


def current_state(task: Obj, now: datetime) -> str:
    status = task.get("Status", {})
    return f"{pretty_print(status.get('State', ''))} {ago(status.get('Timestamp'), now).lower()}"


def error_text(err: str, trunc: bool) -> str:
    if trunc and len(err) > MAX_ERR_LENGTH:
        err = err[:MAX_ERR_LENGTH - 1] + "…"
    return f'"{err}"' if err else ""


def task_ports(task: Obj) -> str:
    """Host-mode ports of a task: what its node reported (PortStatus), else, while it runs,
    the host-mode ports of its endpoint that have a number."""
    ports = task.get("Status", {}).get("PortStatus", {}).get("Ports") or []
    if not ports and task.get("Status", {}).get("State") == "running":
        ports = [p for p in (task.get("Endpoint") or {}).get("Ports") or []
                 if p.get("PublishMode") == "host" and p.get("PublishedPort")]
    return ",".join(f"*:{p.get('PublishedPort')}->{p.get('TargetPort')}/{p.get('Protocol')}"
                    for p in ports)


def task_rows(tasks: list[Obj], service_names: dict[str, str], node_names: dict[str, str],
              now: datetime, trunc: bool = True, indent: bool = True) -> list[Obj]:
    """Rows of `service ps`: per slot (natural order), newest first; older tasks of a slot
    named ` \\_ <name>` when `indent` (table output)."""
    named = [(task_name(t, service_names), t) for t in tasks]
    named.sort(key=lambda nt: (parse_time(nt[1].get("CreatedAt")),
                               (nt[1].get("Version") or {}).get("Index", 0)), reverse=True)
    named.sort(key=lambda nt: natural_key(nt[0]))
    rows, previous = [], None
    for name, task in named:
        image = task.get("Spec", {}).get("ContainerSpec", {}).get("Image", "")
        rows.append({
            "ID": truncate_id(task["ID"]) if trunc else task["ID"],
            "Name": f" \\_ {name}" if indent and name == previous else name,
            "Image": display_image(image) if trunc else image,
            "Node": node_names.get(task.get("NodeID") or "", task.get("NodeID") or ""),
            "DesiredState": pretty_print(task.get("DesiredState", "")),
            "CurrentState": current_state(task, now),
            "Error": error_text(task.get("Status", {}).get("Err", ""), trunc),
            "Ports": task_ports(task),
        })
        previous = name
    return rows


def filter_flags(values: list[str], known: Iterable[str]) -> dict[str, list[str]]:
    """`--filter k=v` flags by key, in Docker's words for a bad one."""
    filters: dict[str, list[str]] = {}
    for value in values:
        key, sep, arg = value.partition("=")
        if not sep:
            raise SwarmletError(f"bad format of filter (expected name=value): {value}")
        key = key.strip().lower()
        if key not in known:
            raise SwarmletError(f"invalid filter '{key}'")
        filters.setdefault(key, []).append(arg)
    return filters


def parse_filters(values: list[str]) -> dict[str, list[str]]:
    """`--filter` of `service ps` and `stack ps`."""
    filters = filter_flags(values, TASK_FILTERS)
    for arg in filters.get("desired-state", []):
        if arg.lower() not in TASK_STATES:
            raise SwarmletError(f"Invalid desired-state filter: '{arg}'")
    return {key: [arg.strip() for arg in args] for key, args in filters.items()}


def filter_tasks(tasks: list[Obj], filters: dict[str, list[str]],
                 service_names: dict[str, str], node_names: dict[str, str]) -> list[Obj]:
    """Docker's task filters: values of one key are OR-ed, different keys AND-ed."""
    def node_matches(task: Obj, ref: str) -> bool:
        node_id = task.get("NodeID") or ""
        return bool(node_id) and (ref in (node_id, node_names.get(node_id))
                                  or node_id.startswith(ref))

    def keep(task: Obj) -> bool:
        full_name = f"{task_name(task, service_names)}.{task['ID']}"
        tests = {
            "id": lambda v: task["ID"].startswith(v),
            "name": lambda v: full_name.startswith(v),
            "node": lambda v: node_matches(task, v),
            "desired-state": lambda v: task.get("DesiredState") == v.lower(),
        }
        return all(any(tests[key](v) for v in values) for key, values in filters.items())

    return [t for t in tasks if keep(t)]


# --- service inspect --pretty -----------------------------------------------------------


def pretty_service(service: Obj, now: datetime | None = None,
                   network_names: dict[str, str] | None = None) -> str:
    """Docker's `service inspect --pretty` text; `network_names` names networks by ID."""
    now = now or datetime.now(UTC)
    names = network_names or {}
    spec = service["Spec"]
    task = spec.get("TaskTemplate", {})
    container = task.get("ContainerSpec", {})
    lines = ["", f"ID:\t\t{service['ID']}", f"Name:\t\t{spec.get('Name', '')}"]
    if spec.get("Labels"):
        lines.append("Labels:")
        lines += [f" {k}={v}" if v else f" {k}" for k, v in sorted(spec["Labels"].items())]
    mode = spec.get("Mode") or {}  # a stored spec may be malformed: show what is there
    if "Global" in mode:
        lines.append("Service Mode:\tGlobal")
    elif "ReplicatedJob" in mode or "GlobalJob" in mode:  # Docker's template names neither
        lines.append("Service Mode:")
    else:
        lines.append("Service Mode:\tReplicated")
        if (mode.get("Replicated") or {}).get("Replicas") is not None:
            lines.append(f" Replicas:\t{mode['Replicated']['Replicas']}")
    lines += _update_status_lines(service.get("UpdateStatus") or {}, now)
    lines += control_error_lines(service.get("ControlError"), now)
    lines += _placement_lines(task.get("Placement") or {})
    lines += _policy_lines("UpdateConfig", "Update order:     ", spec.get("UpdateConfig"))
    lines += _policy_lines("RollbackConfig", "Rollback order:   ", spec.get("RollbackConfig"))
    lines += _restart_lines(task.get("RestartPolicy"))
    lines += ["ContainerSpec:", f" Image:\t\t{container.get('Image', '')}"]
    for key in ("Args", "Env"):
        if container.get(key):
            lines.append(f" {key}:\t\t{' '.join(container[key])}")
    if container.get("Dir"):
        lines.append(f" Dir:\t\t{container['Dir']}")
    if container.get("User"):
        lines.append(f" User: {container['User']}")
    if container.get("Mounts"):
        lines.append("Mounts:")
    for mount in container.get("Mounts") or []:
        lines += [f" Target:\t{mount.get('Target', '')}",
                  f"  Source:\t{mount.get('Source', '')}",
                  f"  ReadOnly:\t{str(bool(mount.get('ReadOnly'))).lower()}",
                  f"  Type:\t\t{mount.get('Type', '')}"]
    for kind in ("Secret", "Config"):  # Docker's: the target, then where it comes from
        if container.get(f"{kind}s"):
            lines.append(f"{kind}s:")
        for ref in container.get(f"{kind}s") or []:
            lines += [f" Target:\t{ref['File']['Name']}",
                      f"  Source:\t{ref.get(f'{kind}Name', '')}"]
    lines += _resource_lines(task.get("Resources") or {})
    networks = [names.get(n.get("Target", ""), n.get("Target", ""))
                for n in task.get("Networks") or []]
    if networks:
        lines.append("Networks: " + " ".join(networks))
    lines.append(f"Endpoint Mode:\t{(spec.get('EndpointSpec') or {}).get('Mode', 'vip')}")
    if service_ports(service):
        lines.append("Ports:")
        for p in service_ports(service):
            lines += [f" PublishedPort = {p.get('PublishedPort', 0)}",
                      f"  Protocol = {p.get('Protocol', 'tcp')}",
                      f"  TargetPort = {p.get('TargetPort', 0)}",
                      f"  PublishMode = {p.get('PublishMode', 'ingress')}"]
    vips = (service.get("Endpoint") or {}).get("VirtualIPs") or []
    if vips:  # not in Docker's text: the addresses its DNS answers with
        lines.append("Virtual IPs:")
        lines += [f" {names.get(v.get('NetworkID', ''), v.get('NetworkID', ''))}: "
                  f"{v.get('Addr', '')}" for v in vips]
    lines += _health_lines(container.get("Healthcheck"))
    return "\n".join(line.rstrip() for line in lines)


def _update_status_lines(status: Obj, now: datetime) -> list[str]:
    """Docker's UpdateStatus block: state, when it started (and completed), the message."""
    if not status.get("State"):
        return []
    lines = ["UpdateStatus:", f" State:\t\t{status['State']}"]
    if status.get("StartedAt"):
        lines.append(f" Started:\t{ago(status['StartedAt'], now)}")
    if status["State"] == "completed" and status.get("CompletedAt"):
        lines.append(f" Completed:\t{ago(status['CompletedAt'], now)}")
    return [*lines, f" Message:\t{status.get('Message', '')}"]


def control_error_lines(error: Obj | None, now: datetime) -> list[str]:
    """The failure the manager's control pass recorded on the object (not in Docker's text:
    a stage that could not process it, since when, and why)."""
    if not isinstance(error, dict):
        return []
    return ["ControlError:", f" Stage:\t\t{error.get('Stage', '')}",
            f" Since:\t\t{ago(error.get('Since'), now)}",
            f" Message:\t{error.get('Message', '')}"]


def ago(timestamp: str | None, now: datetime) -> str:
    """Docker's "<HumanDuration> ago" ("9 seconds ago", "About a minute ago")."""
    return f"{human_duration((now - parse_time(timestamp)).total_seconds())} ago"


def _policy_lines(title: str, order_label: str, config: Obj | None) -> list[str]:
    """Docker's UpdateConfig / RollbackConfig blocks (delay and monitor only when set)."""
    if config is None:
        return []
    lines = [f"{title}:", f" Parallelism:\t{config.get('Parallelism', 0)}"]
    if _positive(config.get("Delay")):
        lines.append(f" Delay:\t\t{_duration(config['Delay'])}")
    lines.append(f" On failure:\t{config.get('FailureAction', '')}")
    if _positive(config.get("Monitor")):
        lines.append(f" Monitoring Period: {_duration(config['Monitor'])}")
    return [*lines, f" Max failure ratio: {float_text(config.get('MaxFailureRatio', 0))}",
            f" {order_label} {config.get('Order', '')}"]


def _duration(nanos: Any) -> str:
    return duration_text(int(nanos)) if isinstance(nanos, int | float) else str(nanos)


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and value > 0


def float_text(value: float) -> str:
    """A float as Go's %v prints it: 0, 0.2, 1 (anything else as it is)."""
    if not isinstance(value, int | float):
        return str(value)
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _placement_lines(placement: Obj) -> list[str]:
    lines = ["Placement:"]
    if placement.get("Constraints"):
        lines.append(f" Constraints:\t[{' '.join(placement['Constraints'])}]")
    prefs = ["spread=" + p["Spread"]["SpreadDescriptor"]
             for p in placement.get("Preferences") or [] if p.get("Spread")]
    if prefs:
        lines.append(f" Preferences:   [{' '.join(prefs)}]")
    if placement.get("MaxReplicas"):
        lines.append(f" Max Replicas Per Node:   {placement['MaxReplicas']}")
    return lines


def _restart_lines(policy: Obj | None) -> list[str]:
    if not policy:
        return []
    lines = ["RestartPolicy:", f" Condition:\t{policy.get('Condition', 'any')}"]
    if "Delay" in policy:
        lines.append(f" Delay:\t\t{_duration(policy['Delay'])}")
    lines.append(f" Max Attempts:\t{policy.get('MaxAttempts', 0)}")
    if policy.get("Window"):
        lines.append(f" Window:\t{_duration(policy['Window'])}")
    return lines


def _resource_lines(resources: Obj) -> list[str]:
    lines: list[str] = []
    for key, label in (("Reservations", "Reservations"), ("Limits", "Limits")):
        values = resources.get(key) or {}
        if not values.get("NanoCPUs") and not values.get("MemoryBytes"):
            continue
        lines.append(f" {label}:")
        if values.get("NanoCPUs"):
            lines.append(f"  CPU:\t\t{cpus_text(values['NanoCPUs'])}")
        if values.get("MemoryBytes"):
            lines.append(f"  Memory:\t{bytes_size(values['MemoryBytes'])}")
    return ["Resources:", *lines] if lines else []


def _health_lines(health: Obj | None) -> list[str]:
    if not health:
        return []
    lines = [" Healthcheck:", f"  Interval = {duration_text(health.get('Interval', 0))}",
             f"  Retries = {health.get('Retries', 0)}",
             f"  StartPeriod =\t{duration_text(health.get('StartPeriod', 0))}",
             f"  Timeout =\t{duration_text(health.get('Timeout', 0))}"]
    if health.get("Test"):
        lines.append("  Tests:")
        lines += [f"\t Test = {test}" for test in health["Test"]]
    return lines
