"""`swarmlet secret` and `swarmlet config`: create, ls, inspect, rm — Docker's commands and
output. A secret's value is read from a file or stdin and sent once; nothing shows it again
(`config inspect` shows a config's data, as Docker's does)."""

from __future__ import annotations

import argparse
import base64
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from swarmlet.cli.create import create
from swarmlet.cli.lookup import get_each
from swarmlet.cli.removal import remove_each
from swarmlet.cli.service_format import ago, natural_key
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
HEADERS = {"ID": "ID", "Name": "NAME", "Driver": "DRIVER", "CreatedAt": "CREATED",
           "UpdatedAt": "UPDATED", "Labels": "LABELS"}
LISTINGS = {
    "secret": Listing("table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.CreatedAt}}\t{{.UpdatedAt}}",
                      HEADERS, "*secret.secretContext"),
    "config": Listing("table {{.ID}}\t{{.Name}}\t{{.CreatedAt}}\t{{.UpdatedAt}}",
                      {k: v for k, v in HEADERS.items() if k != "Driver"},
                      "*config.configContext"),
}


def register(commands: argparse._SubParsersAction) -> None:
    for kind in ("secret", "config"):
        _register(commands, kind)


def _register(commands: argparse._SubParsersAction, kind: str) -> None:
    group = commands.add_parser(kind, help=f"Manage swarm {kind}s")
    sub = group.add_subparsers(dest=f"{kind}_command", metavar="COMMAND", required=True)

    p = sub.add_parser("create", help=f"Create a {kind} from a file or STDIN as content")
    p.add_argument("-l", "--label", action="append", default=[], metavar="list",
                   help=f"{kind.capitalize()} labels")
    if kind == "config":  # Docker's: the nodes render the data for each task
        p.add_argument("--template-driver", default="", metavar="string",
                       help="Template driver (golang)")
    p.add_argument("name", metavar=kind.upper())
    p.add_argument("file", metavar="file|-", help="the content, or - for STDIN")
    p.set_defaults(run=cmd_create, kind=kind)

    p = sub.add_parser("ls", aliases=["list"], help=f"List {kind}s")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display IDs")
    add_format_option(p)
    p.set_defaults(run=cmd_ls, kind=kind)

    p = sub.add_parser("inspect", help=f"Display detailed information on one or more {kind}s")
    add_inspect_format_option(p)
    p.add_argument("--pretty", action="store_true",
                   help="Print the information in a human friendly format")
    p.add_argument("refs", nargs="+", metavar=kind.upper())
    p.set_defaults(run=cmd_inspect, kind=kind)

    p = sub.add_parser("rm", aliases=["remove"], help=f"Remove one or more {kind}s")
    p.add_argument("refs", nargs="+", metavar=kind.upper())
    p.set_defaults(run=cmd_rm, kind=kind)


def read_content(source: str) -> bytes:
    """The file's bytes, or stdin's for "-"; an error naming the file otherwise."""
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise SwarmletError(f"error reading content from {source!r}: {exc.strerror}") from None


def cmd_create(args: argparse.Namespace) -> None:
    spec = {"Name": args.name, "Labels": labels(args.label, "label"),
            "Data": base64.b64encode(read_content(args.file)).decode()}
    if getattr(args, "template_driver", ""):
        spec["Templating"] = {"Name": args.template_driver}
    print(create(Client(args.host), args.kind, spec)["ID"])


def row(obj: Obj, now: datetime, kind: str = "secret") -> Obj:
    """A secret or config as `ls` shows it, keyed by Docker's --format names (a secret has
    a Driver, empty: swarmlet keeps secrets in its store)."""
    labels = obj["Spec"].get("Labels") or {}
    fields: Obj = {"ID": obj["ID"], "Name": obj["Spec"].get("Name", "")}
    if kind == "secret":
        fields["Driver"] = (obj["Spec"].get("Driver") or {}).get("Name", "")
    return {**fields, "CreatedAt": ago(obj.get("CreatedAt", ""), now),
            "UpdatedAt": ago(obj.get("UpdatedAt", ""), now),
            "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
            "Label": label_method(labels)}


def cmd_ls(args: argparse.Namespace) -> None:
    now = datetime.now(UTC)
    objects = sorted(Client(args.host).get(f"/{args.kind}s"),
                     key=lambda o: natural_key(o["Spec"].get("Name", "")))
    print_rows([row(o, now, args.kind) for o in objects], args.format, LISTINGS[args.kind],
               quiet=args.quiet)


def pretty(obj: Obj) -> str:
    """Docker's `secret|config inspect --pretty`."""
    spec = obj["Spec"]
    lines = [f"ID:              {obj['ID']}", f"Name:              {spec.get('Name', '')}"]
    if spec.get("Labels"):
        lines.append("Labels:")
        lines += [f" - {k}={v}" for k, v in sorted(spec["Labels"].items())]
    lines += [f"Created at:        {obj.get('CreatedAt', '')}",
              f"Updated at:        {obj.get('UpdatedAt', '')}"]
    if "Data" in spec:  # configs only
        lines += ["Data:", base64.b64decode(spec["Data"]).decode("utf-8", "replace")]
    return "\n".join(lines)


def cmd_inspect(args: argparse.Namespace) -> None:
    """Docker's: those found, then one error line per missing one."""
    found, missing = get_each(Client(args.host), f"{args.kind}s", args.refs,
                              lambda ref: f"Error: no such {args.kind}: {ref}")
    print_inspect(found, "pretty" if args.pretty else args.format, pretty, errors=missing)


def cmd_rm(args: argparse.Namespace) -> None:
    remove_each(Client(args.host), f"{args.kind}s", args.refs)
