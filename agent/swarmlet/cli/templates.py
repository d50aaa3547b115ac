"""`--format` as Docker's CLI takes it on every ls/ps/inspect command: `table`, `json`,
`table TEMPLATE` or a Go template (cli/command/formatter, cli/templates, cli/command/inspect).

For list commands (ls, ps, stack ls/ps/services):

    print_rows(rows, fmt, listing, *, quiet=False) -> None
        rows     dicts keyed by the field names Docker's formatter gives a row ({{.Name}});
                 values are printed as Go prints them; a Method value takes arguments
                 ({{.Label "com.example"}}); `--format json` prints the other fields
        fmt      the --format value: "" or "table" (the listing's default table), "json"
                 (one object per line), "table TEMPLATE" (a header row and aligned columns)
                 or "TEMPLATE" (one line per row); `\\t` and `\\n` are tab and newline
        listing  a Listing: Docker's default table format, its header names and the Go type
                 named in errors; or just the default table format (headers derived from the
                 field names: DesiredState -> DESIRED STATE)
        quiet    -q: the IDs with the default format (a custom --format still applies)
    is_table(fmt, quiet) -> bool   the output is a table (`service ps` indents history then)
    add_format_option(parser)      Docker's `--format` flag (default: the table)

    The listings Docker's stack commands share: service_format.SERVICE_LS (stack services,
    rows from service_format.service_rows), service_format.TASK_PS (stack ps, rows from
    service_format.task_rows); `stack ls` is print_rows(rows, fmt,
    "table {{.Name}}\\t{{.Services}}") with rows {"Name": ..., "Services": "3"}.

For inspect commands:

    print_inspect(objects, fmt, pretty=None, errors=()) -> None
        fmt "" prints the JSON array indented, "json" on one line, "pretty" (or --pretty)
        `pretty(obj)` for each, a template each object's line; errors (the references not
        found, then each object the template failed on) end the command with exit status 1.

A bad template raises TemplateError with Docker's words ("template parsing error: template:
:1: function \\"foo\\" not defined"); main prints it and exits with its exit_code.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from swarmlet.cli import tabwriter
from swarmlet.errors import SwarmletError
from swarmlet.spec.gotemplate.exec import Executor
from swarmlet.spec.gotemplate.funcs import FUNCTIONS, HEADER_FUNCTIONS
from swarmlet.spec.gotemplate.nodes import Node, TemplateError
from swarmlet.spec.gotemplate.parse import parse
from swarmlet.spec.gotemplate.values import GoStruct, Method

__all__ = ["Listing", "Method", "TemplateError", "add_format_option",
           "add_inspect_format_option", "is_table", "label_method", "print_inspect",
           "print_rows", "render_rows"]

FORMAT_HELP = ("Format output using a custom template: 'table' (default): a table with "
               "column headers; 'table TEMPLATE': a table using the given Go template; "
               "'json': JSON; 'TEMPLATE': the given Go template")
INSPECT_FORMAT_HELP = ("Format output using a custom template: 'json': JSON; 'TEMPLATE': the "
                       "given Go template")


@dataclass(frozen=True)
class Listing:
    """What Docker's formatter knows of a list: its default table, the header of each field
    (SubHeaderContext), and the Go type errors name (*service.serviceContext)."""
    table: str
    headers: Mapping[str, str] = field(default_factory=dict)
    type_name: str = "*formatter.rowContext"


def add_format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", default="", metavar="string", help=FORMAT_HELP)


def add_inspect_format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--format", default="", metavar="string",
                        help=INSPECT_FORMAT_HELP)


def label_method(labels: Mapping[str, str] | None) -> Method:
    """A row's `Label "key"`: the label's value, "" when it has none."""
    return Method(("string",), lambda key: (labels or {}).get(key, ""))


def header_name(name: str) -> str:
    """A field's column name: DesiredState -> DESIRED STATE."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).upper()


def template_source(fmt: str) -> str:
    """Docker's Format.templateString: "json" is {{json .}}; a "table" prefix goes; spaces
    around are trimmed; the two-character escapes \\t and \\n become tab and newline."""
    if fmt == "json":
        return "{{json .}}"
    text = fmt.removeprefix("table").strip(" ")
    return text.replace("\\t", "\t").replace("\\n", "\n")


def resolve(fmt: str, quiet: bool, default_table: str) -> str:
    """The format a list command uses: Docker's NewListFormat."""
    if fmt in ("", "table"):
        return "{{.ID}}" if quiet else default_table
    return fmt


def is_table(fmt: str, quiet: bool = False) -> bool:
    return resolve(fmt, quiet, "table").startswith("table")


def compile_template(source: str, header: bool = False) -> list[Node]:
    try:
        return parse(source, HEADER_FUNCTIONS if header else FUNCTIONS)
    except TemplateError as exc:
        raise TemplateError(f"template parsing error: {exc}") from None


def render_rows(rows: Sequence[Mapping[str, Any]], fmt: str, listing: Listing | str,
                quiet: bool = False) -> str:
    """What print_rows prints."""
    if isinstance(listing, str):
        names = {k for row in rows for k in row} | set(re.findall(r"\.(\w+)", listing))
        listing = Listing(listing, {n: header_name(n) for n in names})
    chosen = resolve(fmt, quiet, listing.table)
    source = template_source(chosen)
    tree = compile_template(source)
    body: list[str] = []
    executor = Executor(FUNCTIONS, strict_maps=False)
    for row in rows:
        try:
            executor.run(tree, source, GoStruct(listing.type_name, dict(row)), body)
        except TemplateError as exc:
            raise TemplateError(f"template parsing error: {exc}") from None
        body.append("\n")
    if not chosen.startswith("table"):
        return "".join(body)
    header: list[str] = []
    header_data = GoStruct("formatter.SubHeaderContext",
                           {**listing.headers, "Label": Method(("string",), _header_label)},
                           lenient=True)
    # Docker ignores a header the template fails on: what was written before stays
    with contextlib.suppress(TemplateError):
        Executor(HEADER_FUNCTIONS, strict_maps=False).run(
            compile_template(source, header=True), source, header_data, header)
    return tabwriter.align("".join(header) + "\n" + "".join(body))


def _header_label(name: str) -> str:
    """SubHeaderContext.Label: the last dotted part of a label key, - and _ as spaces."""
    return name.split(".")[-1].replace("-", " ").replace("_", " ")


def print_rows(rows: Sequence[Mapping[str, Any]], fmt: str, listing: Listing | str,
               quiet: bool = False) -> None:
    sys.stdout.write(render_rows(rows, fmt, listing, quiet))


def render_inspect(objects: Sequence[Any], fmt: str,
                   pretty: Callable[[Any], str] | None = None) -> tuple[str, list[str]]:
    """The text `inspect` prints, and the errors of the objects the template failed on."""
    if pretty is not None and fmt.startswith("pretty"):
        if fmt != "pretty":
            raise SwarmletError("cannot supply extra formatting options to the pretty template")
        return "".join(pretty(obj) + "\n" for obj in objects), []
    if fmt == "":
        return json.dumps(list(objects), indent=4) + "\n", []
    if fmt == "json":
        return json.dumps(list(objects), separators=(",", ":"), ensure_ascii=False) + "\n", []
    tree = compile_template(fmt)
    out, errors = [], []
    executor = Executor(FUNCTIONS, strict_maps=True)
    for obj in objects:
        text: list[str] = []
        try:
            executor.run(tree, fmt, obj, text)
        except TemplateError as exc:
            errors.append(f"template parsing error: {exc}")
            continue
        out.append("".join(text) + "\n")
    return "".join(out) or "\n", errors


def print_inspect(objects: Sequence[Any], fmt: str, pretty: Callable[[Any], str] | None = None,
                  errors: Sequence[str] = (), parse_exit: int = 1) -> None:
    """Docker's inspect: every object found, then the errors (missing references first)."""
    try:
        text, failed = render_inspect(objects, fmt, pretty)
    except TemplateError as exc:
        exc.exit_code = parse_exit
        raise
    sys.stdout.write(text)
    if errors or failed:
        raise SwarmletError("\n".join([*errors, *failed]))
