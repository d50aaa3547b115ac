"""The control API for stacks (Docker's `stack deploy`, `stack ls`, `stack rm`, done on the
manager): a deploy is one request with the parsed compose files and the files they name;
the spec core checks and converts them (spec/compose), stack_plan.py plans every object
against the store, and the plan is applied through the networks', secrets', configs' and
services' own control APIs, so their rules and messages apply. With dry_run, the plan only.

A stack is its objects' label com.docker.stack.namespace: there is no stack object.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from swarmlet.errors import DomainError, InvalidArgument, NotFound
from swarmlet.manager.controlapi.host_networks import host_networks
from swarmlet.manager.controlapi.networks import NetworkAPI
from swarmlet.manager.controlapi.secrets import CONFIG, SECRET, DataObjectAPI
from swarmlet.manager.controlapi.services import ServiceAPI
from swarmlet.manager.controlapi.stack_plan import Planner, StackPlan, Step, with_ref_ids
from swarmlet.manager.manager import Manager
from swarmlet.spec.compose import load_stack, stack_of

Obj = dict[str, Any]
KINDS = ("service", "network", "secret", "config")
REMOVAL_ORDER = ("service", "secret", "config", "network")  # Docker's `stack rm`


def decode_contents(contents: dict[str, str] | None) -> dict[str, bytes]:
    """The request's Contents (base64 by path) as bytes; a bad one names its path."""
    found = {}
    for path, data in (contents or {}).items():
        try:
            found[path] = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidArgument(f"Contents.{path}: not valid base64") from None
    return found


class StackAPI:
    def __init__(self, manager: Manager) -> None:
        self.manager = manager
        self.store = manager.store

    def _apis(self) -> dict[str, Any]:
        return {"network": NetworkAPI(self.manager), "service": ServiceAPI(self.manager),
                "secret": DataObjectAPI(self.manager, SECRET),
                "config": DataObjectAPI(self.manager, CONFIG)}

    def plan(self, request: Obj) -> StackPlan:
        """The plan of a deploy request (spec/stack_models.py StackDeployRequest)."""
        name = request["Name"]
        specs = load_stack(name, request["Files"], decode_contents(request.get("Contents")),
                           request.get("WorkingDir"))
        objects = {kind: self.store.list(kind) for kind in (*KINDS, "cluster")}
        return Planner(name, specs, objects, self._data_of, host_networks()).plan(
            bool(request.get("Prune")))

    def _data_of(self, obj: Obj) -> bytes:
        return self.manager.data_key.unseal(obj["ID"], obj["SealedData"])

    def deploy(self, request: Obj, dry_run: bool = False) -> Obj:
        """Plan, then (unless `dry_run`) apply in Docker's order; the answer is the plan
        with the IDs of what was created."""
        self.manager.require_quorum()
        plan = self.plan(request)
        if not dry_run:
            apis = self._apis()
            for step in plan.steps:
                self._apply(apis, step)
        return plan.view(dry_run)

    def _apply(self, apis: dict[str, Any], step: Step) -> None:
        api = apis[step.kind]
        try:
            if step.action == "create":
                spec = step.spec
                if step.kind == "service":  # the IDs of what the plan has just created
                    spec = with_ref_ids(spec, self.store.list("secret"),
                                        self.store.list("config"))
                step.id = api.create(spec)["ID"]
            elif step.action == "update":
                # at the version it has now: the updater writes a service's UpdateStatus
                current = api.resolve(step.id)
                spec = step.spec
                if step.kind == "service":
                    spec = with_ref_ids(spec, self.store.list("secret"),
                                        self.store.list("config"))
                    spec["TaskTemplate"]["ForceUpdate"] = \
                        current["Spec"]["TaskTemplate"].get("ForceUpdate", 0)
                api.update(step.id, current["Version"]["Index"], spec)
            elif step.action == "remove":
                api.remove(step.id)
        except DomainError as exc:
            verb = {"create": "create", "update": "update", "remove": "remove"}[step.action]
            raise DomainError(f"failed to {verb} {step.kind} {step.name}: {exc.message}",
                              exc.code) from None

    def list(self) -> list[Obj]:
        """Every stack: the namespaces its objects carry, with its count of services."""
        self.manager.require_quorum()
        stacks: dict[str, int] = {}
        for kind in KINDS:
            for obj in self.store.list(kind):
                name = stack_of(obj)
                if name is not None:
                    stacks[name] = stacks.get(name, 0) + (kind == "service")
        return [{"Name": name, "Services": count} for name, count in sorted(stacks.items())]

    def remove(self, name: str) -> Obj:
        """Every object of the stack: services first, then secrets, configs and networks
        (Docker's order). One that cannot go is named in Errors; the others still go."""
        self.manager.require_quorum()
        apis = self._apis()
        found = {kind: sorted((o for o in self.store.list(kind) if stack_of(o) == name),
                              key=lambda o: o["Spec"]["Name"]) for kind in KINDS}
        if not any(found.values()):
            raise NotFound(f"Nothing found in stack: {name}")
        removed, errors = [], []
        for kind in REMOVAL_ORDER:
            for obj in found[kind]:
                try:
                    apis[kind].remove(obj["ID"])
                except DomainError as exc:
                    errors.append(f"Failed to remove {kind} {obj['ID']}: {exc.message}")
                    continue
                removed.append({"Kind": kind, "Name": obj["Spec"]["Name"], "ID": obj["ID"]})
        answer: Obj = {"Removed": removed}
        if errors:
            answer["Errors"] = errors
        return answer
