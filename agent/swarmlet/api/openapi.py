"""The OpenAPI document of the agent API, generated from the route table and the spec
core's models: every body, query parameter and path parameter is described as the server
checks it (the same models), so clients and property-based tests see the real rules."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from swarmlet import __version__
from swarmlet.api.router import Route, Router
from swarmlet.spec.limits import MAX_ID

_ERROR = {
    "type": "object",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
}
REF = "#/components/schemas/{model}"


class _Schemas:
    """Components gathered from the models' JSON schemas (OpenAPI 3.0's nullable form)."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {"Error": _ERROR}

    def ref(self, model: type[BaseModel]) -> dict[str, Any]:
        schema = model.model_json_schema(ref_template=REF, mode="validation")
        for name, sub in [*schema.pop("$defs", {}).items(), (model.__name__, schema)]:
            converted = _openapi30(sub)
            if self.components.setdefault(name, converted) != converted:
                raise ValueError(f"two models are named {name}: rename one")  # at startup
        return {"$ref": REF.format(model=model.__name__)}


def _openapi30(schema: Any) -> Any:
    """JSON Schema (pydantic) -> OpenAPI 3.0: `anyOf [X, null]` becomes X with nullable,
    `const` becomes a one-value enum."""
    if isinstance(schema, list):
        return [_openapi30(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _openapi30(v) for k, v in schema.items()}
    options = out.get("anyOf")
    if isinstance(options, list) and any(o.get("type") == "null" for o in options):
        rest = [o for o in options if o.get("type") != "null"]
        out.pop("anyOf")
        base = rest[0] if len(rest) == 1 else {"anyOf": rest}
        if "$ref" in base:
            base = {"allOf": [base]}
        out = {**base, **out, "nullable": True}
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if "default" in out and out["default"] is None:
        del out["default"]  # "absent" is what a null default means here
    return out


def _parameters(route: Route, schemas: _Schemas) -> list[dict[str, Any]]:
    params = [{"name": name, "in": "path", "required": True,
               "schema": {"type": "string", "minLength": 1, "maxLength": MAX_ID,
                          "pattern": "^[^/]+$"}}
              for name in re.findall(r"\{(\w+)\}", route.template)]
    query = route.query.model_json_schema(mode="validation")
    required = set(query.get("required", []))
    for name, prop in query.get("properties", {}).items():
        params.append({"name": name, "in": "query", "required": name in required,
                       "schema": _openapi30(prop)})
    return params


def _answer(answer: Any, schemas: _Schemas) -> dict[str, Any]:
    """A route's answer as a schema: a model, [model] (a list of them), a tuple of
    alternatives (None among them: the answer may be empty), or a schema as it is."""
    if answer is None:
        return {"type": "object", "nullable": True}
    if isinstance(answer, list):
        return {"type": "array", "items": _answer(answer[0], schemas)}
    if isinstance(answer, tuple):
        options = [_answer(a, schemas) for a in answer if a is not None]
        schema = options[0] if len(options) == 1 else {"anyOf": options}
        if "$ref" in schema:
            schema = {"allOf": [schema]}
        return {**schema, "nullable": True} if None in answer else schema
    if isinstance(answer, type) and issubclass(answer, BaseModel):
        return schemas.ref(answer)
    return answer


def _operation(route: Route, schemas: _Schemas) -> dict[str, Any]:
    answer = _answer(route.answer, schemas)
    content_type = "text/plain" if answer.get("type") == "string" else "application/json"
    operation: dict[str, Any] = {
        "summary": route.summary,
        "operationId": route.handler.__name__,
        "x-access": route.access,
        "responses": {
            "200": {"description": "success", "content": {content_type: {"schema": answer}}},
            "default": {"description": "error (4xx names the field that was wrong)",
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Error"}}}},
        },
    }
    params = _parameters(route, schemas)
    if params:
        operation["parameters"] = params
    if route.body is not None:
        operation["requestBody"] = {
            "required": route.body_required,
            "content": {"application/json": {"schema": schemas.ref(route.body)}},
        }
    return operation


def openapi_document(router: Router) -> dict[str, Any]:
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for route in router.routes:
        paths.setdefault(route.template, {})[route.method.lower()] = _operation(route, schemas)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Swarmlet agent API",
            "version": __version__,
            "description": "swarmletd's API: on /run/swarmlet/swarmlet.sock (root only) and on "
            "TCP 2377 with mutual TLS. x-access says who may call an operation. Bodies, "
            "queries and paths are checked against these schemas before anything happens; "
            "limits: docs/api.md.",
        },
        "paths": paths,
        "components": {"schemas": schemas.components},
    }
