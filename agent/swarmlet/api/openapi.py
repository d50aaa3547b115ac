"""The OpenAPI document of the agent API, made from the route table."""

from __future__ import annotations

import re
from typing import Any

from swarmlet import __version__
from swarmlet.api.router import Router

_ERROR = {
    "type": "object",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
}


def openapi_document(router: Router) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in router.routes:
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"\{(\w+)\}", route.template)
        ]
        operation: dict[str, Any] = {
            "summary": route.summary,
            "operationId": route.handler.__name__,
            "x-access": route.access,
            "responses": {
                "200": {"description": "success",
                        "content": {"application/json": {"schema": {}}}},
                "default": {"description": "error",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        }
        if params:
            operation["parameters"] = params
        if route.method in ("POST", "PUT"):
            operation["requestBody"] = {
                "required": False,
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        paths.setdefault(route.template, {})[route.method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Swarmlet agent API",
            "version": __version__,
            "description": "swarmletd's API: on /run/swarmlet/swarmlet.sock (root only) and on "
            "TCP 2377 with mutual TLS. x-access says who may call an operation.",
        },
        "paths": paths,
        "components": {"schemas": {"Error": _ERROR}},
    }
