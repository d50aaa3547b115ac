"""Tables and JSON lines as Docker's CLI prints them."""

from __future__ import annotations

import json
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
