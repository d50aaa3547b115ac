"""Machine names: each is the machine's hostname, so it must be a valid one."""

import re

from swarmlet.errors import SwarmletError

# One DNS label (RFC 1123): letters, digits and '-', not at either end, at most 63 characters.
_HOSTNAME_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def check_name(name: str) -> str:
    """Return the name if it can be a machine's hostname, else raise a clear error."""
    if not _HOSTNAME_LABEL.match(name):
        raise SwarmletError(
            f'Invalid machine name "{name}": a machine name is its hostname, so it may hold only '
            "letters, digits and '-', may not start or end with '-', and has 1 to 63 characters"
        )
    return name


def check_unique(names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise SwarmletError(f'Machine name "{name}" is given twice')
        seen.add(name)
