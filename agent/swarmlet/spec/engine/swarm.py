"""The Engine API's swarm and node requests in Docker's shapes: their query parameters and
the bodies of /swarm/init, /swarm/join and /swarm/unlock (types/swarm's InitRequest,
JoinRequest, UnlockRequest). Go ignores JSON fields it does not know, so these do too; a
SwarmSpec or NodeSpec inside is translated (api/engine/swarm_shapes.py) and then checked by
swarmlet's own models (spec/swarm_models.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from swarmlet.spec.base import ShortText
from swarmlet.spec.engine.base import EngineQuery
from swarmlet.spec.limits import MAX_LIST, MAX_STRING
from swarmlet.spec.query_models import Flag, Index

Filters = Annotated[str, Field(max_length=MAX_STRING)]
AvailabilityOrZero = Literal["active", "pause", "drain", ""]


class NodeListQuery(EngineQuery):
    filters: Filters | None = None


class EngineVersionedQuery(EngineQuery):
    version: Index


class EngineSwarmUpdateQuery(EngineVersionedQuery):
    rotateWorkerToken: Flag | None = None
    rotateManagerToken: Flag | None = None
    rotateManagerUnlockKey: Flag | None = None


class EngineForceQuery(EngineQuery):
    force: Flag | None = None


class EngineBody(BaseModel):
    """A Docker request body: strict types, unknown fields ignored (as Go's decoder)."""

    model_config = ConfigDict(extra="ignore", strict=True, str_max_length=MAX_STRING)


class EngineInitRequest(EngineBody):
    ListenAddr: ShortText | None = None
    AdvertiseAddr: ShortText | None = None
    DataPathAddr: ShortText | None = None
    DataPathPort: Annotated[int, Field(ge=0, le=65535)] | None = None
    DefaultAddrPool: Annotated[list[ShortText], Field(max_length=MAX_LIST)] | None = None
    SubnetSize: Annotated[int, Field(ge=0, le=32)] | None = None
    ForceNewCluster: bool | None = None
    Spec: dict[str, Any] | None = None  # a SwarmSpec: translated, then checked as swarmlet's
    AutoLockManagers: bool | None = None
    Availability: AvailabilityOrZero | None = None


class EngineJoinRequest(EngineBody):
    ListenAddr: ShortText | None = None
    AdvertiseAddr: ShortText | None = None
    DataPathAddr: ShortText | None = None
    RemoteAddrs: Annotated[list[ShortText], Field(min_length=1, max_length=MAX_LIST)]
    JoinToken: ShortText
    Availability: AvailabilityOrZero | None = None


class EngineUnlockRequest(EngineBody):
    UnlockKey: ShortText


class EngineSpecBody(EngineBody):
    """A body that is a spec (SwarmSpec, NodeSpec): any JSON object here; its fields are
    translated and checked by swarmlet's models, which name the one refused."""

    model_config = ConfigDict(extra="allow", strict=True, str_max_length=MAX_STRING)
