"""Checking a body against its model: the one door every request body goes through."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from swarmlet.spec.errors import SpecError, from_validation

M = TypeVar("M", bound=BaseModel)


def without_nulls(value: Any) -> Any:
    """JSON null as Go's decoder reads it into a struct field: as if the key were absent
    (`"Dispatcher": null` keeps the current dispatcher settings, it does not erase them)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def checked(model: type[M], body: Any, what: str, required: bool = True) -> dict[str, Any]:
    """The body, checked against `model` (types, ranges, no unknown fields), nulls dropped.
    A missing body is an empty object unless `required`."""
    if body is None:
        if required:
            raise SpecError(f"invalid {what}: a JSON object is required as the request body")
        body = {}
    if not isinstance(body, dict):
        raise SpecError(f"invalid {what}: the request body must be a JSON object")
    body = without_nulls(body)
    try:
        model.model_validate(body)
    except ValidationError as exc:
        raise from_validation(exc, what) from None
    return body
