"""`swarmlet stack`: deploy, ls, ps, services, rm — Docker's `docker stack` commands, flags,
lines and exit codes (docker/cli cli/command/stack).

A deploy is one request: the compose files are read, interpolated and sent with the files
they name (compose_files.py), and the manager validates the whole stack, plans it and applies
the plan (POST /stacks/deploy; ?dry_run=1 for --dry-run, which Docker does not have). What it
did is printed in Docker's words (stack_view.py); with --detach=false the changed services are
followed as `service create` follows one (progress.py). ls, ps and services read the services
and tasks that carry the stack's namespace label, and print `service ls`/`service ps` rows.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from typing import Any

from swarmlet.cli import service_format as fmt
from swarmlet.cli import stack_view as view
from swarmlet.cli.compose_files import ComposeFileError, load_compose_files
from swarmlet.cli.progress import terminal, wait_on_service
from swarmlet.cli.templates import add_format_option, is_table, print_rows
from swarmlet.client import ApiResponseError, Client
from swarmlet.errors import SwarmletError

Obj = dict[str, Any]
RESOLVE_IMAGE = ("always", "changed", "never")
STACK_LS = "table {{.Name}}\t{{.Services}}"  # Docker's `stack ls` (swarm orchestrator)
SERVICE_FILTERS = ("id", "label", "mode", "name")
# Go's strconv.ParseBool spellings, for --detach=false as pflag reads a bool flag.
GO_BOOLS = {"1": True, "t": True, "T": True, "true": True, "TRUE": True, "True": True,
            "0": False, "f": False, "F": False, "false": False, "FALSE": False, "False": False}


def register(commands: argparse._SubParsersAction) -> None:
    stack = commands.add_parser("stack", help="Manage Swarm stacks")
    sub = stack.add_subparsers(dest="stack_command", metavar="COMMAND", required=True)

    p = sub.add_parser("deploy", aliases=["up"],
                       help="Deploy a new stack or update an existing stack")
    p.add_argument("-c", "--compose-file", action="append", default=[], metavar="FILE",
                   help='Path to a Compose file, or "-" to read from stdin')
    p.add_argument("--prune", action="store_true",
                   help="Prune services that are no longer referenced")
    p.add_argument("--resolve-image", default="always",
                   help='Query the registry to resolve image digest and supported platforms '
                   '("always", "changed", "never"); swarmlet has no registry: images are '
                   "used as given")
    p.add_argument("--with-registry-auth", action="store_true", help=argparse.SUPPRESS)
    add_bool_flag(p, "-d", "--detach", "Exit immediately instead of waiting for the stack "
                  "services to converge (default true)")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress progress output")
    p.add_argument("--dry-run", action="store_true",
                   help="Show the manager's plan (what each object would become) and change "
                   "nothing")
    p.add_argument("--plan-format", choices=["table", "json"], default="table",
                   help="How --dry-run prints the plan")
    p.add_argument("stack", metavar="STACK")
    p.set_defaults(run=cmd_deploy)

    p = sub.add_parser("ls", aliases=["list"], help="List stacks")
    add_format_option(p)
    p.set_defaults(run=cmd_ls)

    p = sub.add_parser("ps", help="List the tasks in the stack")
    p.add_argument("-f", "--filter", action="append", default=[], metavar="filter",
                   help="Filter output based on conditions provided")
    add_format_option(p)
    p.add_argument("--no-resolve", action="store_true", help="Do not map IDs to Names")
    p.add_argument("--no-trunc", action="store_true", help="Do not truncate output")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display task IDs")
    p.add_argument("stack", metavar="STACK")
    p.set_defaults(run=cmd_ps)

    p = sub.add_parser("services", help="List the services in the stack")
    p.add_argument("-f", "--filter", action="append", default=[], metavar="filter",
                   help="Filter output based on conditions provided")
    add_format_option(p)
    p.add_argument("-q", "--quiet", action="store_true", help="Only display IDs")
    p.add_argument("stack", metavar="STACK")
    p.set_defaults(run=cmd_services)

    p = sub.add_parser("rm", aliases=["remove", "down"], help="Remove one or more stacks")
    add_bool_flag(p, "-d", "--detach", "Do not wait for stack removal (default true)")
    p.add_argument("stacks", nargs="+", metavar="STACK")
    p.set_defaults(run=cmd_rm)


def add_bool_flag(p: argparse.ArgumentParser, short: str, long: str, text: str) -> None:
    """A pflag bool flag: `-d` alone is true, `--detach=false` (every ParseBool spelling)
    sets it; unset it is None, so a command can tell the default from a choice."""
    dest = long.lstrip("-").replace("-", "_")
    p.add_argument(short, long, dest=dest, action="store_const", const=True, default=None,
                   help=text)
    for spelling, value in GO_BOOLS.items():
        p.add_argument(f"{long}={spelling}", f"{short}={spelling}", dest=dest,
                       action="store_const", const=value, help=argparse.SUPPRESS)


def validate_stack_name(name: str) -> None:
    """Docker's validateStackName: something besides quotes and white space."""
    if not name.strip().strip("\"'").strip():
        raise SwarmletError(f'invalid stack name: "{name}"')


# --- deploy -----------------------------------------------------------------------------------

def cmd_deploy(args: argparse.Namespace) -> None:
    validate_stack_name(args.stack)
    if args.resolve_image not in RESOLVE_IMAGE:
        raise SwarmletError(f"invalid option {args.resolve_image} for flag --resolve-image")
    try:
        body = load_compose_files(args.compose_file)
    except ComposeFileError as exc:
        raise SwarmletError(str(exc)) from None
    body.update(Name=args.stack, Prune=args.prune, ResolveImage=args.resolve_image)
    client = Client(args.host)
    if args.dry_run:
        answer = client.post("/stacks/deploy", body, dry_run=1)
        _print_warnings(answer)
        if args.plan_format == "json":
            import json

            print(json.dumps(answer, indent=4))
        else:
            view.print_plan(answer)
        return
    before = {s["Spec"].get("Name"): s.get("UpdateStatus") for s in client.get("/services")
              if view.in_stack(s, args.stack)}
    answer = client.post("/stacks/deploy", body)
    _print_warnings(answer)
    if args.detach is None:
        print(view.DETACH_NOTE, file=sys.stderr)
    for line in view.deploy_lines(answer):
        print(line)
    if args.detach is False:
        _wait_on_services(client, answer, before, args.quiet)


def _print_warnings(answer: Obj) -> None:
    text = view.warning_text(answer)
    if text:
        print(text, file=sys.stderr)


def _wait_on_services(client: Client, answer: Obj, before: dict[str, Any],
                      quiet: bool) -> None:
    """Docker's waitOnServices, for the services the deploy created or updated (those left
    unchanged were not touched); the errors of all, each prefixed with the service's ID."""
    errors = []
    for step in answer.get("Plan") or []:
        if step.get("Kind") != "service" or step.get("Action") not in ("create", "update"):
            continue
        ref = step.get("ID") or step.get("Name", "")
        try:
            wait_on_service(client, ref, quiet=quiet, stale_status=before.get(step.get("Name")))
        except SwarmletError as exc:
            errors.append(f"{ref}: {exc}")
    if errors:
        raise SwarmletError("\n".join(errors))


# --- ls, ps, services -------------------------------------------------------------------------

def cmd_ls(args: argparse.Namespace) -> None:
    rows = view.stack_rows(Client(args.host).get("/stacks"))
    print_rows(rows, args.format, STACK_LS)


def stack_services(client: Client, stack: str) -> list[Obj]:
    return [s for s in client.get("/services") if view.in_stack(s, stack)]


def cmd_ps(args: argparse.Namespace) -> None:
    validate_stack_name(args.stack)
    filters = fmt.parse_filters(args.filter)
    client = Client(args.host)
    services = stack_services(client, args.stack)
    tasks = [t for s in services for t in client.get("/tasks", service=s["ID"])]
    service_names: dict[str, str] = {}
    node_names: dict[str, str] = {}
    if tasks and not args.no_resolve:
        service_names = {s["ID"]: s["Spec"].get("Name", s["ID"]) for s in services}
        node_names = {n["ID"]: (n.get("Description") or {}).get("Hostname") or n["ID"]
                      for n in client.get("/nodes")}
    if "node" in filters:
        filters["node"] = [_self_node(client) if v == "self" else v for v in filters["node"]]
    tasks = fmt.filter_tasks(tasks, filters, service_names, node_names)
    if not tasks:
        raise SwarmletError(f"nothing found in stack: {args.stack}")
    rows = fmt.task_rows(tasks, service_names, node_names, datetime.now(UTC),
                         trunc=not args.no_trunc and not args.quiet,
                         indent=is_table(args.format, args.quiet))
    print_rows(rows, args.format, fmt.TASK_PS, quiet=args.quiet)


def _self_node(client: Client) -> str:
    return str(client.get("/info")["Swarm"]["NodeID"])


def cmd_services(args: argparse.Namespace) -> None:
    validate_stack_name(args.stack)
    filters = parse_service_filters(args.filter)
    client = Client(args.host)
    services = filter_services(stack_services(client, args.stack), filters)
    if not services:  # Docker's: a message, and success
        print(f"Nothing found in stack: {args.stack}", file=sys.stderr)
        return
    if args.quiet:  # full IDs, as Docker's -q
        for service in sorted(services, key=lambda s: fmt.natural_key(s["Spec"].get("Name", ""))):
            print(service["ID"])
        return
    tasks: list[Obj] = []
    for service in services:
        if service.get("ServiceStatus") is None:
            tasks += client.get("/tasks", service=service["ID"])
    print_rows(fmt.service_rows(services, tasks), args.format, fmt.SERVICE_LS)


def parse_service_filters(values: list[str]) -> dict[str, list[str]]:
    """`--filter` of `stack services` (and `service ls`): id, label, mode, name."""
    filters = fmt.filter_flags(values, SERVICE_FILTERS)
    for arg in filters.get("mode", []):
        if arg not in ("replicated", "global"):
            raise SwarmletError(f"Invalid filter: 'mode'='{arg}'")
    return filters


def filter_services(services: list[Obj], filters: dict[str, list[str]]) -> list[Obj]:
    """Values of one key OR-ed, keys AND-ed; id and name match a prefix, as the daemon's."""
    def label(service: Obj, wanted: str) -> bool:
        labels = service["Spec"].get("Labels") or {}
        key, sep, value = wanted.partition("=")
        return key in labels and (not sep or labels[key] == value)

    tests = {
        "id": lambda s, v: s["ID"].startswith(v),
        "name": lambda s, v: s["Spec"].get("Name", "").startswith(v),
        "mode": lambda s, v: fmt.service_mode(s) == v,
        "label": label,
    }
    return [s for s in services
            if all(any(tests[k](s, v) for v in values) for k, values in filters.items())]


# --- rm ---------------------------------------------------------------------------------------

def cmd_rm(args: argparse.Namespace) -> None:
    """Docker's runRemove: each stack's objects, services first; a stack with nothing is
    reported on stderr and is no failure; other failures are collected for the end."""
    for name in args.stacks:
        validate_stack_name(name)
    client = Client(args.host)
    errors = []
    for name in args.stacks:
        try:
            answer = client.delete(f"/stacks/{name}")
        except ApiResponseError as exc:
            if exc.status == 404:
                print(f"Nothing found in stack: {name}", file=sys.stderr)
            else:
                errors.append(f"failed to remove some resources from stack: {name}: {exc}")
            continue
        for line in view.removal_lines(answer):
            print(line)
        if answer.get("Errors"):  # the rest was removed; Docker names each failure
            for error in answer["Errors"]:
                print(error, file=sys.stderr)
            errors.append(f"failed to remove some resources from stack: {name}")
            continue
        if args.detach is False:
            _wait_for_tasks_gone(client, [r.get("ID", "") for r in answer.get("Removed") or []
                                          if r.get("Kind") == "service"])
    if errors:
        raise SwarmletError("\n".join(errors))


def _wait_for_tasks_gone(client: Client, service_ids: list[str],
                         poll_interval: float = 0.5) -> None:
    """`stack rm --detach=false`: until no task of the removed services is still running."""
    wanted = set(service_ids)
    while any(t.get("ServiceID") in wanted and not terminal(
            (t.get("Status") or {}).get("State")) for t in client.get("/tasks")):
        time.sleep(poll_interval)
