"""Getting several objects by reference, as Docker's CLI does for `inspect` and `ps`: those
found, and one error line for each one not found (other errors stop the command)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from swarmlet.client import ApiResponseError, Client


def get_each(client: Client, collection: str, refs: list[str],
             not_found: Callable[[str], str]) -> tuple[list[dict[str, Any]], list[str]]:
    found, missing = [], []
    for ref in refs:
        try:
            found.append(client.get(f"/{collection}/{ref}"))
        except ApiResponseError as exc:
            if exc.status != 404:
                raise
            missing.append(not_found(ref))
    return found, missing
