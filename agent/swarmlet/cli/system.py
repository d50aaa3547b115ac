"""`swarmlet version` and `swarmlet info`."""

from __future__ import annotations

import argparse
import json

from swarmlet import __version__
from swarmlet.client import Client
from swarmlet.errors import SwarmletError


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("version", help="Show the client and agent versions")
    p.set_defaults(run=cmd_version)
    p = commands.add_parser("info", help="Show this node's agent and swarm state")
    p.add_argument("--format", choices=["json"], help="Print JSON")
    p.set_defaults(run=cmd_info)


def cmd_version(args: argparse.Namespace) -> None:
    print(f"Client:\n Version:     {__version__}\n")
    try:
        server = Client(args.host).get("/version")
    except SwarmletError as exc:
        print(f"Server:\n {exc}")
        return
    # Over the cluster port /version is the Docker Engine API's: the agent is a component.
    for component in server.get("Components") or []:
        if component.get("Name") == "swarmlet":
            server = {**server, "Version": component["Version"],
                      "ApiVersion": component["Details"]["ApiVersion"]}
    print(f"Server:\n Version:     {server['Version']}\n API version: {server['ApiVersion']}\n"
          f" OS/Arch:     {server['Os']}/{server['Arch']}")


def cmd_info(args: argparse.Namespace) -> None:
    info = Client(args.host).get("/info")
    if args.format == "json":
        print(json.dumps(info))
        return
    swarm = info["Swarm"]
    print(f"Name: {info['Name']}\nSwarm: {swarm['LocalNodeState']}")
    if swarm.get("NodeID"):
        print(f" NodeID: {swarm['NodeID']}\n Is Manager: {str(swarm['ControlAvailable']).lower()}")
