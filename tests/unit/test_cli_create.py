"""A create asked again while its outcome is unknown (cli/create.py), against a real API
server on a unix socket whose store loses the answer of the first attempt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swarmlet.api.router import Request, Route, Router
from swarmlet.api.server import UnixApiServer
from swarmlet.cli import create as create_module
from swarmlet.cli.create import create
from swarmlet.client import ApiResponseError, Client
from swarmlet.errors import Conflict, NotFound
from swarmlet.store.objects import now_rfc3339
from swarmlet.store.raft import UnknownOutcome
from swarmlet.transport.threads import serve_in_thread


class Store:
    """Services by name; `lose` answers of creates are lost after the write was made."""

    def __init__(self) -> None:
        self.services: dict[str, dict[str, Any]] = {}
        self.lose = 0
        self.calls = 0

    def create(self, request: Request) -> dict[str, str]:
        self.calls += 1
        name = request.body["Name"]
        if name in self.services:
            raise Conflict(f"service {name} already exists", "name_conflict")
        made = {"ID": f"id-{name}", "Spec": request.body, "CreatedAt": now_rfc3339()}
        self.services[name] = made
        if self.lose:
            self.lose -= 1
            raise UnknownOutcome("failed to process the request: node lost leader status")
        return {"ID": made["ID"]}

    def inspect(self, request: Request) -> dict[str, Any]:
        found = self.services.get(request.params["name"])
        if found is None:
            raise NotFound("no such service")
        return found


STORE = Store()


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> Iterator[Client]:
    router = Router()
    router.routes.append(Route("POST", "/services/create", lambda r: STORE.create(r),
                               "/services/create", "local"))
    router.routes.append(Route("GET", "/services/{name}", STORE.inspect, "/services/{name}",
                               "local"))
    path = Path(tmp_path_factory.mktemp("sock")) / "api.sock"
    server = UnixApiServer(path, router)
    serve_in_thread(server, "test-create")
    yield Client(f"unix://{path}")
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(create_module, "PAUSE", 0.01)
    STORE.services.clear()
    STORE.calls = 0


def test_a_create_whose_answer_was_lost_answers_the_object_it_made(client):
    STORE.lose = 1
    assert create(client, "service", {"Name": "web"}) == {"ID": "id-web"}
    assert STORE.calls == 2 and list(STORE.services) == ["web"]


def test_a_name_taken_before_is_still_a_conflict(client):
    create(client, "service", {"Name": "db"})
    with pytest.raises(ApiResponseError, match="service db already exists"):
        create(client, "service", {"Name": "db"})
    assert STORE.calls == 2


def test_a_name_taken_by_an_older_object_is_a_conflict_after_an_unknown_outcome(
        client, monkeypatch):
    STORE.services["old"] = {"ID": "id-old", "CreatedAt": "2020-01-01T00:00:00.000000Z"}
    STORE.lose = 0
    original = STORE.create

    def lost_once(request: Request) -> dict[str, str]:
        monkeypatch.setattr(STORE, "create", original)
        raise UnknownOutcome("the write was not committed within 10 s")
    monkeypatch.setattr(STORE, "create", lost_once)
    with pytest.raises(ApiResponseError, match="service old already exists"):
        create(client, "service", {"Name": "old"})
    assert STORE.calls == 1  # the retry's (the first attempt was lost_once's)
