"""`swarmlet service`: create, update, rollback, ls, ps, inspect, scale, rm (and `node ps`):
Docker's commands and output. Flags become a spec in service_spec (service_update for what only
`update` has), output is shaped in service_format, and converge progress is
progress.wait_on_service (a job's: job_progress)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from swarmlet.cli import plan_view
from swarmlet.cli import service_format as fmt
from swarmlet.cli.create import create
from swarmlet.cli.job_progress import wait_on_service
from swarmlet.cli.lookup import get_each
from swarmlet.cli.removal import remove_each
from swarmlet.cli.service_spec import add_common_options, add_create_options, spec_from_create_args
from swarmlet.cli.service_update import (
    add_update_options,
    check_rollback_alone,
    flag_defaults,
    rollback_query,
    updated_spec,
)
from swarmlet.cli.templates import (
    add_format_option,
    add_inspect_format_option,
    is_table,
    print_inspect,
    print_rows,
)
from swarmlet.client import ApiResponseError, Client
from swarmlet.errors import SwarmletError


def register(commands: argparse._SubParsersAction) -> None:
    service = commands.add_parser("service", help="Manage swarm services")
    sub = service.add_subparsers(dest="service_command", metavar="COMMAND", required=True)

    p = sub.add_parser("create", help="Create a new service")
    add_common_options(p)
    add_dry_run_option(p)
    add_create_options(p)
    p.set_defaults(run=cmd_create)

    p = sub.add_parser("update", help="Update a service")
    add_common_options(p)
    add_dry_run_option(p)
    add_update_options(p)
    p.set_defaults(run=cmd_update, flag_defaults=flag_defaults(p))

    p = sub.add_parser("rollback", help="Revert changes to a service's configuration")
    p.add_argument("-d", "--detach", action="store_true",
                   help="Exit immediately instead of waiting for the service to converge")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress progress output")
    p.add_argument("service", metavar="SERVICE")
    p.set_defaults(run=cmd_rollback)

    p = sub.add_parser("ls", aliases=["list"], help="List services")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display IDs")
    add_format_option(p)
    p.set_defaults(run=cmd_ls)

    p = sub.add_parser("ps", help="List the tasks of one or more services")
    add_task_list_options(p)
    p.add_argument("services", nargs="+", metavar="SERVICE")
    p.set_defaults(run=cmd_ps)

    p = sub.add_parser("inspect", help="Display detailed information on one or more services")
    add_inspect_format_option(p)
    p.add_argument("--pretty", action="store_true",
                   help="Print the information in a human friendly format")
    p.add_argument("services", nargs="+", metavar="SERVICE")
    p.set_defaults(run=cmd_inspect)

    p = sub.add_parser("scale", help="Scale one or multiple replicated services")
    p.add_argument("-d", "--detach", action="store_true",
                   help="Exit immediately instead of waiting for the service to converge")
    add_dry_run_option(p)
    p.add_argument("scales", nargs="+", metavar="SERVICE=REPLICAS")
    p.set_defaults(run=cmd_scale)

    p = sub.add_parser("logs", help="Fetch the logs of a service")
    p.add_argument("-f", "--follow", action="store_true", help="Follow log output")
    p.add_argument("-n", "--tail", default="all",
                   help='Number of lines to show from the end of the logs (default "all")')
    p.add_argument("service", metavar="SERVICE")
    p.set_defaults(run=cmd_logs)

    p = sub.add_parser("rm", aliases=["remove"], help="Remove one or more services")
    add_dry_run_option(p)
    p.add_argument("services", nargs="+", metavar="SERVICE")
    p.set_defaults(run=cmd_rm)



def add_dry_run_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true",
                   help="Show the agent's plan (spec changes, tasks replaced, placement) "
                   "and change nothing")
    p.add_argument("--plan-format", choices=["table", "json"], default="table",
                   help="How --dry-run prints the plan")


def add_task_list_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--filter", action="append", default=[], metavar="filter",
                   help="Filter output based on conditions provided")
    p.add_argument("--no-trunc", action="store_true", help="Do not truncate output")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display task IDs")
    add_format_option(p)


def network_resolver(client: Client) -> Callable[[str], str]:
    """A network name (or ID prefix) to its ID, as Docker's CLI resolves --network."""
    return lambda ref: client.get(f"/networks/{ref}")["ID"]


def object_lookup(client: Client) -> Callable[[str, str], str]:
    """A secret's or config's name (or ID prefix) to its ID: --secret, --config."""
    return lambda kind, ref: client.get(f"/{kind}s/{ref}")["ID"]


def cmd_create(args: argparse.Namespace) -> None:
    client = Client(args.host)
    spec = spec_from_create_args(args, resolve=network_resolver(client),
                                 lookup=object_lookup(client))
    if args.dry_run:
        plan_view.show(client.post("/services/create", spec, dry_run=1), args.plan_format)
        return
    service_id = create(client, "service", spec)["ID"]
    print(service_id)
    if not args.detach:
        wait_on_service(client, service_id, quiet=args.quiet)


def cmd_update(args: argparse.Namespace) -> None:
    """Docker's runUpdate: the flags onto the current spec, posted with its version; or, with
    --rollback (alone), the server asked for the previous spec."""
    client = Client(args.host)
    service = client.get(f"/services/{args.service}")
    path = f"/services/{service['ID']}/update"
    dry_run = {"dry_run": 1} if args.dry_run else {}
    if args.rollback:
        check_rollback_alone(args, args.flag_defaults)
        answer = client.post(path, None, **rollback_query(service), **dry_run)
    else:
        answer = client.post(path, updated_spec(service["Spec"], args,
                                                resolve=network_resolver(client),
                                                lookup=object_lookup(client)),
                             version=service["Version"]["Index"], **dry_run)
    if args.dry_run:
        plan_view.show(answer, args.plan_format)
        return
    _after_update(client, args, service)


def cmd_rollback(args: argparse.Namespace) -> None:
    client = Client(args.host)
    service = client.get(f"/services/{args.service}")
    client.post(f"/services/{service['ID']}/update", None, **rollback_query(service))
    _after_update(client, args, service)


def _after_update(client: Client, args: argparse.Namespace, before: dict[str, Any]) -> None:
    """The name as given, then (without -d) progress; UpdateStatus from before is stale."""
    print(args.service)
    if not args.detach:
        wait_on_service(client, args.service, quiet=args.quiet,
                        stale_status=before.get("UpdateStatus"))


def cmd_ls(args: argparse.Namespace) -> None:
    client = Client(args.host)
    services = client.get("/services")
    tasks: list[dict[str, Any]] = []
    for service in services:
        if service.get("ServiceStatus") is None:
            tasks += client.get("/tasks", service=service["ID"])
    print_rows(fmt.service_rows(services, tasks), args.format, fmt.SERVICE_LS, quiet=args.quiet)


def cmd_ps(args: argparse.Namespace) -> None:
    client = Client(args.host)
    found, missing = get_each(client, "services", args.services,
                              lambda ref: f"no such service: {ref}")
    if not found:
        raise SwarmletError("\n".join(missing))
    tasks = [t for s in _unique(found) for t in client.get("/tasks", service=s["ID"])]
    _print_tasks(client, args, tasks)
    if missing:
        raise SwarmletError("\n".join(missing))


def cmd_node_ps(args: argparse.Namespace) -> None:
    client = Client(args.host)
    tasks: list[dict[str, Any]] = []
    for wanted in _unique_ids(node_id(client, ref) for ref in args.nodes):
        tasks += client.get("/tasks", node=wanted)
    _print_tasks(client, args, tasks)


def node_id(client: Client, ref: str) -> str:
    """A node reference as Docker takes it, with `self` for the node asked."""
    if ref == "self":
        return client.get("/info")["Swarm"]["NodeID"]
    return client.get(f"/nodes/{ref}")["ID"]


def _print_tasks(client: Client, args: argparse.Namespace, tasks: list[dict[str, Any]]) -> None:
    filters = fmt.parse_filters(args.filter)
    service_names = {s["ID"]: s["Spec"].get("Name", s["ID"]) for s in client.get("/services")}
    node_names = {n["ID"]: n.get("Description", {}).get("Hostname") or n["ID"]
                  for n in client.get("/nodes")}
    if "node" in filters:
        filters["node"] = [node_id(client, v) if v == "self" else v for v in filters["node"]]
    tasks = fmt.filter_tasks(tasks, filters, service_names, node_names)
    trunc = not args.no_trunc and not args.quiet
    rows = fmt.task_rows(tasks, service_names, node_names, datetime.now(UTC), trunc=trunc,
                         indent=is_table(args.format, args.quiet))
    print_rows(rows, args.format, fmt.TASK_PS, quiet=args.quiet)


def cmd_inspect(args: argparse.Namespace) -> None:
    client = Client(args.host)
    services = [client.get(f"/services/{ref}") for ref in args.services]
    form = "pretty" if args.pretty else args.format
    names: dict[str, str] = {}
    if form == "pretty" and any(s.get("Endpoint", {}).get("VirtualIPs") or
                           s["Spec"].get("TaskTemplate", {}).get("Networks") for s in services):
        names = {n["ID"]: n["Spec"]["Name"] for n in client.get("/networks")}
    print_inspect(services, form, lambda s: fmt.pretty_service(s, network_names=names))


def parse_scale(arg: str) -> tuple[str, str]:
    name, sep, value = arg.partition("=")
    if not sep or not name or not value:
        raise SwarmletError(f"invalid scale specifier '{arg}'.\nSee 'swarmlet service scale "
                            "--help'.\n\nUsage:  swarmlet service scale SERVICE=REPLICAS "
                            "[SERVICE=REPLICAS...]\n\nScale one or multiple replicated services")
    return name, value


def cmd_scale(args: argparse.Namespace) -> None:
    pairs = [parse_scale(arg) for arg in args.scales]
    client = Client(args.host)
    errors, scaled = [], []
    for name, value in pairs:
        if not value.isascii() or not value.isdigit():
            errors.append(f'{name}: invalid replicas value {value}: strconv.ParseUint: '
                          f'parsing "{value}": invalid syntax')
            continue
        try:
            if args.dry_run:
                plan_view.show(_scale(client, name, int(value), dry_run=True),
                               args.plan_format)
                continue
            stale = _scale(client, name, int(value))
        except SwarmletError as exc:
            prefix = "Error response from daemon: " if isinstance(exc, ApiResponseError) else ""
            errors.append(f"{name}: {prefix}{exc}")
            continue
        print(f"{name} scaled to {int(value)}")
        scaled.append((name, stale))
    if not args.detach:
        for name, stale in scaled:
            try:
                wait_on_service(client, name, stale_status=stale)
            except SwarmletError as exc:
                errors.append(f"{name}: {exc}")
    if errors:
        raise SwarmletError("\n".join(errors))


def _scale(client: Client, ref: str, replicas: int, dry_run: bool = False) -> Any:
    """Set the replicas; the service's UpdateStatus from before (stale for progress), or
    with `dry_run` the agent's plan."""
    service = client.get(f"/services/{ref}")
    spec = service["Spec"]
    mode = spec.get("Mode", {})
    if "Replicated" in mode:
        spec["Mode"] = {"Replicated": {**mode["Replicated"], "Replicas": replicas}}
    elif "ReplicatedJob" in mode:  # a job's scale is its completions (and a new run of it)
        spec["Mode"] = {"ReplicatedJob": {**mode["ReplicatedJob"],
                                          "TotalCompletions": replicas}}
    else:
        raise SwarmletError("scale can only be used with replicated or replicated-job mode")
    if dry_run:
        return client.post(f"/services/{service['ID']}/update", spec,
                           version=service["Version"]["Index"], dry_run=1)
    client.post(f"/services/{service['ID']}/update", spec, version=service["Version"]["Index"])
    return service.get("UpdateStatus")


def cmd_logs(args: argparse.Namespace) -> None:
    """Every task's lines, from every node, prefixed `<task>@<node>    |` as Docker does."""
    if args.tail != "all" and not args.tail.isdigit():
        raise SwarmletError(f'invalid argument "{args.tail}" for "-n, --tail" flag')
    query = {"tail": args.tail, **({"follow": "1"} if args.follow else {})}
    for line in Client(args.host).stream(f"/services/{args.service}/logs", **query):
        print(line, flush=True)


def cmd_rm(args: argparse.Namespace) -> None:
    client = Client(args.host)
    if args.dry_run:
        for ref in args.services:
            plan_view.show(client.delete(f"/services/{ref}", dry_run=1), args.plan_format)
        return
    remove_each(client, "services", args.services)


def _unique(services: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list({s["ID"]: s for s in services}.values())


def _unique_ids(ids: Any) -> list[str]:
    return list(dict.fromkeys(ids))
