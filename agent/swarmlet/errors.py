"""Errors the user sees, and the domain errors every layer raises.

A DomainError carries a `code` saying what kind of failure it is (SwarmKit uses gRPC codes
for this); only the api layer turns codes into HTTP statuses (swarmlet.api.statuses). The
CLI prints the message and exits with status 1.
"""


# The words of an answer to a write whose commit was not seen (store/raft.py UnknownOutcome):
# clients that retry look for them (cli/create.py).
UNKNOWN_OUTCOME = "the write may or may not have taken effect"


class SwarmletError(Exception):
    """An error with a message meant for the user, in Docker's words where Docker has some."""


class DomainError(SwarmletError):
    """A refusal or failure with a code: invalid, not_found, conflict, name_conflict, exists,
    unauthorized, unavailable, no_leader, ... (the store adds its own)."""

    code = "invalid"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidArgument(DomainError):
    code = "invalid"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """Out of date (a stale version) or in the way of another object (a name in use)."""

    code = "conflict"


class PermissionDenied(DomainError):
    code = "unauthorized"


class Unavailable(DomainError):
    """Not now: no leader, no quorum, a service still starting. Retrying may work."""

    code = "unavailable"
