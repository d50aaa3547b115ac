"""The plan of a stack deploy (Nomad's `job plan`; Docker has none): from the store's
current objects and the stack's converted specs (spec/compose), what happens to each
network, secret, config and service — create, update, remove or unchanged, with the
differences — in Docker's order: networks, secrets, configs, services, then removals.

Pure: the objects are passed in. Each spec goes through the same rules its own control API
applies (build_network, check_spec, normalise_spec, check_service_networks,
check_references) against the store as it would be at that step, so a plan that passes
creates nothing that a later step refuses, and a refusal comes before anything is written.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import Any

from swarmlet.errors import Conflict, DomainError, NotFound
from swarmlet.manager.controlapi.kinds import CONFIG, SECRET, Kind
from swarmlet.manager.controlapi.networks import build_network, network_defaults
from swarmlet.manager.controlapi.plan import diff
from swarmlet.manager.controlapi.secrets import check_spec
from swarmlet.manager.controlapi.service_networks import (
    check_service_networks,
    resolve_network,
)
from swarmlet.manager.controlapi.service_refs import check_references
from swarmlet.spec.compose import StackSpecs, stack_of
from swarmlet.spec.service import normalise_spec
from swarmlet.store.objects import clone

Obj = dict[str, Any]
ORDER = ("network", "secret", "config", "service")
NODE_LOCAL = ("host", "bridge", "none")
PLANNED = "planned-"  # the ID prefix of an object the plan creates


@dataclass
class Step:
    kind: str
    name: str
    action: str  # create | update | remove | unchanged
    id: str = ""
    diff: list[Obj] = field(default_factory=list)
    spec: Obj | None = None  # the body to send (create, update)
    version: int = 0  # the object's Version.Index (update, remove)

    def view(self) -> Obj:
        return {"Kind": self.kind, "Name": self.name, "Action": self.action, "ID": self.id,
                "Diff": self.diff}


@dataclass
class StackPlan:
    steps: list[Step]
    warnings: list[str]

    def view(self, dry_run: bool) -> Obj:
        return {"DryRun": dry_run, "Warnings": self.warnings,
                "Plan": [s.view() for s in self.steps]}


def _failed(specs: StackSpecs, kind: str, name: str, exc: DomainError) -> DomainError:
    """The error of a spec's rule (its code kept), naming the compose entry it comes from."""
    filename, path = specs.origin(kind, name)
    where = f"{filename}: {path}" if filename else path
    return DomainError(f"{where}: {exc.message}", exc.code)


class Planner:
    """One plan: the objects as they would be after each step (`view`), so later steps
    see earlier ones (a service on a network the plan creates)."""

    def __init__(self, stack: str, specs: StackSpecs, objects: dict[str, list[Obj]],
                 data_of: Callable[[Obj], bytes], host: list[IPv4Network] | None) -> None:
        self.stack, self.specs = stack, specs
        self.view = {kind: [clone(o) for o in objects.get(kind, [])]
                     for kind in ("network", "secret", "config", "service")}
        self.data_of = data_of
        self.host = host
        self.defaults = network_defaults(next(iter(objects.get("cluster") or []), None))
        self.steps: list[Step] = []
        self.warnings = list(specs.warnings)

    def _by_name(self, kind: str, name: str) -> Obj | None:
        return next((o for o in self.view[kind] if o["Spec"].get("Name") == name), None)

    def plan(self, prune: bool) -> StackPlan:
        for spec in self.specs.networks:
            self._network(spec)
        self._external_networks()
        for kind in (SECRET, CONFIG):
            for spec in getattr(self.specs, f"{kind.name}s"):
                self._data_object(kind, spec)
        if prune:  # as Docker: the services the files no longer name go first
            self._prune_services()
        for spec in sorted(self.specs.services, key=lambda s: s["Name"]):
            self._service(spec)
        if prune:
            self._prune_unused()
        return StackPlan(self.steps, self.warnings)

    # --- networks -----------------------------------------------------------------------------

    def _network(self, spec: Obj) -> None:
        name = spec["Name"]
        old = self._by_name("network", name)
        if old is None:
            try:
                network = build_network(spec, self.view["network"], self.host,
                                        network_id=f"{PLANNED}network-{name}",
                                        defaults=self.defaults)
            except DomainError as exc:
                raise _failed(self.specs, "network", name, exc) from None
            self.view["network"].append(network)
            self.steps.append(Step("network", name, "create", diff=diff({}, spec), spec=spec))
            return
        if stack_of(old) != self.stack:
            raise _failed(self.specs, "network", name,
                          Conflict(f"network with name {name} already exists"))
        changed = diff(_comparable(old["Spec"], spec), spec)
        if changed:
            self.warnings.append(
                f"network {name} exists with another spec ({', '.join(d['Path'] for d in changed)}"
                "): a network cannot be updated; remove it (or the stack) to change it")
        self.steps.append(Step("network", name, "unchanged", old["ID"], changed,
                               version=old["Version"]["Index"]))

    def _external_networks(self) -> None:
        for name in self.specs.external_networks:
            if name in NODE_LOCAL:
                raise NotFound(f'network "{name}" is declared as external, but it is a '
                               "node-local network: swarmlet services join overlay networks")
            try:
                resolve_network(name, self.view["network"])
            except NotFound:
                raise NotFound(f'network "{name}" is declared as external, but could not be '
                               "found. You need to create a swarm-scoped network before the "
                               "stack is deployed") from None

    # --- secrets and configs ------------------------------------------------------------------

    def _data_object(self, kind: Kind, spec: Obj) -> None:
        name = spec["Name"]
        try:
            _, _, data = check_spec(kind, spec)
        except DomainError as exc:
            raise _failed(self.specs, kind.name, name, exc) from None
        shown = {"Name": name, "Labels": spec["Labels"]}  # never the data
        old = self._by_name(kind.name, name)
        if old is None:
            self.view[kind.name].append({"ID": f"{PLANNED}{kind.name}-{name}", "Spec": shown,
                                         "Version": {"Index": 0}})
            self.steps.append(Step(kind.name, name, "create", diff=diff({}, shown), spec=spec))
            return
        if (self.data_of(old) != data  # as SwarmKit refuses Docker's update of it
                or old["Spec"].get("Templating") != spec.get("Templating")):
            raise _failed(self.specs, kind.name, name, DomainError(
                f"failed to update {kind.name} {name}: only updates to Labels are allowed "
                f"(its data or template driver changed: a new value needs a new name, such "
                f"as {name}_v2)"))
        old_shown = {"Name": name, "Labels": old["Spec"].get("Labels") or {}}
        changed = diff(old_shown, shown)
        self.steps.append(Step(kind.name, name, "update" if changed else "unchanged",
                               old["ID"], changed, spec=shown,
                               version=old["Version"]["Index"]))
        if changed:
            old["Spec"] = {**old["Spec"], "Labels": spec["Labels"]}

    # --- services -----------------------------------------------------------------------------

    def _service(self, spec: Obj) -> None:
        name = spec["Name"]
        old = self._by_name("service", name)
        if old is not None and stack_of(old) != self.stack:
            raise _failed(self.specs, "service", name,
                          Conflict(f"service {name} already exists"))
        try:
            wanted = with_ref_ids(spec, self.view["secret"], self.view["config"])
            if old is not None:  # stack deploy has no --force: keep the service's counter
                template = wanted["TaskTemplate"]
                template["ForceUpdate"] = old["Spec"]["TaskTemplate"].get("ForceUpdate", 0)
            wanted = normalise_spec(wanted, old=old["Spec"] if old else None)
            wanted = check_service_networks(wanted, self.view["network"],
                                            self.view["service"], old)
            wanted = check_references(wanted, self.view["secret"], self.view["config"])
        except DomainError as exc:
            raise _failed(self.specs, "service", name, exc) from None
        if old is None:
            self.view["service"].append({"ID": f"{PLANNED}service-{name}", "Spec": wanted,
                                         "Version": {"Index": 0}})
            self.steps.append(Step("service", name, "create", diff=diff({}, wanted),
                                   spec=spec))
            return
        changed = diff(old["Spec"], wanted)
        self.steps.append(Step("service", name, "update" if changed else "unchanged",
                               old["ID"], changed, spec=spec,
                               version=old["Version"]["Index"]))
        old["Spec"] = wanted

    # --- prune ----------------------------------------------------------------------------------

    def _not_named(self, kind: str, names: set[str]) -> list[Obj]:
        return sorted((o for o in self.view[kind] if stack_of(o) == self.stack
                       and o["Spec"]["Name"] not in names), key=lambda o: o["Spec"]["Name"])

    def _prune_services(self) -> None:
        """The stack's services the files no longer name (Docker's --prune), before the
        others are deployed: a port or a name they held is free for them."""
        gone = self._not_named("service", {s["Name"] for s in self.specs.services})
        for obj in gone:
            self._remove("service", obj)
        ids = {o["ID"] for o in gone}
        self.view["service"] = [s for s in self.view["service"] if s["ID"] not in ids]

    def _prune_unused(self) -> None:
        """Then the stack's secrets, configs and networks that the files no longer name and
        no service uses any more (Docker leaves these; `stack rm` would take them)."""
        used = _used_ids(self.view["service"])
        for kind in ("secret", "config", "network"):
            named = {s.name for s in self.steps if s.kind == kind and s.action != "remove"}
            for obj in self._not_named(kind, named):
                if obj["ID"] not in used:
                    self._remove(kind, obj)

    def _remove(self, kind: str, obj: Obj) -> None:
        self.steps.append(Step(kind, obj["Spec"]["Name"], "remove", obj["ID"],
                               diff(_shown(kind, obj["Spec"]), {}),
                               version=obj["Version"]["Index"]))


def _shown(kind: str, spec: Obj) -> Obj:
    return {k: v for k, v in spec.items() if k != "Data"} if kind in ("secret", "config") \
        else spec


def _used_ids(services: list[Obj]) -> set[str]:
    """The networks, secrets and configs these services refer to, by ID."""
    used: set[str] = set()
    for service in services:
        template = service["Spec"].get("TaskTemplate") or {}
        used.update(n.get("Target", "") for n in template.get("Networks") or [])
        container = template.get("ContainerSpec") or {}
        used.update(r.get("SecretID", "") for r in container.get("Secrets") or [])
        used.update(r.get("ConfigID", "") for r in container.get("Configs") or [])
    return used


def _comparable(stored: Obj, wanted: Obj) -> Obj:
    """The stored network spec, as far as the wanted one can be compared with it: the keys
    the stack sets, and driver options only where the store keeps them."""
    view: Obj = {"Name": stored.get("Name"), "Labels": stored.get("Labels") or {}}
    driver = dict(stored.get("DriverConfiguration") or {})
    if "Options" not in driver and "Options" in (wanted.get("DriverConfiguration") or {}):
        driver["Options"] = wanted["DriverConfiguration"]["Options"]
    view["DriverConfiguration"] = driver
    for key in ("Attachable", "Internal", "IPv6Enabled"):
        if stored.get(key):
            view[key] = True
    if "IPAMOptions" in wanted:  # the subnet asked for, against the one the network has
        view["IPAMOptions"] = clone(wanted["IPAMOptions"])
        pools = view["IPAMOptions"].get("Configs") or []
        have = (stored.get("IPAMOptions") or {}).get("Configs") or [{}]
        if pools and pools[0].get("Subnet"):
            pools[0]["Subnet"] = have[0].get("Subnet")
    return view


def with_ref_ids(spec: Obj, secrets: list[Obj], configs: list[Obj]) -> Obj:
    """The service spec with the IDs of the secrets and configs it names (by name, as
    Docker's CLI resolves them before it sends a service); NotFound names a missing one."""
    spec = clone(spec)
    container = spec["TaskTemplate"]["ContainerSpec"]
    for kind, objects in (("secret", secrets), ("config", configs)):
        key = kind.capitalize()
        by_name = {o["Spec"]["Name"]: o["ID"] for o in objects}
        for ref in container.get(f"{key}s") or []:
            object_id = by_name.get(ref[f"{key}Name"])
            if object_id is None:
                raise NotFound(f"{kind} not found: {ref[f'{key}Name']}")
            ref[f"{key}ID"] = object_id
    return spec


def decoded(data: str) -> bytes:
    return base64.b64decode(data)
