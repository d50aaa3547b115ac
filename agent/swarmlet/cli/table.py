"""Tables and JSON lines as Docker's CLI prints them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def print_table(header: list[str], rows: list[list[str]], gap: int = 3) -> None:
    """Left-aligned columns padded like Docker's tabwriter (the last column unpadded)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [f"{c!s:<{w}}" for c, w in zip(row[:-1], widths[:-1], strict=True)]
        print((" " * gap).join([*cells, str(row[-1])]).rstrip())


def print_json_lines(objects: list[dict[str, Any]]) -> None:
    """`--format json`: one object per line, as `docker ... ls --format json`."""
    for obj in objects:
        print(json.dumps(obj, sort_keys=True))


def print_listing(rows: list[dict[str, Any]], quiet: bool, output: str, header: list[str],
                  cells: Callable[[dict[str, Any]], list[str]]) -> None:
    """What every `ls`/`ps` prints: IDs with -q, JSON lines with --format json, else a table."""
    if quiet:
        for row in rows:
            print(row["ID"])
    elif output == "json":
        print_json_lines(rows)
    else:
        print_table(header, [cells(r) for r in rows])


def print_inspect(objects: list[dict[str, Any]], pretty: bool,
                  render: Callable[[dict[str, Any]], str]) -> None:
    """`inspect`: a JSON array, or with --pretty each object in Docker's text layout."""
    if not pretty:
        print(json.dumps(objects, indent=4))
        return
    for obj in objects:
        print(render(obj))
