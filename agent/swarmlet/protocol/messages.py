"""Typed models of the messages between nodes: CA requests (join, renew, client
certificates), the dispatcher's (assignments, task status, heartbeats, attachments) and the
log broker's. Nodes are trusted only as far as their certificate; their bodies are checked
like anyone's, before anything is written."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from swarmlet.spec.base import Ident, Int64, LabelMap, NonNegative, Port, ShortText, Strict, Text
from swarmlet.spec.limits import MAX_LIST, MAX_STRING, MAX_WAIT_SECONDS
from swarmlet.spec.service_models import Platform

CSR = Annotated[str, Field(min_length=1, max_length=16 << 10)]
TaskState = Literal["new", "pending", "assigned", "accepted", "preparing", "ready", "starting",
                    "running", "complete", "shutdown", "failed", "rejected", "remove",
                    "orphaned"]


class NodeResources(Strict):
    NanoCPUs: NonNegative | None = None
    MemoryBytes: NonNegative | None = None


class EngineDescription(Strict):
    EngineVersion: ShortText | None = None
    Labels: LabelMap | None = None


_Platform, _Resources = Platform, NodeResources


class NodeDescription(Strict):
    Hostname: ShortText | None = None
    Platform: _Platform | None = None
    Resources: _Resources | None = None
    Engine: EngineDescription | None = None
    ApiPort: Port | None = None


class CAJoinRequest(Strict):
    """POST /ca/join: a join token and a CSR for a node certificate."""

    Token: ShortText
    CSR: CSR
    AdvertiseAddr: ShortText
    ApiPort: Port | None = None
    RaftPort: Port | None = None
    Description: NodeDescription | None = None
    Availability: Literal["active", "pause", "drain"] | None = None


class CARenewRequest(Strict):
    CSR: CSR
    RaftPort: Port | None = None


class CAClientRequest(Strict):
    CSR: CSR


class AssignmentsRequest(Strict):
    AppliesTo: ShortText | None = None  # the ResultsIn of the set the node holds
    Wait: Annotated[float, Field(ge=0, le=MAX_WAIT_SECONDS)] | None = None


class ContainerStatus(Strict):
    ContainerID: ShortText | None = None
    PID: Int64 | None = None
    ExitCode: Int64 | None = None


_ContainerStatus = ContainerStatus


class TaskStatus(Strict):
    Timestamp: ShortText | None = None
    State: TaskState
    Message: Text | None = None
    Err: Text | None = None
    ContainerStatus: _ContainerStatus | None = None


_TaskStatus = TaskStatus


class TaskStatusUpdate(Strict):
    ID: Ident
    Status: _TaskStatus


class TaskStatusRequest(Strict):
    Updates: Annotated[list[TaskStatusUpdate], Field(max_length=MAX_LIST)]


class HeartbeatRequest(Strict):
    Addr: ShortText | None = None
    Restarting: bool | None = None  # the agent stops on purpose and will be back


class AttachRequest(Strict):
    Network: Ident
    EndpointID: Ident


class DetachRequest(Strict):
    EndpointID: Ident


class LogSubscription(Strict):
    ID: Ident
    ServiceID: Ident
    Tail: Annotated[int, Field(ge=-1, le=10**9)]
    Follow: bool
    Publisher: ShortText
    # Docker's `since` (Unix seconds or RFC 3339), passed to each node's dockerd.
    Since: Annotated[str, Field(max_length=64)] | None = None


class Unsubscribe(Strict):
    ID: Ident


class LogLine(Strict):
    Task: Ident
    TaskName: ShortText
    Node: ShortText
    Line: Annotated[str, Field(max_length=MAX_STRING)]
    # For the Engine API's multiplexed logs: who sent it, which stream, when (RFC 3339).
    NodeID: Ident | None = None
    Stream: Literal["stdout", "stderr"] | None = None
    Time: ShortText | None = None


class LogPublish(Strict):
    ID: Ident
    Lines: Annotated[list[LogLine], Field(max_length=MAX_LIST)] | None = None
    Done: bool | None = None
