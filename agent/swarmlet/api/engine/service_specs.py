"""Docker's ServiceSpec as the docker CLI, the docker SDK and community.docker send it, made
into the spec swarmlet's core takes (swarmlet.spec.service checks it and fills defaults).

Go clients send every field of a struct: empty strings, empty objects, `false`, nulls. Those
mean "not set", as absent keys do for swarmlet, so they are dropped. Numbers stay (a
Replicas or Parallelism of 0 means something), except the few Go fields where 0 is "unset".
A field swarmlet does not know stays too, so the core refuses it with a 400 naming it —
unless Docker itself would behave the same without it (an Isolation of "default")."""

from __future__ import annotations

import copy
from typing import Any

from swarmlet.spec.errors import SpecError

# Objects whose empty value means something: Mode {"Global": {}} is a global service.
_KEEP_EMPTY = {("Mode",)}
# Go durations with `omitempty` and no pointer: 0 is "not set" (the default applies).
_ZERO_IS_UNSET = {("UpdateConfig", "Monitor"), ("RollbackConfig", "Monitor")}


def to_swarmlet(body: dict[str, Any]) -> dict[str, Any]:
    """The spec to hand to the control API; SpecError (400) names a field Docker supports
    and swarmlet does not."""
    spec = _clean(copy.deepcopy(body), ())
    assert isinstance(spec, dict)
    networks = spec.pop("Networks", None)
    if networks:  # the deprecated top-level field, moved as dockerd does
        template = spec.setdefault("TaskTemplate", {})
        template.setdefault("Networks", networks)
    container = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    isolation = container.pop("Isolation", "default")
    if isolation != "default":
        raise SpecError(f'isolation "{isolation}" is not supported: swarmlet runs Linux '
                        "containers only", "TaskTemplate.ContainerSpec.Isolation")
    return spec


def _clean(value: Any, path: tuple[str, ...]) -> Any:
    if isinstance(value, list):
        return [_clean(item, path) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        where = (*path, key)
        item = _clean(item, where)
        if path in _KEEP_EMPTY:
            out[key] = {} if item is None else item
            continue
        if item is None or item == "" or item is False or item == {} or item == []:
            continue
        if item == 0 and where in _ZERO_IS_UNSET:
            continue
        out[key] = item
    return out
