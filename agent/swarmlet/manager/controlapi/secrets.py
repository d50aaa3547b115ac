"""The control API for secrets and configs: Docker's /secrets and /configs endpoints over the
store, with SwarmKit's validation and Docker's messages.

Both are immutable (a new value is a new object; only labels may change) and refused removal
while a service refers to them. Their data is sealed (manager/sealing.py) before it is
written: the store holds `SealedData`, never the value. A secret's data never leaves the
managers through this API; a config's is shown by inspect, as Docker shows it.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from swarmlet.errors import Conflict, InvalidArgument, NotFound
from swarmlet.manager.controlapi.kinds import CONFIG as CONFIG  # re-exported
from swarmlet.manager.controlapi.kinds import SECRET as SECRET
from swarmlet.manager.controlapi.kinds import Kind
from swarmlet.manager.controlapi.plan import spec_plan
from swarmlet.manager.controlapi.references import resolve
from swarmlet.manager.manager import Manager
from swarmlet.store.objects import new_id
from swarmlet.store.state import StoreError

Obj = dict[str, Any]
_NAME = re.compile(r"^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$")


# Docker renders a config's Go template on each node for each task ({{.Service.Name}},
# {{.Task.Slot}}, {{.Node.Hostname}}, secrets...): so does swarmlet's worker
# (worker/config_templates.py), with SwarmKit's one driver.
TEMPLATE_DRIVERS = ("golang",)
TEMPLATING_REFUSED = ("config template driver {0} is not supported (Templating.Name): "
                      "swarmlet renders config templates with the golang driver only")


def check_spec(kind: Kind, spec: Any) -> tuple[str, dict[str, str], bytes]:
    """(name, labels, data) of a create body, or the error SwarmKit gives."""
    if not isinstance(spec, dict):
        raise InvalidArgument(f"{kind.name} spec must be a JSON object")
    name = spec.get("Name")
    if not name or not isinstance(name, str):
        raise InvalidArgument("meta: name must be provided")
    if len(name) > 64 or not _NAME.match(name):
        raise InvalidArgument("invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and "
                            "the start and end character must be [a-zA-Z0-9]")
    labels = _labels(spec)
    templating(kind, spec)
    try:
        data = base64.b64decode(spec.get("Data") or "", validate=True)
    except (ValueError, TypeError):  # binascii.Error, or a str with non-ASCII characters
        raise InvalidArgument(f"{kind.name} data must be base64-encoded") from None
    if not 0 < len(data) < kind.max_bytes:
        raise InvalidArgument(f"{kind.name} data must be larger than 0 and less than "
                            f"{kind.max_bytes} bytes")
    return name, labels, data


def templating(kind: Kind, spec: Obj) -> dict[str, str] | None:
    """The config's template driver ({"Name": "golang"}), None for plain data."""
    name = (spec.get("Templating") or {}).get("Name")
    if not name:
        return None
    if kind.name != "config":
        raise InvalidArgument(f"{kind.name} templating is not supported (Templating)")
    if name not in TEMPLATE_DRIVERS:
        raise InvalidArgument(TEMPLATING_REFUSED.format(name))
    return {"Name": name}


def _labels(spec: Obj) -> dict[str, str]:
    labels = spec.get("Labels") or {}
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise InvalidArgument("Labels must be a mapping of strings")
    return labels


def users(kind: Kind, object_id: str, services: list[Obj]) -> list[Obj]:
    """The services whose task template refers to the object."""
    return [s for s in services if any(
        ref.get(f"{kind.name.capitalize()}ID") == object_id
        for ref in ((s["Spec"].get("TaskTemplate") or {}).get("ContainerSpec") or {}).get(
            kind.refs) or [])]


class DataObjectAPI:
    def __init__(self, manager: Manager, kind: Kind) -> None:
        self.manager = manager
        self.store = manager.store
        self.kind = kind
        self._key = manager.data_key

    def create(self, spec: Any) -> dict[str, str]:
        self.manager.require_quorum()
        name, labels, data = check_spec(self.kind, spec)
        object_id = new_id()
        obj = {"ID": object_id, "Spec": {"Name": name, "Labels": labels},
               "SealedData": self._key.seal(object_id, data)}
        driver = templating(self.kind, spec)
        if driver:  # the nodes render the data for each task (worker/config_templates.py)
            obj["Spec"]["Templating"] = driver
        try:
            self.store.write([{"op": "create", "kind": self.kind.name, "object": obj}])
        except StoreError as exc:
            if exc.code == "name_conflict":
                raise Conflict(f"{self.kind.name} {name} already exists") from None
            raise
        return {"ID": object_id}

    def list(self) -> list[Obj]:
        self.manager.require_quorum()
        return [self.view(o) for o in self.store.list(self.kind.name)]

    def inspect(self, ref: str) -> Obj:
        return self.view(self.resolve(ref))

    def resolve(self, ref: str) -> Obj:
        """By ID, name or unique ID prefix, as Docker resolves them (the stored object)."""
        self.manager.require_quorum()
        return resolve(self.store, self.kind.name, ref)

    def view(self, obj: Obj) -> Obj:
        """What the API shows: never SealedData; a config's data, as Docker shows it."""
        out = {k: v for k, v in obj.items() if k != "SealedData"}
        out["Spec"] = dict(obj["Spec"])
        if self.kind.shows_data:
            data = self._key.unseal(obj["ID"], obj["SealedData"])
            out["Spec"]["Data"] = base64.b64encode(data).decode()
        return out

    def update(self, ref: str, version: int, spec: Any,
               dry_run: bool = False) -> Obj | None:
        """Only the labels may change (the data is immutable). With `dry_run`, the plan
        (the spec as it would be; never the data)."""
        obj = self.resolve(ref)
        if not isinstance(spec, dict):
            raise InvalidArgument(f"{self.kind.name} spec must be a JSON object")
        if (spec.get("Name", obj["Spec"]["Name"]) != obj["Spec"]["Name"]
                or (spec.get("Data") and not self._same_data(obj, spec["Data"]))):
            raise InvalidArgument("only updates to Labels are allowed")
        if obj["Version"]["Index"] != version:
            raise Conflict("update out of sequence")
        new_spec = {**obj["Spec"], "Labels": _labels(spec)}
        if dry_run:
            return spec_plan(self.kind.name, "update", obj["ID"], obj["Spec"], new_spec)
        obj["Spec"] = new_spec
        self.store.write([{"op": "update", "kind": self.kind.name, "object": obj}])
        return None

    def _same_data(self, obj: Obj, data: Any) -> bool:
        """SwarmKit's rule: the data may be sent again unchanged (`docker stack deploy`
        updates an existing secret with its whole spec)."""
        try:
            sent = base64.b64decode(data, validate=True)
        except (ValueError, TypeError):
            return False
        return sent == self._key.unseal(obj["ID"], obj["SealedData"])

    def remove(self, ref: str) -> None:
        obj = self.resolve(ref)
        using = users(self.kind, obj["ID"], self.store.list("service"))
        if using:
            names = ", ".join(sorted(s["Spec"]["Name"] for s in using))
            raise InvalidArgument(f"{self.kind.name} '{obj['Spec']['Name']}' is in use by the "
                                f"following service: {names}")
        try:
            self.store.write([{"op": "delete", "kind": self.kind.name, "id": obj["ID"],
                               "version": obj["Version"]["Index"]}])
        except StoreError as exc:
            if exc.code == "not_found":
                raise NotFound(f"{self.kind.name} {ref} not found") from None
            raise
