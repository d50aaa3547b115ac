"""`rm` of several objects, as Docker's CLI does it: each removed one is printed, every failure
is collected, and the command fails at the end with all of them."""

from __future__ import annotations

from swarmlet.client import ApiResponseError, Client
from swarmlet.errors import SwarmletError


def remove_each(client: Client, collection: str, refs: list[str]) -> None:
    errors = []
    for ref in refs:
        try:
            client.delete(f"/{collection}/{ref}")
            print(ref)
        except ApiResponseError as exc:
            errors.append(f"Error response from daemon: {exc}")
    if errors:
        raise SwarmletError("\n".join(errors))
