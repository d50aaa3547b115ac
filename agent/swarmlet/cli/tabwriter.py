"""Columns as Docker's CLI aligns a table (cli/command/formatter/tabwriter, Go's text/tabwriter
with minwidth 10, padding 3, spaces): a cell is text ended by a tab; a column's width is the
widest cell of the consecutive lines that have it, plus the padding, at least the minimum; the
last cell of a line is never padded; a line without a tab ends the block of aligned lines."""

from __future__ import annotations

import unicodedata

MIN_WIDTH, PADDING = 10, 3


def cell_width(text: str) -> int:
    """Terminal columns, as go-runewidth counts them (wide East Asian characters take 2)."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def align(text: str, min_width: int = MIN_WIDTH, padding: int = PADDING) -> str:
    """`text` (lines of tab-separated cells) with its columns aligned."""
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    block: list[list[str]] = []
    for i, cells in enumerate(lines):
        block.append(cells)
        if len(cells) == 1 and i < len(lines) - 1:  # a line of one cell flushes the block
            _format(block, 0, [], out, min_width, padding)
            block = []
    _format(block, 0, [], out, min_width, padding)
    return "\n".join(out)


def _format(lines: list[list[str]], column: int, widths: list[int], out: list[str],
            min_width: int, padding: int) -> None:
    """Lines that have a cell in `column` (before their last) form a block sharing its
    width; each block is formatted column by column, the others written as they are."""
    start = i = 0
    while i < len(lines):
        if column >= len(lines[i]) - 1:
            i += 1
            continue
        _write(lines[start:i], widths, out)
        start = i
        width = min_width
        while i < len(lines) and column < len(lines[i]) - 1:
            width = max(width, cell_width(lines[i][column]) + padding)
            i += 1
        _format(lines[start:i], column + 1, [*widths, width], out, min_width, padding)
        start = i
    _write(lines[start:], widths, out)


def _write(lines: list[list[str]], widths: list[int], out: list[str]) -> None:
    for cells in lines:
        text = ""
        for j, cell in enumerate(cells):
            text += cell
            if j < len(widths) and j < len(cells) - 1:
                text += " " * (widths[j] - cell_width(cell))
        out.append(text)
