"""Plain tables (machine ls, the plan of --dry-run); the ls/ps commands print theirs
through cli/templates, as Docker's formatter does."""

from __future__ import annotations


def print_table(header: list[str], rows: list[list[str]], gap: int = 3) -> None:
    """Left-aligned columns padded like Docker's tabwriter (the last column unpadded)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [f"{c!s:<{w}}" for c, w in zip(row[:-1], widths[:-1], strict=True)]
        print((" " * gap).join([*cells, str(row[-1])]).rstrip())
