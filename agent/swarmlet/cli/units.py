"""Docker's units for the CLI: byte sizes (RAMInBytes, BytesSize), CPUs and Go durations are
the spec core's syntax (swarmlet.spec.syntax), raising SwarmletError here; HumanDuration is
the CLI's own (display only)."""

from __future__ import annotations

from typing import Any

from swarmlet.errors import SwarmletError
from swarmlet.spec import syntax
from swarmlet.spec.syntax import NANO, bytes_size, cpus_text
from swarmlet.spec.syntax import format_duration as duration_text

__all__ = ["NANO", "bytes_size", "cpus_text", "duration_nanos", "duration_text",
           "human_duration", "nano_cpus", "ram_in_bytes"]


def _cli(parse: Any, text: str) -> Any:
    try:
        return parse(text)
    except ValueError as exc:
        raise SwarmletError(str(exc)) from None


def ram_in_bytes(text: str) -> int:
    """Bytes in a size as Docker's RAMInBytes reads it: 64m, 1g, 512k, 1.5GiB, 100 MB, 42."""
    return _cli(syntax.ram_in_bytes, text)


def nano_cpus(text: str) -> int:
    """NanoCPUs in a decimal CPU count ("0.5" -> 500000000), as Docker's NanoCPUs flag."""
    return _cli(syntax.nano_cpus, text)


def duration_nanos(text: str, negative: bool = False) -> int:
    """Nanoseconds in a Go duration ("1m30s", ".5s", "0"); Go's error wording otherwise."""
    try:
        return syntax.parse_duration(text, negative)
    except ValueError:
        raise SwarmletError(f'time: invalid duration "{text}"') from None


def human_duration(seconds: float) -> str:
    """Docker's HumanDuration: "Less than a second", "9 seconds", "About a minute", ..."""
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < 60:
        return f"{whole} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)  # Go's d.Round(time.Hour), half away from zero
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"
