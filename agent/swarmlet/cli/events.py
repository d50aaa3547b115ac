"""`swarmlet events`: the swarm's events as they happen, Docker's `docker events` for the
swarm's objects (Type service, node, task, network, secret, config; scope swarm), from the
manager the CLI talks to. Without --since, only what happens from now on; with --until, the
stream ends at that time."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from swarmlet.cli.service_format import filter_flags
from swarmlet.cli.templates import compile_template
from swarmlet.client import Client
from swarmlet.errors import SwarmletError
from swarmlet.spec.event_times import parse_event_time, unix_time
from swarmlet.spec.gotemplate.exec import Executor
from swarmlet.spec.gotemplate.funcs import FUNCTIONS
from swarmlet.spec.gotemplate.nodes import TemplateError

FILTERS = ("config", "event", "label", "network", "node", "scope", "secret", "service", "task",
           "type")
TYPES = ("config", "network", "node", "secret", "service", "task")


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("events", help="Get real-time events from the swarm")
    p.add_argument("--since", help="Show all events created since timestamp (Unix seconds, "
                                   "RFC 3339 date, or a duration before now: 10m)")
    p.add_argument("--until", help="Stream events until this timestamp")
    p.add_argument("-f", "--filter", action="append", default=[],
                   help="Filter output based on conditions provided (type=service|node|task|"
                        "network|secret|config, service=NAME, node=, event=, ...)")
    p.add_argument("--format", default="",
                   help="Format the output: 'json' (one object per line) or a Go template")
    p.set_defaults(run=cmd_events)


def query(args: argparse.Namespace, now_ns: int) -> dict[str, str]:
    """The /events query of the flags; SwarmletError naming a bad one."""
    filters = filter_flags(args.filter, FILTERS)
    for kind in filters.get("type", []):
        if kind not in TYPES:
            raise SwarmletError(f"invalid filter 'type={kind}': the swarm's event types "
                                f"are {', '.join(TYPES)}")
    out = {"filters": json.dumps(filters)} if filters else {}
    for key in ("since", "until"):
        value = getattr(args, key)
        if value:
            try:
                nanos = parse_event_time(value, now_ns)
            except ValueError as exc:
                raise SwarmletError(f"invalid value for --{key}: {exc}") from None
            out[key] = unix_time(nanos)
    return out


def default_line(event: dict[str, Any]) -> str:
    """Docker's: time (RFC 3339 with nanoseconds), type, action, ID, (attributes sorted)."""
    nanos = event.get("timeNano") or event.get("time", 0) * 1_000_000_000
    when = datetime.fromtimestamp(nanos // 1_000_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    attributes = event["Actor"].get("Attributes") or {}
    shown = ", ".join(f"{k}={attributes[k]}" for k in sorted(attributes))
    line = f"{when}.{nanos % 1_000_000_000:09d}Z {event['Type']} {event['Action']} " \
           f"{event['Actor']['ID']}"
    return f"{line} ({shown})" if shown else line


def formatter(fmt: str) -> Callable[[dict[str, Any]], str]:
    if fmt == "":
        return default_line
    if fmt == "json":
        return lambda event: json.dumps(event, separators=(",", ":"))
    tree = compile_template(fmt)
    executor = Executor(FUNCTIONS, strict_maps=False)

    def render(event: dict[str, Any]) -> str:
        out: list[str] = []
        # The Go struct's field names (events.Message), beside the JSON's.
        fields = {**event, "Scope": event.get("scope"), "Time": event.get("time"),
                  "TimeNano": event.get("timeNano"), "ID": event["Actor"]["ID"],
                  "Status": event["Action"]}
        try:
            executor.run(tree, fmt, fields, out)
        except TemplateError as exc:
            raise TemplateError(f"template parsing error: {exc}") from None
        return "".join(out)
    return render


def cmd_events(args: argparse.Namespace) -> None:
    show = formatter(args.format)
    asked = query(args, time.time_ns())
    for line in Client(args.host).stream("/events", **asked):
        if line:
            print(show(json.loads(line)), flush=True)
