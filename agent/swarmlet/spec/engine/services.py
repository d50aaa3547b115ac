"""The query parameters of Docker's /services and /tasks routes, and the body of a service
create or update as Docker's clients send it (checked field by field once translated:
api/engine/service_specs.py, then the spec core)."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

from swarmlet.spec.engine.base import EngineQuery
from swarmlet.spec.query_models import Index

# Docker's flags: "1", "true", ... (strconv.ParseBool) and "" for false.
BoolParam = Annotated[str, Field(pattern=r"^(|1|0|t|f|T|F|true|false|True|False|TRUE|FALSE)$")]
FiltersParam = Annotated[str, Field(max_length=65536)]


class ServiceListQuery(EngineQuery):
    filters: FiltersParam | None = None
    status: BoolParam | None = None


class ServiceInspectQuery(EngineQuery):
    insertDefaults: BoolParam | None = None


class ServiceUpdateQuery(EngineQuery):
    version: Index
    registryAuthFrom: Annotated[str, Field(pattern=r"^(|spec|previous-spec)$")] | None = None
    rollback: Annotated[str, Field(pattern=r"^(|previous)$")] | None = None


class TaskListQuery(EngineQuery):
    filters: FiltersParam | None = None


class LogsQuery(EngineQuery):
    """Docker's container-logs options, as `docker service logs` sends them."""

    stdout: BoolParam | None = None
    stderr: BoolParam | None = None
    follow: BoolParam | None = None
    timestamps: BoolParam | None = None
    details: BoolParam | None = None
    # Unix seconds with a fraction (the CLI converts --since to it) or RFC 3339: handed to
    # each node's dockerd, so checked here rather than failing there unseen.
    since: Annotated[str, Field(pattern=r"^(|-?[0-9]{1,12}(\.[0-9]{1,9})?|[0-9]{4}-[0-9]{2}-"
                                        r"[0-9]{2}T[0-9:.]{8,18}(Z|[+-][0-9]{2}:[0-9]{2}))$")] \
        | None = None
    tail: Annotated[str, Field(pattern=r"^(|all|-?[0-9]{1,9})$")] | None = None


class DockerServiceSpec(EngineQuery):
    """Any JSON object: Docker's ServiceSpec has fields swarmlet's model does not know, and
    the translation decides which of them may be dropped; the spec core checks the rest."""

    model_config = ConfigDict(extra="allow", strict=True)


def is_set(value: str | None) -> bool:
    """A Docker boolean query parameter (strconv.ParseBool: 1, t, true...)."""
    return (value or "").lower() in ("1", "t", "true")

