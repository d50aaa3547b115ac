"""The API client keeps its connection alive between requests (one per thread), and a
GET that meets a connection the server already closed is sent again on a new one."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from swarmlet.api.router import Route, Router
from swarmlet.api.server import UnixApiServer
from swarmlet.client import ApiResponseError, Client
from swarmlet.transport.limits import Limits
from swarmlet.transport.threads import serve_in_thread

# idle: long enough that a loaded machine never drops a connection between two requests
SHORT = Limits(idle=1.0, body=1.0, write=1.0, handshake=1.0, connections=8, per_peer=8)


class ShortIdle(UnixApiServer):
    limits = SHORT


class Counting(ShortIdle):
    """Counts the connections it accepted."""

    accepted = 0

    def get_request(self):  # type: ignore[no-untyped-def]
        type(self).accepted += 1
        return super().get_request()


@pytest.fixture
def sock(tmp_path: Path) -> Iterator[str]:
    router = Router()
    router.routes.append(Route("GET", "/thing", lambda _: {"ok": True}, "thing", "local"))
    router.routes.append(Route("POST", "/echo", lambda r: r.body, "echo", "local"))
    Counting.accepted = 0
    server = Counting(tmp_path / "api.sock", router)
    serve_in_thread(server, "test-keepalive")
    yield f"unix://{tmp_path / 'api.sock'}"
    server.shutdown()
    server.server_close()


def test_requests_share_one_connection(sock: str) -> None:
    with Client(sock) as client:
        for i in range(5):
            assert client.get("/thing") == {"ok": True}
            assert client.post("/echo", {"i": i}) == {"i": i}
    assert Counting.accepted == 1


def test_each_thread_has_its_own_connection(sock: str) -> None:
    client = Client(sock)
    answers: list[object] = []

    together = threading.Barrier(3)

    def work() -> None:
        together.wait()  # all three alive at once: no thread's ident is reused by another
        for _ in range(3):
            answers.append(client.get("/thing"))
        together.wait()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.close()
    assert answers == [{"ok": True}] * 9
    assert Counting.accepted == 3


def test_requests_after_the_server_dropped_the_idle_connection(sock: str) -> None:
    with Client(sock) as client:
        assert client.get("/thing") == {"ok": True}
        time.sleep(SHORT.idle + 0.3)  # the server closes the idle connection
        assert client.post("/echo", {"after": "idle"}) == {"after": "idle"}
        time.sleep(SHORT.idle + 0.3)
        assert client.get("/thing") == {"ok": True}
    assert Counting.accepted == 3


def test_errors_keep_working(sock: str) -> None:
    with Client(sock) as client:
        with pytest.raises(ApiResponseError):
            client.get("/missing")
        assert client.get("/thing") == {"ok": True}
