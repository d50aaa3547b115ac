"""Typed models of the stack routes (api/stacks.py): the body of POST /stacks/deploy and
the answers. The compose files themselves are checked by spec/compose (each file naming
its Filename), not here: here they are mappings."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from swarmlet.spec.answer_models import Answer, DiffEntry
from swarmlet.spec.base import ShortText, Strict, Text
from swarmlet.spec.limits import MAX_LIST

MAX_FILES = 64  # -c files in one deploy
# Docker only refuses an empty (or blank) name; a stack's objects are named STACK_name, so
# the name is held to what a service name may hold.
StackName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$",
                                             max_length=63)]
Base64 = Annotated[str, StringConstraints(max_length=8 << 20)]


class ComposeFileBody(Strict):
    """One -c file as the client parsed and interpolated it."""

    Filename: ShortText
    Config: Any  # a mapping; spec/compose says what is wrong with it, naming the file


class StackDeployRequest(Strict):
    """The body of POST /stacks/deploy."""

    Name: StackName
    Files: Annotated[list[ComposeFileBody], Field(min_length=1, max_length=MAX_FILES)]
    # every file named by env_file, secrets.*.file and configs.*.file: base64, by the path
    # as the compose file writes it
    Contents: Annotated[dict[Text, Base64], Field(max_length=MAX_LIST)] | None = None
    Prune: bool | None = None
    ResolveImage: Literal["always", "changed", "never"] | None = None
    # the first file's directory: relative bind sources are resolved against it, as
    # Docker's CLI resolves them (without it they are refused)
    WorkingDir: Text | None = None


class StackStep(Answer):
    Kind: str
    Name: str
    Action: str
    ID: str
    Diff: list[DiffEntry]


class StackPlanAnswer(Answer):
    DryRun: bool
    Warnings: list[str]
    Plan: list[StackStep]


class StackSummary(Answer):
    Name: str
    Services: int


class StackObject(Answer):
    Kind: str
    Name: str
    ID: str


class StackRemoved(Answer):
    Removed: list[StackObject]
    Errors: list[str] | None = None
