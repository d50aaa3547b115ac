"""The one place where domain error codes become HTTP statuses (Docker's errdefs mapping:
invalid → 400, unauthorized → 403, not found → 404, conflict → 409, unavailable → 503)."""

from __future__ import annotations

from swarmlet.errors import DomainError, SwarmletError

STATUS_OF_CODE = {
    "invalid": 400,
    "unauthorized": 403,
    "bad_key": 401,  # Docker's invalidUnlockKey is Unauthorized: 401
    "not_found": 404,
    "conflict": 409,
    "name_conflict": 409,
    "exists": 409,
    "unavailable": 503,
    "no_leader": 503,
    "not_leader": 503,
    "closed": 503,
    "leader": 503,  # a leadership transfer that did not finish
    "unknown_outcome": 503,  # proposed, commit not seen (store/raft.py UnknownOutcome)
}


def http_status(exc: SwarmletError) -> int:
    """A user's error is a 4xx unless the cluster cannot answer now (503)."""
    if isinstance(exc, DomainError):
        return STATUS_OF_CODE.get(exc.code, 400)
    return 400
