"""Typed models of Docker's ServiceSpec (Engine API v1.41+ field names), as the API accepts
it: types, ranges and caps. Semantic rules, defaults and Docker's messages are applied on top
of these by swarmlet.spec.service (normalise_spec).

A field named like its type, as Docker names them, refers to the type through a `_Name`
alias: a class attribute of that name would hide the type."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from swarmlet.spec.base import (
    Duration,
    Ident,
    Int64,
    LabelMap,
    NonNegative,
    OptionMap,
    Port,
    PortOrZero,
    ShortText,
    Strict,
    Text,
    TextList,
)
from swarmlet.spec.limits import MAX_LIST, MAX_REPLICAS

ReplicaCount = Annotated[int, Field(ge=0, le=MAX_REPLICAS)]


class HealthConfig(Strict):
    Test: TextList | None = None
    Interval: Duration | None = None
    Timeout: Duration | None = None
    Retries: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    StartPeriod: Duration | None = None
    StartInterval: Duration | None = None


class FileTarget(Strict):
    Name: Text
    UID: ShortText | None = None
    GID: ShortText | None = None
    Mode: Annotated[int, Field(ge=0, le=0o7777)] | None = None


class SecretReference(Strict):
    File: FileTarget | None = None
    SecretID: Ident | None = None
    SecretName: ShortText | None = None


class ConfigReference(Strict):
    File: FileTarget | None = None
    Runtime: dict[str, ShortText] | None = None
    ConfigID: Ident | None = None
    ConfigName: ShortText | None = None


class BindOptions(Strict):
    Propagation: Literal["private", "rprivate", "shared", "rshared", "slave",
                         "rslave"] | None = None
    NonRecursive: bool | None = None
    CreateMountpoint: bool | None = None


_BindOptions = BindOptions


class DriverConfig(Strict):
    Name: ShortText | None = None
    Options: OptionMap | None = None


_DriverConfig = DriverConfig


class VolumeOptions(Strict):
    NoCopy: bool | None = None
    Labels: LabelMap | None = None
    DriverConfig: _DriverConfig | None = None
    Subpath: Text | None = None


_VolumeOptions = VolumeOptions


class TmpfsOptions(Strict):
    SizeBytes: NonNegative | None = None
    Mode: Annotated[int, Field(ge=0, le=0o7777)] | None = None


_TmpfsOptions = TmpfsOptions


class Mount(Strict):
    Type: Literal["bind", "volume", "tmpfs"] | None = None
    Source: Text | None = None
    Target: Text
    ReadOnly: bool | None = None
    Consistency: Literal["default", "consistent", "cached", "delegated"] | None = None
    BindOptions: _BindOptions | None = None
    VolumeOptions: _VolumeOptions | None = None
    TmpfsOptions: _TmpfsOptions | None = None


class DNSConfig(Strict):
    Nameservers: TextList | None = None
    Search: TextList | None = None
    Options: TextList | None = None


_DNSConfig = DNSConfig


class Ulimit(Strict):
    Name: ShortText
    Soft: Int64
    Hard: Int64


class ContainerSpec(Strict):
    Image: Text | None = None
    Labels: LabelMap | None = None
    Command: TextList | None = None
    Args: TextList | None = None
    Hostname: ShortText | None = None
    Env: TextList | None = None
    Dir: Text | None = None
    User: ShortText | None = None
    Groups: TextList | None = None
    TTY: bool | None = None
    OpenStdin: bool | None = None
    ReadOnly: bool | None = None
    Mounts: Annotated[list[Mount], Field(max_length=MAX_LIST)] | None = None
    StopSignal: ShortText | None = None
    StopGracePeriod: Duration | None = None
    Healthcheck: HealthConfig | None = None
    HealthCheck: HealthConfig | None = None  # Docker's spelling; stored as Healthcheck
    Hosts: TextList | None = None
    DNSConfig: _DNSConfig | None = None
    Secrets: Annotated[list[SecretReference], Field(max_length=MAX_LIST)] | None = None
    Configs: Annotated[list[ConfigReference], Field(max_length=MAX_LIST)] | None = None
    Init: bool | None = None
    Sysctls: OptionMap | None = None
    CapabilityAdd: TextList | None = None
    CapabilityDrop: TextList | None = None
    Ulimits: Annotated[list[Ulimit], Field(max_length=MAX_LIST)] | None = None
    OomScoreAdj: Annotated[int, Field(ge=-1000, le=1000)] | None = None


_ContainerSpec = ContainerSpec


class ResourceValues(Strict):
    NanoCPUs: NonNegative | None = None
    MemoryBytes: NonNegative | None = None
    Pids: NonNegative | None = None


class Resources(Strict):
    Limits: ResourceValues | None = None
    Reservations: ResourceValues | None = None


_Resources = Resources


class RestartPolicy(Strict):
    Condition: Literal["none", "on-failure", "any"] | None = None
    Delay: Duration | None = None
    MaxAttempts: NonNegative | None = None
    Window: Duration | None = None


_RestartPolicy = RestartPolicy


class SpreadOver(Strict):
    SpreadDescriptor: ShortText


class PlacementPreference(Strict):
    Spread: SpreadOver


class Platform(Strict):
    Architecture: ShortText | None = None
    OS: ShortText | None = None


class Placement(Strict):
    Constraints: TextList | None = None
    Preferences: Annotated[list[PlacementPreference], Field(max_length=MAX_LIST)] | None = None
    MaxReplicas: ReplicaCount | None = None
    Platforms: Annotated[list[Platform], Field(max_length=MAX_LIST)] | None = None


_Placement = Placement


class LogDriver(Strict):
    Name: ShortText | None = None
    Options: OptionMap | None = None


_LogDriver = LogDriver


class NetworkAttachmentConfig(Strict):
    Target: Ident
    Aliases: TextList | None = None
    DriverOpts: OptionMap | None = None


class TaskSpec(Strict):
    ContainerSpec: _ContainerSpec | None = None
    Resources: _Resources | None = None
    RestartPolicy: _RestartPolicy | None = None
    Placement: _Placement | None = None
    ForceUpdate: NonNegative | None = None
    Runtime: Literal["container"] | None = None
    Networks: Annotated[list[NetworkAttachmentConfig], Field(max_length=MAX_LIST)] | None = None
    LogDriver: _LogDriver | None = None


class ReplicatedMode(Strict):
    Replicas: ReplicaCount | None = None


class GlobalMode(Strict):
    pass


class ReplicatedJobMode(Strict):
    MaxConcurrent: ReplicaCount | None = None
    TotalCompletions: ReplicaCount | None = None


class ServiceMode(Strict):
    Replicated: ReplicatedMode | None = None
    Global: GlobalMode | None = None
    ReplicatedJob: ReplicatedJobMode | None = None
    GlobalJob: GlobalMode | None = None


class UpdateConfig(Strict):
    Parallelism: ReplicaCount | None = None
    Delay: Duration | None = None
    FailureAction: Literal["continue", "pause", "rollback"] | None = None
    Monitor: Duration | None = None
    MaxFailureRatio: Annotated[float, Field(ge=0, le=1)] | None = None
    Order: Literal["stop-first", "start-first"] | None = None


class PortConfig(Strict):
    Name: ShortText | None = None
    Protocol: Literal["tcp", "udp", "sctp"] | None = None
    TargetPort: Port
    PublishedPort: PortOrZero | None = None
    PublishMode: Literal["ingress", "host"] | None = None


class EndpointSpec(Strict):
    Mode: Literal["vip", "dnsrr"] | None = None
    Ports: Annotated[list[PortConfig], Field(max_length=MAX_LIST)] | None = None


_EndpointSpec = EndpointSpec


_UpdateConfig = UpdateConfig


class ServiceSpec(Strict):
    """The body of POST /services/create and /services/{id}/update."""

    Name: ShortText | None = None
    Labels: LabelMap | None = None
    TaskTemplate: TaskSpec | None = None
    Mode: ServiceMode | None = None
    UpdateConfig: _UpdateConfig | None = None
    RollbackConfig: _UpdateConfig | None = None
    EndpointSpec: _EndpointSpec | None = None
