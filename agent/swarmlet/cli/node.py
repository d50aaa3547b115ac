"""`swarmlet node`: ls, inspect, promote, demote, update, rm — Docker's commands and output."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from swarmlet.cli import service
from swarmlet.cli.templates import (
    Listing,
    add_format_option,
    add_inspect_format_option,
    print_inspect,
    print_rows,
)
from swarmlet.client import ApiResponseError, Client
from swarmlet.errors import SwarmletError


def register(commands: argparse._SubParsersAction) -> None:
    node = commands.add_parser("node", help="Manage swarm nodes")
    sub = node.add_subparsers(dest="node_command", metavar="COMMAND", required=True)

    p = sub.add_parser("ls", help="List nodes in the swarm")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display IDs")
    add_format_option(p)
    p.set_defaults(run=cmd_ls)

    p = sub.add_parser("inspect", help="Display detailed information on one or more nodes")
    add_inspect_format_option(p)
    p.add_argument("--pretty", action="store_true", help="Print the information in a human "
                   "friendly format")
    p.add_argument("nodes", nargs="+", metavar="NODE")
    p.set_defaults(run=cmd_inspect)

    for name, func, helptext in (("promote", cmd_promote, "Promote one or more nodes to manager"),
                                 ("demote", cmd_demote, "Demote one or more nodes from manager")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("nodes", nargs="+", metavar="NODE")
        p.set_defaults(run=func)

    p = sub.add_parser("update", help="Update a node")
    p.add_argument("--availability", choices=["active", "pause", "drain"])
    p.add_argument("--role", choices=["worker", "manager"])
    p.add_argument("--label-add", action="append", default=[], metavar="key=value")
    p.add_argument("--label-rm", action="append", default=[], metavar="key")
    p.add_argument("node", metavar="NODE")
    p.set_defaults(run=cmd_update)

    p = sub.add_parser("ps", help="List tasks running on one or more nodes, defaults to "
                       "current node")
    service.add_task_list_options(p)
    p.add_argument("nodes", nargs="*", metavar="NODE", default=["self"])
    p.set_defaults(run=service.cmd_node_ps)

    p = sub.add_parser("rm", help="Remove one or more nodes from the swarm")
    p.add_argument("-f", "--force", action="store_true", help="Force remove a node from the swarm")
    p.add_argument("nodes", nargs="+", metavar="NODE")
    p.set_defaults(run=cmd_rm)


NODE_LS = Listing(
    "table {{.ID}} {{if .Self}}*{{else}} {{ end }}\t{{.Hostname}}\t{{.Status}}\t"
    "{{.Availability}}\t{{.ManagerStatus}}\t{{.EngineVersion}}",
    {"ID": "ID", "Self": "", "Hostname": "HOSTNAME", "Status": "STATUS",
     "Availability": "AVAILABILITY", "ManagerStatus": "MANAGER STATUS",
     "EngineVersion": "ENGINE VERSION", "TLSStatus": "TLS STATUS"},
    "*node.nodeContext")
TLS_KEYS = ("TrustRoot", "CertIssuerSubject", "CertIssuerPublicKey")


def _manager_status(node: dict[str, Any]) -> str:
    status = node.get("ManagerStatus")
    if not status:
        return ""
    if status.get("Leader"):
        return "Leader"
    return status.get("Reachability", "").capitalize()


def tls_status(node: dict[str, Any], cluster_tls: dict[str, Any] | None) -> str:
    """Docker's: Ready when the node's TLS info is the swarm's, Needs Rotation when not,
    Unknown when either is missing."""
    mine = node.get("Description", {}).get("TLSInfo") or {}
    if not any(mine.get(k) for k in TLS_KEYS) or not any((cluster_tls or {}).get(k)
                                                           for k in TLS_KEYS):
        return "Unknown"
    same = all(mine.get(k) == (cluster_tls or {}).get(k) for k in TLS_KEYS)
    return "Ready" if same else "Needs Rotation"


def node_row(node: dict[str, Any], self_id: str,
             cluster_tls: dict[str, Any] | None = None) -> dict[str, Any]:
    """A node as `node ls` shows it, keyed by Docker's --format json names."""
    return {
        "ID": node["ID"],
        "Self": node["ID"] == self_id,
        "Hostname": node.get("Description", {}).get("Hostname", ""),
        "Status": node.get("Status", {}).get("State", "unknown").capitalize(),
        "Availability": node["Spec"]["Availability"].capitalize(),
        "ManagerStatus": _manager_status(node),
        "EngineVersion": node.get("Description", {}).get("Engine", {}).get("EngineVersion", ""),
        "TLSStatus": tls_status(node, cluster_tls),
    }


def cmd_ls(args: argparse.Namespace) -> None:
    client = Client(args.host)
    swarm = client.get("/info")["Swarm"]
    cluster_tls = (swarm.get("Cluster") or {}).get("TLSInfo")
    rows = sorted((node_row(n, swarm["NodeID"], cluster_tls) for n in client.get("/nodes")),
                  key=lambda r: (r["Hostname"], r["ID"]))
    print_rows(rows, args.format, NODE_LS, quiet=args.quiet)


def cmd_inspect(args: argparse.Namespace) -> None:
    client = Client(args.host)
    print_inspect([client.get(f"/nodes/{service.node_id(client, ref)}") for ref in args.nodes],
                  "pretty" if args.pretty else args.format, pretty)


def pretty(node: dict[str, Any]) -> str:
    desc = node.get("Description", {})
    lines = [f"ID:\t\t\t{node['ID']}"]
    if node["Spec"].get("Labels"):
        lines.append("Labels:")
        lines += [f" - {k} = {v}" for k, v in sorted(node["Spec"]["Labels"].items())]
    lines += [
        f"Hostname:\t\t{desc.get('Hostname', '')}",
        f"Joined at:\t\t{node.get('CreatedAt', '')}",
        "Status:",
        f" State:\t\t\t{node['Status']['State'].capitalize()}",
        f" Availability:\t\t{node['Spec']['Availability'].capitalize()}",
        f" Address:\t\t{node['Status'].get('Addr', '')}",
    ]
    if node.get("ManagerStatus"):
        ms = node["ManagerStatus"]
        lines += ["Manager Status:", f" Address:\t\t{ms.get('Addr', '')}",
                  f" Raft Status:\t\t{ms.get('Reachability', '').capitalize()}",
                  f" Leader:\t\t{'Yes' if ms.get('Leader') else 'No'}"]
    resources = desc.get("Resources", {})
    lines += [
        "Platform:",
        f" Operating System:\t{desc.get('Platform', {}).get('OS', '')}",
        f" Architecture:\t\t{desc.get('Platform', {}).get('Architecture', '')}",
        "Resources:",
        f" CPUs:\t\t\t{_number(resources.get('NanoCPUs', 0), lambda n: str(n // 10**9))}",
        f" Memory:\t\t{_number(resources.get('MemoryBytes', 0), lambda n: f'{n / 2**30:.4g}GiB')}",
        f"Engine Version:\t\t{desc.get('Engine', {}).get('EngineVersion', '')}",
    ]
    error = node.get("ControlError")
    if isinstance(error, dict):  # the leader could not use the node (manager/orchestrator)
        lines += ["ControlError:", f" Stage:\t\t\t{error.get('Stage', '')}",
                  f" Message:\t\t{error.get('Message', '')}",
                  f" Since:\t\t\t{error.get('Since', '')}"]
    return "\n".join(lines)


def _number(value: Any, show: Callable[[int], str]) -> str:
    """A stored count shown in its unit; one that is no number (an older version could have
    stored one) is shown as it is rather than failing the whole inspect."""
    if isinstance(value, int) and not isinstance(value, bool):
        return show(value)
    return repr(value)


def _update(client: Client, ref: str, change: dict[str, Any]) -> dict[str, Any]:
    """Apply a change to a node's spec. The node object also changes when its status does
    (heartbeats): on "update out of sequence", read it again and re-apply, a few times."""
    for attempt in range(3):
        node = client.get(f"/nodes/{ref}")
        spec = {**node["Spec"], **change}
        try:
            client.post(f"/nodes/{node['ID']}/update", spec, version=node["Version"]["Index"])
            return node
        except ApiResponseError as exc:
            if exc.status != 409 or attempt == 2:
                raise
    raise AssertionError("not reached")


def _change_roles(args: argparse.Namespace, role: str, already: str, done: str) -> None:
    client = Client(args.host)
    for ref in args.nodes:
        if client.get(f"/nodes/{ref}")["Spec"]["Role"] == role:
            print(already.format(ref))
            continue
        _update(client, ref, {"Role": role})
        print(done.format(ref))


def cmd_promote(args: argparse.Namespace) -> None:
    _change_roles(args, "manager", "Node {} is already a manager.",
                  "Node {} promoted to a manager in the swarm.")


def cmd_demote(args: argparse.Namespace) -> None:
    _change_roles(args, "worker", "Node {} is already a worker.",
                  "Manager {} demoted in the swarm.")


def cmd_update(args: argparse.Namespace) -> None:
    client = Client(args.host)
    node = client.get(f"/nodes/{args.node}")
    change: dict[str, Any] = {}
    if args.availability:
        change["Availability"] = args.availability
    if args.role:
        change["Role"] = args.role
    if args.label_add or args.label_rm:
        labels = dict(node["Spec"].get("Labels") or {})
        for key in args.label_rm:
            if key not in labels:
                raise SwarmletError(f"key {key} doesn't exist in node's labels")
            del labels[key]
        for pair in args.label_add:
            key, _, value = pair.partition("=")
            if not key:
                raise SwarmletError(f'invalid label "{pair}": expected key=value')
            labels[key] = value
        change["Labels"] = labels
    _update(client, args.node, change)
    print(args.node)


def cmd_rm(args: argparse.Namespace) -> None:
    client = Client(args.host)
    failed = []
    for ref in args.nodes:
        try:
            client.delete(f"/nodes/{ref}", **({"force": "true"} if args.force else {}))
            print(ref)
        except ApiResponseError as exc:
            failed.append(f"Error response from daemon: {exc}")
    if failed:
        raise SwarmletError("\n".join(failed))  # every error, once all nodes were tried
