"""Compose files as Docker's CLI reads them for `docker stack deploy` (docker/cli
cli/compose: schema, loader, merge, convert), on the manager: a stack deploy sends the
parsed files and the files they name; this package checks, merges and converts them.

    models.py       the typed models of one file: every key of 3.0-3.13 and the Compose
                    Specification (no version)
    versions.py     which version brought which key
    properties.py   the keys swarm mode ignores or refuses, and Docker's warnings for them
    problems.py     pydantic's errors as `FILE: services.web.KEY: problem`
    casts.py        Docker's casts after interpolation ("2" -> 2 for replicas...)
    shapes.py       the short syntaxes made long (ports, volumes, environment, ...)
    envfile.py      env files, Docker's format
    loader.py       one file: checked and loaded
    merge.py        several loaded files merged in order, as Docker merges them
    names.py        STACK_name and the stack's labels
    mounts.py       volumes as mounts
    convert_service.py   a service as a ServiceSpec
    stack.py        load_stack(): the files to checked object specs (StackSpecs)

Pure: no store, no manager; the manager's controlapi/stacks.py plans and applies.
"""

from swarmlet.spec.compose.names import LABEL_IMAGE, LABEL_NAMESPACE, stack_of
from swarmlet.spec.compose.problems import ComposeError
from swarmlet.spec.compose.stack import (
    Project,
    StackSpecs,
    convert_stack,
    load_project,
    load_stack,
)

__all__ = ["LABEL_IMAGE", "LABEL_NAMESPACE", "ComposeError", "Project", "StackSpecs",
           "convert_stack", "load_project", "load_stack", "stack_of"]
