"""`swarmlet network`: create, ls, inspect, rm — Docker's commands and output for swarm-scope
overlay networks. `inspect` prints Docker's NetworkResource shape (what `docker network
inspect` prints), made from the swarm's Network object the API returns."""

from __future__ import annotations

import argparse
from typing import Any

from swarmlet.cli.create import create
from swarmlet.cli.lookup import get_each
from swarmlet.cli.removal import remove_each
from swarmlet.cli.service_format import go_time, natural_key
from swarmlet.cli.service_spec import labels
from swarmlet.cli.templates import (
    Listing,
    add_format_option,
    add_inspect_format_option,
    label_method,
    print_inspect,
    print_rows,
)
from swarmlet.client import Client
from swarmlet.errors import SwarmletError

Obj = dict[str, Any]
NETWORK_LS = Listing("table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
                     {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
                      "IPv4": "IPV4", "IPv6": "IPV6", "Internal": "INTERNAL",
                      "Labels": "LABELS", "CreatedAt": "CREATED AT"},
                     "*network.networkContext")


def register(commands: argparse._SubParsersAction) -> None:
    network = commands.add_parser("network", help="Manage networks")
    sub = network.add_subparsers(dest="network_command", metavar="COMMAND", required=True)

    p = sub.add_parser("create", help="Create a network")
    p.add_argument("-d", "--driver", default="overlay", metavar="string",
                   help='Driver to manage the Network (default "overlay")')
    p.add_argument("--subnet", action="append", default=[], metavar="strings",
                   help="Subnet in CIDR format that represents a network segment")
    p.add_argument("--gateway", action="append", default=[], metavar="strings",
                   help="IPv4 Gateway for the master subnet")
    p.add_argument("--attachable", action="store_true",
                   help="Enable manual container attachment")
    p.add_argument("--label", action="append", default=[], metavar="list",
                   help="Set metadata on a network")
    p.add_argument("-o", "--opt", action="append", default=[], metavar="map",
                   help="Set driver specific options (encrypted is refused: docs/networking.md)")
    p.add_argument("name", metavar="NETWORK")
    p.set_defaults(run=cmd_create)

    p = sub.add_parser("ls", aliases=["list"], help="List networks")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display network IDs")
    p.add_argument("--no-trunc", action="store_true", help="Do not truncate the output")
    add_format_option(p)
    p.set_defaults(run=cmd_ls)

    p = sub.add_parser("inspect", help="Display detailed information on one or more networks")
    add_inspect_format_option(p)
    p.add_argument("networks", nargs="+", metavar="NETWORK")
    p.set_defaults(run=cmd_inspect)

    p = sub.add_parser("rm", aliases=["remove"], help="Remove one or more networks")
    p.add_argument("networks", nargs="+", metavar="NETWORK")
    p.set_defaults(run=cmd_rm)


def create_spec(args: argparse.Namespace) -> Obj:
    """The NetworkSpec `network create` sends, with the checks Docker's CLI makes first."""
    if len(args.subnet) > 1:
        raise SwarmletError("only one subnet per network is supported")
    if args.gateway and not args.subnet:
        raise SwarmletError("every ip-range or gateway must have a corresponding subnet")
    if len(args.gateway) > 1:
        raise SwarmletError(f"cannot configure multiple gateways ({args.gateway[1]}) for the "
                            "same subnet")
    driver: Obj = {"Name": args.driver}
    if args.opt:  # the agent judges them (an encrypted overlay is refused there)
        driver["Options"] = labels(args.opt, "opt")
    spec: Obj = {"Name": args.name, "Labels": labels(args.label, "label"),
                 "DriverConfiguration": driver, "Attachable": args.attachable}
    if args.subnet:
        config = {"Subnet": args.subnet[0]}
        if args.gateway:
            config["Gateway"] = args.gateway[0]
        spec["IPAMOptions"] = {"Driver": {"Name": "default"}, "Configs": [config]}
    return spec


def cmd_create(args: argparse.Namespace) -> None:
    print(create(Client(args.host), "network", create_spec(args))["ID"])


def network_row(network: Obj, trunc: bool = True) -> Obj:
    """A network as `network ls` shows it, keyed by Docker's --format json names."""
    spec = network.get("Spec") or {}
    labels = spec.get("Labels") or {}
    return {"ID": network["ID"][:12] if trunc else network["ID"],
            "Name": spec.get("Name", ""),
            "Driver": (spec.get("DriverConfiguration") or {}).get("Name", "overlay"),
            "Scope": "swarm", "IPv4": "true", "IPv6": "false", "Internal": "false",
            "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
            "Label": label_method(labels),
            "CreatedAt": go_time(network.get("CreatedAt", ""))}


def cmd_ls(args: argparse.Namespace) -> None:
    networks = sorted(Client(args.host).get("/networks"),
                      key=lambda n: natural_key(n["Spec"].get("Name", "")))
    rows = [network_row(n, trunc=not args.no_trunc) for n in networks]
    print_rows(rows, args.format, NETWORK_LS, quiet=args.quiet)


def network_resource(network: Obj) -> Obj:
    """Docker's NetworkResource (what `docker network inspect` prints) of a swarm network."""
    spec = network.get("Spec") or {}
    ipam = network.get("IPAM") or spec.get("IPAMOptions") or {}
    return {
        "Name": spec.get("Name", ""),
        "Id": network["ID"],
        "Created": network.get("CreatedAt", ""),
        "Scope": "swarm",
        "Driver": (spec.get("DriverConfiguration") or {}).get("Name", "overlay"),
        "EnableIPv6": False,
        "IPAM": {"Driver": (ipam.get("Driver") or {}).get("Name", "default"),
                 "Options": None,
                 "Config": [dict(c) for c in ipam.get("Configs") or []]},
        "Internal": False,
        "Attachable": bool(spec.get("Attachable")),
        "Ingress": bool(spec.get("Ingress")),
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": False,
        "Containers": None,
        "Options": dict((network.get("DriverState") or {}).get("Options") or {}),
        "Labels": dict(spec.get("Labels") or {}),
    }


def cmd_inspect(args: argparse.Namespace) -> None:
    """Docker's: the networks found, as a JSON list (or each through --format), then one
    error line per missing one. A bad template exits with 64 here, as Docker's does."""
    found, missing = get_each(Client(args.host), "networks", args.networks,
                              lambda ref: f"Error: No such network: {ref}")
    print_inspect([network_resource(n) for n in found], args.format, errors=missing,
                  parse_exit=64)


def cmd_rm(args: argparse.Namespace) -> None:
    remove_each(Client(args.host), "networks", args.networks)
