"""Entry point of `swarmlet`. Each command group registers itself on the parser."""

from __future__ import annotations

import sys

from swarmlet import __version__
from swarmlet.cli import (
    events,
    machine,
    network,
    node,
    secret,
    service,
    stack,
    swarm,
    system,
    visualizer,
)
from swarmlet.cli.parser import Parser
from swarmlet.cli.service_container import bool_values
from swarmlet.client import ApiResponseError
from swarmlet.errors import SwarmletError

GROUPS = (swarm, node, service, stack, network, secret, events, system, visualizer, machine)


def build_parser() -> Parser:
    parser = Parser(
        prog="swarmlet", description="Docker Swarm mode, rebuilt as an Ansible collection."
    )
    parser.add_argument("--version", action="version", version=f"swarmlet {__version__}")
    parser.add_argument("-H", "--host", default=None,
                        help="Agent to talk to: unix:///path or tcp://HOST:2377 "
                        "(default: $SWARMLET_HOST, else unix:///run/swarmlet/swarmlet.sock)")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=Parser
    )
    for group in GROUPS:
        group.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:  # a flag's type check (go_bool, ...) raises SwarmletError with pflag's words
        args = build_parser().parse_args(bool_values(sys.argv[1:] if argv is None else argv))
        return args.run(args) or 0
    except ApiResponseError as exc:
        print(f"Error response from daemon: {exc}", file=sys.stderr)
        return 1
    except SwarmletError as exc:
        print(str(exc), file=sys.stderr)
        return getattr(exc, "exit_code", 1)  # a bad --format template: 64 for network inspect
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
