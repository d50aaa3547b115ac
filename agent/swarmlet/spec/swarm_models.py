"""Typed models of the swarm's bodies: SwarmSpec (/swarm/update, init), the init, join and
leave requests, and NodeSpec (/nodes/{id}/update), with Docker's field names.

A field named like its type refers to the type through a `_Name` alias (see service_models).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from swarmlet.spec.base import (
    Duration,
    LabelMap,
    ShortText,
    Strict,
)
from swarmlet.spec.limits import (
    MAX_HEARTBEAT,
    MAX_LIST,
    MAX_RETENTION,
    MIN_CERT_EXPIRY,
    MIN_HEARTBEAT,
)
from swarmlet.spec.service_models import LogDriver as _LogDriver

Tick = Annotated[int, Field(ge=1, le=1_000_000)]
MAX_PEM = 64 * 1024
RoleName = Literal["worker", "manager"]
AvailabilityName = Literal["active", "pause", "drain"]


class OrchestrationConfig(Strict):
    TaskHistoryRetentionLimit: Annotated[int, Field(ge=0, le=MAX_RETENTION)] | None = None


class RaftConfig(Strict):
    SnapshotInterval: Annotated[int, Field(ge=1, le=10**9)] | None = None
    KeepOldSnapshots: Annotated[int, Field(ge=0, le=1_000)] | None = None
    LogEntriesForSlowFollowers: Annotated[int, Field(ge=0, le=10**9)] | None = None
    ElectionTick: Tick | None = None
    HeartbeatTick: Tick | None = None


class DispatcherConfig(Strict):
    HeartbeatPeriod: Annotated[int, Field(ge=MIN_HEARTBEAT, le=MAX_HEARTBEAT)] | None = None


class CAConfig(Strict):
    NodeCertExpiry: Annotated[Duration, Field(ge=MIN_CERT_EXPIRY)] | None = None
    # An external root CA (PEM) given at init; never stored in the spec (spec/swarm.py)
    SigningCACert: Annotated[str, Field(max_length=MAX_PEM)] | None = None
    SigningCAKey: Annotated[str, Field(max_length=MAX_PEM)] | None = None
    ForceRotate: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None


class EncryptionConfig(Strict):
    AutoLockManagers: bool | None = None


class TaskDefaults(Strict):
    LogDriver: _LogDriver | None = None


_OrchestrationConfig, _RaftConfig, _DispatcherConfig = (OrchestrationConfig, RaftConfig,
                                                        DispatcherConfig)
_CAConfig, _EncryptionConfig, _TaskDefaults = CAConfig, EncryptionConfig, TaskDefaults


class SwarmSpec(Strict):
    """The body of POST /swarm/update (fields left out keep their current values)."""

    Name: ShortText | None = None
    Labels: LabelMap | None = None
    Orchestration: _OrchestrationConfig | None = None
    Raft: _RaftConfig | None = None
    Dispatcher: _DispatcherConfig | None = None
    CAConfig: _CAConfig | None = None
    EncryptionConfig: _EncryptionConfig | None = None
    TaskDefaults: _TaskDefaults | None = None


class InitRequest(Strict):
    """The body of POST /swarm/init."""

    AdvertiseAddr: ShortText | None = None
    ListenAddr: ShortText | None = None
    ForceNewCluster: bool | None = None
    DefaultAddrPool: Annotated[list[ShortText], Field(max_length=MAX_LIST)] | None = None
    SubnetSize: Annotated[int, Field(ge=0, le=32)] | None = None
    DataPathPort: Annotated[int, Field(ge=0, le=65535)] | None = None
    Spec: SwarmSpec | None = None
    AutoLockManagers: bool | None = None  # as Docker's: the same as Spec.EncryptionConfig's


class RaftKeysRequest(Strict):
    """The body of POST /raft/keys (manager to manager)."""

    Epoch: Annotated[int, Field(ge=0, le=2**31)]


class UnlockRequest(Strict):
    """The body of POST /swarm/unlock."""

    UnlockKey: ShortText


class JoinRequest(Strict):
    """The body of POST /swarm/join."""

    JoinToken: ShortText
    RemoteAddrs: Annotated[list[ShortText], Field(min_length=1, max_length=MAX_LIST)]
    AdvertiseAddr: ShortText | None = None
    ListenAddr: ShortText | None = None
    Availability: AvailabilityName | None = None


class NodeSpec(Strict):
    """The body of POST /nodes/{id}/update (fields left out keep their current values)."""

    Name: ShortText | None = None
    Labels: LabelMap | None = None
    Role: RoleName | None = None
    Availability: AvailabilityName | None = None


