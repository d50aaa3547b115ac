"""The served OpenAPI document, generated from the route table and the spec core's models:
every body, query and answer described, as the server checks them."""

from __future__ import annotations

import pytest

from swarmlet.api.openapi import openapi_document
from swarmlet.api.router import Router
from swarmlet.api.swarm import add_swarm_routes
from swarmlet.api.system import add_system_routes


@pytest.fixture(scope="module")
def document() -> dict:
    router = Router()
    add_system_routes(router, dict)
    add_swarm_routes(router, None)  # the node is only needed once a route is called
    return openapi_document(router)


def operations(document: dict):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_every_body_is_a_closed_model(document) -> None:
    schemas = document["components"]["schemas"]
    for path, method, operation in operations(document):
        if method in ("post", "put") and path not in ("/swarm/leave",):
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            model = schemas[ref.rsplit("/", 1)[1]]
            assert model["additionalProperties"] is False, path


def test_replicas_are_capped_in_the_document_as_in_the_server(document) -> None:
    replicated = document["components"]["schemas"]["ReplicatedMode"]
    assert replicated["properties"]["Replicas"]["maximum"] == 10_000


def test_every_query_parameter_and_answer_is_described(document) -> None:
    update = document["paths"]["/services/{id}/update"]["post"]
    assert {p["name"] for p in update["parameters"]} == {"id", "version", "dry_run", "rollback"}
    assert "Plan" in str(update["responses"]["200"])
    listing = document["paths"]["/services"]["get"]["responses"]["200"]
    assert listing["content"]["application/json"]["schema"]["items"]["$ref"].endswith(
        "/Service")
    for path, method, operation in operations(document):
        assert operation["responses"]["200"]["content"], (method, path)


def test_one_model_per_name(document) -> None:
    # the spec's Placement (constraints) and a plan's placement are different models
    schemas = document["components"]["schemas"]
    assert "Constraints" in schemas["Placement"]["properties"]
    assert "Nodes" in schemas["PlannedPlacement"]["properties"]


def test_exact_paths_route_as_the_templates_do():
    from swarmlet.api.router import Route, Router
    from swarmlet.transport.errors import HttpError

    router = Router()
    for method, path in (("POST", "/things/create"), ("GET", "/things/{id}"),
                         ("GET", "/things")):
        router.routes.append(Route(method, path, lambda _: None, path, "public"))
    assert router.match("POST", "/things/create")[0].template == "/things/create"
    assert router.match("GET", "/things/create")[1] == {"id": "create"}
    assert router.match("GET", "/things")[0].template == "/things"
    with pytest.raises(HttpError) as exc:
        router.match("DELETE", "/things")
    assert exc.value.status == 405
