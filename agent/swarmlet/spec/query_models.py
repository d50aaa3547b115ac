"""Typed models of the query parameters the API takes. Values stay strings (as they come);
the patterns say which strings are accepted, so a handler's own parsing cannot fail."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from swarmlet.spec.base import Ident, Strict
from swarmlet.spec.event_times import EventTime

Flag = Annotated[str, Field(pattern=r"^(1|0|t|f|true|false|True|False|TRUE|FALSE|yes|no)$")]
Index = Annotated[str, Field(pattern=r"^[0-9]{1,18}$")]
TRUE = ("1", "t", "true", "True", "TRUE", "yes")


def is_true(value: str | None) -> bool:
    return value in TRUE


class NoQuery(Strict):
    """Routes that take no query parameters."""


class DryRunQuery(Strict):
    dry_run: Flag | None = None


class VersionedQuery(Strict):
    version: Index
    dry_run: Flag | None = None


class SwarmUpdateQuery(VersionedQuery):
    rotateWorkerToken: Flag | None = None
    rotateManagerToken: Flag | None = None
    rotateManagerUnlockKey: Flag | None = None


class ServiceUpdateQuery(VersionedQuery):
    rollback: Annotated[str, Field(pattern=r"^previous$")] | None = None


class ForceQuery(Strict):
    force: Flag | None = None


class RemoveQuery(Strict):
    force: Flag | None = None
    dry_run: Flag | None = None


class LogsQuery(Strict):
    tail: Annotated[str, Field(pattern=r"^(all|[0-9]{1,9})$")] | None = None
    follow: Flag | None = None


class EventsQuery(Strict):
    """GET /events: Docker's since/until (spec/event_times.py) and JSON filters."""

    since: EventTime | None = None
    until: EventTime | None = None
    filters: Annotated[str, Field(max_length=16384)] | None = None


class TaskQuery(Strict):
    service: Ident | None = None
    node: Ident | None = None
