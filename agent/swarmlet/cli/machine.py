"""`swarmlet machine`: local machines, as docker-machine made them for Docker."""

from __future__ import annotations

import argparse
import os

import yaml

from swarmlet.cli.table import print_table
from swarmlet.errors import SwarmletError
from swarmlet.machine import lifecycle
from swarmlet.machine.inventory import build_inventory
from swarmlet.machine.ssh import ssh_argv
from swarmlet.machine.store import MachineStore


def register(commands: argparse._SubParsersAction) -> None:
    machine = commands.add_parser(
        "machine", help="Manage local machines (hosts on this Linux box)",
        description="Local machines: each a network namespace with its own mount and UTS "
        "namespaces, hostname, address on 198.18.0.0/24 and sshd.")
    sub = machine.add_subparsers(dest="machine_command", metavar="COMMAND", required=True)

    p = sub.add_parser("create", help="Create and start machines")
    p.add_argument("names", nargs="+", metavar="NAME")
    p.add_argument("--no-agent", action="store_true",
                   help="Do not install swarmletd (e.g. for the Ansible role to install it)")
    p.set_defaults(run=cmd_create)

    p = sub.add_parser("ls", help="List machines")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display machine names")
    p.set_defaults(run=cmd_ls)

    p = sub.add_parser("ip", help="Print the IP address of machines")
    p.add_argument("names", nargs="+", metavar="NAME")
    p.set_defaults(run=cmd_ip)

    p = sub.add_parser("ssh", help="Log into a machine or run a command on it over SSH",
                       usage="%(prog)s NAME [-- COMMAND...]")
    p.add_argument("name", metavar="NAME")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND")
    p.set_defaults(run=cmd_ssh)

    for name, helptext, func in (
        ("start", "Start (boot) machines", cmd_start),
        ("stop", "Stop machines as a power cut would", cmd_stop),
        ("disconnect", "Cut machines off the underlay; they keep running", cmd_disconnect),
        ("connect", "Plug disconnected machines back into the underlay", cmd_connect),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("names", nargs="+", metavar="NAME")
        p.set_defaults(run=func)

    p = sub.add_parser("rm", help="Remove machines and everything of theirs")
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--all", action="store_true", help="Remove every machine")
    p.add_argument("-y", "-f", "--force", action="store_true",
                   help="Accepted for docker-machine compatibility (rm never prompts)")
    p.set_defaults(run=cmd_rm)

    p = sub.add_parser("inventory", help="Print an Ansible inventory (YAML) of machines")
    p.add_argument("names", nargs="*", metavar="NAME",
                   help="Machines, in order (default: all, in creation order)")
    p.add_argument("--managers", type=int, default=1, metavar="N",
                   help="How many of the first machines go to group managers (default 1)")
    p.set_defaults(run=cmd_inventory)


def cmd_create(args: argparse.Namespace) -> None:
    store = MachineStore()
    for m in lifecycle.create(store, args.names, agent=not args.no_agent):
        print(f'Machine "{m.name}" is running at {m.ip}.')


def cmd_ls(args: argparse.Namespace) -> None:
    store = MachineStore()
    machines = store.all()
    if args.quiet:
        for m in machines:
            print(m.name)
        return
    print_table(["NAME", "STATE", "IP"],
                [[m.name, lifecycle.state(store, m), m.ip] for m in machines])


def cmd_ip(args: argparse.Namespace) -> None:
    store = MachineStore()
    for m in [store.get(n) for n in args.names]:
        print(m.ip)


def cmd_ssh(args: argparse.Namespace) -> int:
    store = MachineStore()
    m = store.get(args.name)
    if lifecycle.init_pid(store, m) is None:
        raise SwarmletError(f'Cannot run SSH command: Host "{m.name}" is not running')
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    argv = ssh_argv(store, m, command)
    os.execvp(argv[0], argv)
    return 1  # not reached


def cmd_start(args: argparse.Namespace) -> None:
    store = MachineStore()
    for name in _known(store, args.names):
        print(f'Starting "{name}"...')
        if lifecycle.start(store, name):
            print(f'Machine "{name}" was started.')
        else:
            print(f'Machine "{name}" is already running.')


def cmd_stop(args: argparse.Namespace) -> None:
    store = MachineStore()
    for name in _known(store, args.names):
        print(f'Stopping "{name}"...')
        if lifecycle.stop(store, name):
            print(f'Machine "{name}" was stopped.')
        else:
            print(f'Machine "{name}" is already stopped.')


def cmd_disconnect(args: argparse.Namespace) -> None:
    store = MachineStore()
    for name in _known(store, args.names):
        lifecycle.set_connected(store, name, False)
        print(f'Machine "{name}" was disconnected from the underlay.')


def cmd_connect(args: argparse.Namespace) -> None:
    store = MachineStore()
    for name in _known(store, args.names):
        lifecycle.set_connected(store, name, True)
        print(f'Machine "{name}" was connected to the underlay.')


def cmd_rm(args: argparse.Namespace) -> None:
    store = MachineStore()
    if args.all and args.names:
        raise SwarmletError('"machine rm" takes either machine names or --all, not both')
    if not args.all and not args.names:
        raise SwarmletError('"machine rm" requires at least 1 machine name, or --all')
    names = [m.name for m in store.all()] if args.all else _known(store, args.names)
    lifecycle.remove(store, names)
    for name in names:
        print(f"Successfully removed {name}")


def cmd_inventory(args: argparse.Namespace) -> None:
    store = MachineStore()
    machines = [store.get(n) for n in args.names] if args.names else store.all()
    inventory = build_inventory(store, machines, args.managers)
    print(yaml.safe_dump(inventory, sort_keys=False, default_flow_style=False), end="")


def _known(store: MachineStore, names: list[str]) -> list[str]:
    """The names, once every one of them is checked to be a machine (or nothing happens)."""
    for name in names:
        store.get(name)
    return names
