"""Docker's ServiceSpec as the docker CLI, the docker SDK and community.docker send it, made
into the spec swarmlet's core takes (swarmlet.spec.service checks it and fills defaults).

Go clients send every field of a struct: empty strings, empty objects, `false`, nulls. Those
mean "not set", as absent keys do for swarmlet, so they are dropped. Numbers stay (a
Replicas or Parallelism of 0 means something), except the few Go fields where 0 is "unset".
A field swarmlet does not know stays too, so the core refuses it with a 400 naming it —
unless Docker itself would behave the same without it (an Isolation of "default").
Go's JSON decoder matches field names without regard to case, and the docker SDK relies on
it (Mode {"replicated": ...}): keys are given the model's spelling first."""

from __future__ import annotations

import copy
import functools
import types
import typing
from typing import Any

from pydantic import BaseModel

from swarmlet.spec.errors import SpecError
from swarmlet.spec.service_models import ServiceSpec

# Objects whose empty value means something: Mode {"Global": {}} is a global service.
_KEEP_EMPTY = {("Mode",)}
# Go durations with `omitempty` and no pointer: 0 is "not set" (the default applies).
_ZERO_IS_UNSET = {("UpdateConfig", "Monitor"), ("RollbackConfig", "Monitor")}


def to_swarmlet(body: dict[str, Any]) -> dict[str, Any]:
    """The spec to hand to the control API; SpecError (400) names a field Docker supports
    and swarmlet does not."""
    spec = _clean(copy.deepcopy(body), ServiceSpec, ())
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


_UNKNOWN = object()  # a field the models do not know: cleaned as an object of fields


def _clean(value: Any, model: Any, path: tuple[str, ...]) -> Any:
    """`value` with Go's zero values dropped from each object of fields and the keys spelt
    as `model`'s fields (Go's decoder takes any case). Maps of user data (labels,
    options) and lists of strings are kept as they are: an empty label means something."""
    if isinstance(value, list):
        return [_clean(item, model, path) for item in value]
    if not isinstance(value, dict) or model is None:
        return value
    names = _field_names(model) if model is not _UNKNOWN else {}
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = key if model is _UNKNOWN or key in model.model_fields \
            else names.get(key.lower(), key)
        field = None if model is _UNKNOWN else model.model_fields.get(name)
        where = (*path, name)
        inner = _model_in(field.annotation) if field is not None else _UNKNOWN
        item = _clean(item, inner, where)
        if path in _KEEP_EMPTY:
            out[name] = {} if item is None else item
            continue
        if item is None or item == "" or item is False or item == {} or item == []:
            continue
        if item == 0 and where in _ZERO_IS_UNSET:
            continue
        out[name] = item
    return out


@functools.cache
def _field_names(model: type[BaseModel]) -> dict[str, str]:
    return {name.lower(): name for name in model.model_fields}


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, itself or in a list (None for a map or a scalar)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is dict:
        return None
    if origin in (typing.Union, types.UnionType, list, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
