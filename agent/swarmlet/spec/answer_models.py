"""Models of what the API answers, for the OpenAPI document: the stored objects (Docker's
shape, with the spec models inside) and plans. Answers are not checked against them, so they
allow fields they do not name (a newer agent may add some)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from swarmlet.spec.data_models import ConfigSpec, SecretSpec
from swarmlet.spec.network_models import NetworkSpec
from swarmlet.spec.service_models import ServiceSpec
from swarmlet.spec.swarm_models import NodeSpec, SwarmSpec


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class Created(Answer):
    ID: str


class ObjectVersion(Answer):
    Index: int


class StoredObject(Answer):
    ID: str
    Version: ObjectVersion
    CreatedAt: str | None = None
    UpdatedAt: str | None = None


class ServiceStatus(Answer):
    RunningTasks: int
    DesiredTasks: int
    CompletedTasks: int | None = None  # jobs: tasks of the current iteration that completed


_ServiceStatus = ServiceStatus


class JobStatus(Answer):
    """A job's run: JobIteration moves with every new spec (each run of the job)."""

    JobIteration: ObjectVersion
    LastExecution: str | None = None


_JobStatus = JobStatus


class Service(StoredObject):
    Spec: ServiceSpec
    PreviousSpec: ServiceSpec | None = None
    ServiceStatus: _ServiceStatus | None = None
    UpdateStatus: dict[str, Any] | None = None
    JobStatus: _JobStatus | None = None


class Node(StoredObject):
    Spec: NodeSpec
    Description: dict[str, Any] | None = None
    Status: dict[str, Any] | None = None
    ManagerStatus: dict[str, Any] | None = None


class Task(StoredObject):
    ServiceID: str
    NodeID: str | None = None
    Slot: int | None = None
    DesiredState: str | None = None
    Status: dict[str, Any] | None = None
    Spec: dict[str, Any] | None = None
    JobIteration: ObjectVersion | None = None  # a job's task: the run it belongs to


class Network(StoredObject):
    Spec: NetworkSpec


class Secret(StoredObject):
    Spec: SecretSpec


class Config(StoredObject):
    Spec: ConfigSpec


class Swarm(StoredObject):
    Spec: SwarmSpec
    JoinTokens: dict[str, str] | None = None


class DiffEntry(Answer):
    Path: str
    Old: Any = None
    New: Any = None


class UnplacedTasks(Answer):
    Tasks: int
    Reason: str


class PlannedPlacement(Answer):
    Nodes: dict[str, int]
    Unplaced: list[UnplacedTasks]


_Placement = PlannedPlacement


class Plan(Answer):
    """What ?dry_run=1 answers (manager/controlapi/plan.py); nothing was written."""

    DryRun: bool
    Kind: str
    Action: str
    ID: str
    Spec: dict[str, Any] | None = None
    Diff: list[DiffEntry]
    Name: str | None = None
    TasksReplaced: bool | None = None
    CurrentPlacement: dict[str, int] | None = None
    Placement: _Placement | None = None
