"""API versions: the `/vX.Y/` prefix of a request, and the range this facade serves.

The highest version answered is the lower of ENGINE_MAX (what swarmlet's swarm routes are
written and tested against) and the node's dockerd's own (requests that are not about the
swarm go to it unchanged, so a client must not ask for more than it knows). Clients
negotiate with /_ping's API-Version header, or /version's ApiVersion (the docker SDK).
"""

from __future__ import annotations

import re

from swarmlet.transport.errors import HttpError

ENGINE_MIN = "1.24"  # Docker's minimum since Engine 20.10
ENGINE_MAX = "1.41"  # Docker Engine 20.10's: Debian 12's docker.io
_PREFIX = re.compile(r"^/v(\d{1,3})\.(\d{1,3})(?=/)")


def parse(version: str) -> tuple[int, int]:
    major, _, minor = version.partition(".")
    return int(major), int(minor)


def lower(a: str, b: str) -> str:
    return a if parse(a) <= parse(b) else b


def split_version(path: str, highest: str) -> tuple[str | None, str]:
    """'/v1.41/services' -> ('1.41', '/services'); a path without a prefix -> (None, path).
    A version outside [ENGINE_MIN, highest] is Docker's 400."""
    m = _PREFIX.match(path)
    if m is None:
        return None, path
    version = f"{int(m.group(1))}.{int(m.group(2))}"
    if parse(version) > parse(highest):
        raise HttpError(400, f"client version {version} is too new. Maximum supported API "
                             f"version is {highest}")
    if parse(version) < parse(ENGINE_MIN):
        raise HttpError(400, f"client version {version} is too old. Minimum supported API "
                             f"version is {ENGINE_MIN}, please upgrade your client to a newer "
                             "version")
    return version, path[m.end():]


def is_versioned(target: str) -> bool:
    return _PREFIX.match(target) is not None
