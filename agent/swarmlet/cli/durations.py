"""Go-style durations as Docker's flags take them: 300ms, 5s, 1m30s, 2h."""

from __future__ import annotations

import re

from swarmlet.errors import SwarmletError

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Seconds in a duration such as "1m30s"; a clear error for anything else."""
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise SwarmletError(f'invalid duration "{text}": use a number with a unit, '
                            "such as 300ms, 5s, 1m30s")
    return total
