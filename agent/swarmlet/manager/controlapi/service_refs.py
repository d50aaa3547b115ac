"""A service's references to secrets and configs (ContainerSpec.Secrets / .Configs), checked
as SwarmKit's controlapi does: each refers to an object that exists (by ID; the name is set
from it), has a file with a target, and no two files share a target. Docker's defaults filled
in: uid "0", gid "0", mode 0444. Pure: the objects are passed in."""

from __future__ import annotations

from typing import Any

from swarmlet.errors import InvalidArgument, NotFound

Obj = dict[str, Any]
DEFAULT_MODE = 0o444


def check_references(spec: Obj, secrets: list[Obj], configs: list[Obj]) -> Obj:
    container = spec["TaskTemplate"]["ContainerSpec"]
    for kind, objects in (("secret", secrets), ("config", configs)):
        field = f"{kind.capitalize()}s"
        refs = container.get(field)
        if not refs:
            container.pop(field, None)
            continue
        if not isinstance(refs, list):
            raise InvalidArgument(f"{field} must be a list of {kind} references")
        by_id = {o["ID"]: o for o in objects}
        container[field] = [_checked(kind, ref, by_id) for ref in refs]
        targets: dict[str, str] = {}
        for ref in container[field]:
            target, name = ref["File"]["Name"], ref[f"{kind.capitalize()}Name"]
            if target in targets:
                raise InvalidArgument(f"{kind} references '{targets[target]}' and '{name}' have "
                                    f"a conflicting target: '{target}'")
            targets[target] = name
    return spec


def _checked(kind: str, ref: Any, by_id: dict[str, Obj]) -> Obj:
    key = kind.capitalize()
    if not isinstance(ref, dict) or not isinstance(ref.get("File"), dict) or \
            not ref["File"].get("Name"):
        raise InvalidArgument(f"malformed {kind} reference")
    obj = by_id.get(ref.get(f"{key}ID", ""))
    if obj is None:
        raise NotFound(f"{kind} {ref.get(f'{key}Name') or ref.get(f'{key}ID')} not found")
    file = ref["File"]
    mode = file.get("Mode", DEFAULT_MODE)
    if not isinstance(mode, int) or not 0 <= mode <= 0o777:
        raise InvalidArgument(f"invalid file mode for {kind} {obj['Spec']['Name']}: {mode!r}")
    return {"File": {"Name": str(file["Name"]), "UID": str(file.get("UID") or "0"),
                     "GID": str(file.get("GID") or "0"), "Mode": mode},
            f"{key}ID": obj["ID"], f"{key}Name": obj["Spec"]["Name"]}
