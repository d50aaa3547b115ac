"""Go-style durations as Docker's flags take them (300ms, 5s, .5s, 1m30s, 2h): the spec
core's syntax (swarmlet.spec.syntax), in seconds, with the CLI's error."""

from __future__ import annotations

from swarmlet.errors import SwarmletError
from swarmlet.spec.syntax import NANO
from swarmlet.spec.syntax import parse_duration as _parse_nanos


def parse_duration(text: str) -> float:
    """Seconds in a duration such as "1m30s"; a clear error for anything else."""
    try:
        return _parse_nanos(text) / NANO
    except ValueError:
        raise SwarmletError(f'invalid duration "{text}": use a number with a unit, '
                            "such as 300ms, 5s, 1m30s") from None
