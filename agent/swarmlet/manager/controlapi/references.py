"""Resolving a reference to a named object as Docker does (SERVICE, NETWORK, SECRET...): an
ID, a name, or a unique ID prefix; 404 and 409 with Docker's messages otherwise."""

from __future__ import annotations

from typing import Any

from swarmlet.errors import Conflict, NotFound


def resolve(store: Any, kind: str, ref: str) -> dict[str, Any]:
    found = store.get(kind, ref) or store.find_by_name(kind, ref)
    if found is not None:
        return found
    matches = [o for o in store.list(kind) if o["ID"].startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise Conflict(f"{kind} {ref} is ambiguous ({len(matches)} matches found)")
    raise NotFound(f"{kind} {ref} not found")
