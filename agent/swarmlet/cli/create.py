"""Creating a named object (service, network, secret, config) so that a retry is safe.

A create whose outcome is unknown (the manager proposed it, then lost its quorum or its
leadership; or the connection dropped after the request was sent) may have taken effect.
Names are unique per kind, so asking again cannot make a second one: it either creates the
object or answers 409 "already exists". After an unknown outcome, a 409 for an object of
that name created since the first attempt means the first attempt did it: its ID is the
answer. Any other error is the user's, as it would have been.
"""

from __future__ import annotations

import time
from typing import Any

from swarmlet.cli.service_format import parse_time
from swarmlet.client import ApiResponseError, Client, ConnectionBroken
from swarmlet.errors import UNKNOWN_OUTCOME, SwarmletError

ATTEMPTS = 5
PAUSE = 1.0          # seconds between attempts (a new leader takes about one)
CLOCK_SLACK = 5.0    # seconds the manager's clock may be behind this host's


def _unknown(err: SwarmletError) -> bool:
    if isinstance(err, ApiResponseError):
        return err.status == 503 and UNKNOWN_OUTCOME in str(err)
    return isinstance(err, ConnectionBroken)


def create(client: Client, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """POST /{kind}s/create, asked again while its outcome is unknown."""
    started = time.time()
    outcome_unknown = False
    for attempt in range(ATTEMPTS):
        try:
            return dict(client.post(f"/{kind}s/create", spec))
        except SwarmletError as err:
            if outcome_unknown and isinstance(err, ApiResponseError) and err.status == 409:
                mine = _created_since(client, kind, spec.get("Name", ""), started)
                if mine is not None:
                    return {"ID": mine}
            if not _unknown(err) or attempt == ATTEMPTS - 1:
                raise
            outcome_unknown = True
        time.sleep(PAUSE)
    raise AssertionError("unreachable")


def _created_since(client: Client, kind: str, name: str, started: float) -> str | None:
    try:
        found = client.get(f"/{kind}s/{name}")
    except SwarmletError:
        return None
    created = parse_time(found.get("CreatedAt")).timestamp()
    return str(found["ID"]) if created >= started - CLOCK_SLACK else None
