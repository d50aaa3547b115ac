"""The Engine API facade's plumbing (api/engine/): version prefixes, filters, the route
table's 404/405/501, bad bodies, and the proxy to dockerd's framing — chunked bodies both
ways, hijacked connections with their half-close, a streamed answer whose client went away.
A facade on a unix socket in front of a fake dockerd (a few canned answers)."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from pathlib import Path

import pytest
from pydantic import BaseModel

from swarmlet.api.engine import versions
from swarmlet.api.engine.answers import Answer
from swarmlet.api.engine.events import add_events_route, event_source, merged
from swarmlet.api.engine.filters import parse_filters
from swarmlet.api.engine.frontend import EngineFrontend, EngineState
from swarmlet.api.engine.proxy import hijacked
from swarmlet.api.router import Request, Router
from swarmlet.transport.async_server import AsyncTlsServer
from swarmlet.transport.errors import HttpError
from swarmlet.transport.http1 import Headers, RequestHead
from swarmlet.transport.limits import UNIX_LIMITS

# --- pure parts ---------------------------------------------------------------------------


def test_version_prefix_is_split_and_checked_with_dockers_texts():
    assert versions.split_version("/v1.41/services", "1.41") == ("1.41", "/services")
    assert versions.split_version("/services", "1.41") == (None, "/services")
    assert versions.split_version("/v1.24/info", "1.41") == ("1.24", "/info")
    with pytest.raises(HttpError) as new:
        versions.split_version("/v1.45/info", "1.41")
    assert (new.value.status, new.value.message) == (
        400, "client version 1.45 is too new. Maximum supported API version is 1.41")
    with pytest.raises(HttpError) as old:
        versions.split_version("/v1.12/info", "1.41")
    assert old.value.status == 400
    assert old.value.message.startswith("client version 1.12 is too old. Minimum supported "
                                        "API version is 1.24")
    assert versions.lower("1.41", "1.43") == "1.41" and versions.lower("1.41", "1.40") == "1.40"


def test_filters_take_both_forms_and_refuse_what_docker_refuses():
    filters = parse_filters('{"name": ["web"], "label": {"a=b": true, "off": false}}',
                            ["name", "label"])
    assert filters.get("label") == ["a=b"]
    assert filters.any_prefix("name", "web-1") and not filters.any_prefix("name", "db")
    assert filters.labels_match("label", {"a": "b"}) and not filters.labels_match("label", {})
    assert parse_filters(None, ["name"]).any_equal("name", "x")
    for raw, message in [("{nope", "not valid JSON"), ("[1]", "JSON object"),
                         ('{"bogus": ["x"]}', "Invalid filter 'bogus'"),
                         ('{"name": "web"}', "want a list of strings")]:
        with pytest.raises(HttpError) as err:
            parse_filters(raw, ["name"])
        assert err.value.status == 400 and message in err.value.message


def test_events_filters_choose_the_swarm_dockerd_or_both():
    assert event_source(None) == "both"
    assert event_source('{"event": ["create"]}') == "both"
    assert event_source('{"type": ["container", "image"]}') == "local"
    assert event_source('{"scope": ["local"]}') == "local"
    assert event_source('{"type": ["service", "task"]}') == "swarm"
    assert event_source('{"type": ["service", "container"]}') == "both"
    assert event_source('{"scope": ["swarm"]}') == "swarm"
    assert event_source('{"node": ["n1"]}') == "swarm"
    assert event_source('{"container": ["c1"], "type": ["service"]}') == "local"
    with pytest.raises(HttpError):
        event_source('{"colour": ["red"]}')


def test_merged_streams_interleave_tick_and_end_with_the_last():
    gate = threading.Event()

    def slow():
        gate.wait(5)
        yield b"b1\n"

    out = merged([iter([b"a1\n", b"a2\n"]), slow()], tick=0.05)
    got = [next(out), next(out)]
    assert got == [b"a1\n", b"a2\n"]
    assert next(out) == b""  # a tick while the slow one waits
    gate.set()
    assert [line for line in out if line] == [b"b1\n"]


def _head(method: str, target: str, **headers: str) -> RequestHead:
    return RequestHead(method, target, "HTTP/1.1",
                       Headers([(k.replace("_", "-"), v) for k, v in headers.items()]))


def test_a_hijack_is_what_dockerd_answers_not_what_was_asked():
    attach = _head("POST", "/v1.41/containers/c1/attach?stream=1", Upgrade="tcp")
    assert hijacked(attach, 101, Headers([("Upgrade", "tcp")]))
    # An old client without Upgrade: 200 and the raw stream, no framing.
    plain = _head("POST", "/v1.41/exec/e1/start")
    assert hijacked(plain, 200, Headers([("Content-Type", "application/vnd.docker.raw-stream")]))
    # A detached exec start: an ordinary answer, the connection stays HTTP.
    assert not hijacked(plain, 200, Headers([("Content-Length", "0")]))
    assert not hijacked(attach, 404, Headers([("Content-Length", "40")]))
    assert not hijacked(_head("GET", "/v1.41/containers/json"), 200, Headers([]))


# --- a facade in front of a fake dockerd ------------------------------------------------


class FakeDockerd(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: Path) -> None:
        self.seen: list[tuple[str, str, bytes]] = []  # method, target, body
        self.streams_closed = threading.Event()
        super().__init__(str(path), _DockerdHandler)


class _DockerdHandler(socketserver.StreamRequestHandler):
    server: FakeDockerd

    def handle(self) -> None:
        while True:
            line = self.rfile.readline()
            if not line:
                return
            method, target, _ = line.decode().split(" ", 2)
            headers = {}
            while (h := self.rfile.readline()) not in (b"\r\n", b""):
                name, _, value = h.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = self._body(headers)
            self.server.seen.append((method, target, body))
            if not self._answer(method, target.split("?")[0], headers, body):
                return

    def _body(self, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding") == "chunked":
            out = b""
            while (size := int(self.rfile.readline().strip(), 16)) > 0:
                out += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return out
        return self.rfile.read(int(headers.get("content-length", "0")))

    def _json(self, value: object, status: str = "200 OK") -> bool:
        data = json.dumps(value).encode()
        self.wfile.write(b"HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (status.encode(), len(data), data))
        return True

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bool:
        w = self.wfile
        if path == "/version":
            return self._json({"ApiVersion": "1.43", "Version": "fake"})
        if path == "/v1.41/build":
            return self._json({"received": len(body), "head": body[:10].decode()})
        if path == "/v1.41/logs":  # chunked, a trailer, then the connection stays
            w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"3\r\nabc\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n")
            return True
        if path == "/v1.41/events":  # one event, then nothing until the client goes
            w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"4\r\nevt1\r\n")
            w.flush()
            self.connection.settimeout(20)
            try:
                while self.connection.recv(1):
                    pass
            except OSError:
                pass
            self.server.streams_closed.set()
            return False
        if path == "/v1.41/containers/c1/attach":  # hijacked: upper-cases stdin
            w.write(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker."
                    b"raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
            w.flush()
            while data := self.connection.recv(4096):
                w.write(data.upper())
                w.flush()
            w.write(b"|END")
            return False
        if path == "/v1.41/crash":  # dockerd going away mid-request
            return False
        if path == "/v1.41/exec/e1/start":  # detached: an ordinary answer
            w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            return True
        return self._json({"path": path, "method": method})


@pytest.fixture
def facade(tmp_path):
    dockerd = FakeDockerd(tmp_path / "dockerd.sock")
    threading.Thread(target=dockerd.serve_forever, args=(0.05,), daemon=True).start()
    router = Router()

    @router.add("GET", "/swarm", "test", access="public")
    def swarm(_: Request) -> dict[str, str]:
        return {"ID": "swarm1"}

    @router.add("POST", "/services/create", "test", access="public", body=_Named,
                keeps_nulls=True)
    def create(request: Request) -> dict[str, object]:
        return {"got": request.body}

    @router.add("GET", "/services/{id}/logs", "test", access="public")
    def logs(request: Request) -> Answer:
        return Answer(stream=_log_lines(request.params["id"]))

    add_events_route(router)
    state = EngineState(router, tmp_path / "dockerd.sock")
    path = tmp_path / "engine.sock"
    server = AsyncTlsServer(path, None, UNIX_LIMITS, _never,
                            raw=EngineFrontend(state, UNIX_LIMITS, local=True))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield path, dockerd
    server.shutdown()
    server.server_close()
    state.shutdown()
    dockerd.shutdown()
    dockerd.server_close()


LOGS_CLOSED = threading.Event()


def _log_lines(service: str):
    """`logs -f` of a quiet service: two lines, then only ticks until closed."""
    try:
        yield f"{service}: one\n".encode()
        yield f"{service}: two\n".encode()
        for _ in range(500):  # 10 s at most
            time.sleep(0.02)
            yield b""
    finally:
        LOGS_CLOSED.set()


class _Named(BaseModel):
    Name: str


async def _never(*_args):  # every request on the engine socket is the facade's
    raise AssertionError("not the engine's")


def _connect(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(10)
    sock.connect(str(path))
    return sock


def _exchange(sock: socket.socket, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send one request; read one answer (Content-Length or chunked, de-chunked)."""
    sock.sendall(request)
    f = sock.makefile("rb")
    status = int(f.readline().split()[1])
    headers = {}
    while (line := f.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while (size := int(f.readline().split(b";")[0], 16)) > 0:
            body += f.read(size)
            f.readline()
        while f.readline() not in (b"\r\n", b""):
            pass
    else:
        body = f.read(int(headers.get("content-length", "0")))
    return status, headers, body


def _get(path: Path, target: str, method: str = "GET", body: bytes = b"",
         extra: str = "") -> tuple[int, dict[str, str], dict]:
    with _connect(path) as sock:
        length = f"Content-Length: {len(body)}\r\n" if body or method == "POST" else ""
        status, headers, raw = _exchange(sock, f"{method} {target} HTTP/1.1\r\nHost: d\r\n"
                                         f"{length}{extra}\r\n".encode() + body)
        return status, headers, json.loads(raw) if raw else {}


BAD_REQUESTS = [
    # (method, target, body, status, part of the message)
    ("GET", "/v1.99/containers/json", b"", 400, "client version 1.99 is too new. Maximum "
                                                "supported API version is 1.41"),
    ("GET", "/v1.12/containers/json", b"", 400, "client version 1.12 is too old"),
    ("GET", "/v1.41/services/x/y/z", b"", 404, "page not found"),
    ("GET", "/v1.41/nodes/a/b", b"", 404, "page not found"),
    ("DELETE", "/v1.41/swarm", b"", 405, "not allowed"),
    ("POST", "/v1.41/swarm/join", b"{}", 501, "POST /swarm/join is not supported by swarmlet"),
    ("DELETE", "/v1.41/configs/c1", b"", 501, "DELETE /configs/{id} is not supported by "
                                              "swarmlet"),
    ("POST", "/v1.41/services/create", b"{not json", 400, "not valid JSON"),
    ("GET", "/v1.41/events?filters={bad", b"", 400, "invalid filter"),
    ("GET", "/v1.41/containers/json?filters={bad", b"", 400, "invalid filter"),
    ("GET", '/v1.41/images/json?filters=["x"]', b"", 400, "invalid filter"),
    ("GET", '/v1.41/events?filters={"colour":["red"]}', b"", 400, "Invalid filter 'colour'"),
    ("GET", "/v1.41/events", b"{}", 400, "takes no request body"),
    ("GET", "/v1.41/crash", b"", 502, "closed the connection without an answer"),
]


@pytest.mark.parametrize(("method", "target", "body", "status", "message"), BAD_REQUESTS,
                         ids=[f"{m} {t}" for m, t, *_ in BAD_REQUESTS])
def test_bad_requests_get_dockers_answers(facade, method, target, body, status, message):
    path, dockerd = facade
    got, headers, answer = _get(path, target, method, body)
    assert (got, message in answer["message"]) == (status, True), answer
    assert headers["api-version"] == "1.41"
    if status != 502:
        assert not dockerd.seen or all(t != target for _, t, _ in dockerd.seen)


def test_a_too_large_body_is_413_unread_and_the_connection_closes(facade):
    """As http.client or Go send it: the head, then the body, then the answer is read; the
    body sent after the answer must not meet a closed socket (a broken pipe, no answer)."""
    path, _ = facade
    with _connect(path) as sock:
        sock.sendall(b"POST /v1.41/services/create HTTP/1.1\r\nHost: d\r\n"
                     b"Content-Length: 5000000\r\n\r\n")
        time.sleep(0.2)  # answered and closed by now
        sock.sendall(b"{" + b" " * 1_000_000)
        status, headers, raw = _exchange(sock, b"")
        assert status == 413 and headers["connection"] == "close"
        assert b"larger than" in raw


def test_an_error_before_the_body_closes_the_connection(facade):
    """The body left unread must not be taken for the next request."""
    path, dockerd = facade
    with _connect(path) as sock:
        status, headers, _ = _exchange(
            sock, b"POST /v1.99/containers/create HTTP/1.1\r\nHost: d\r\n"
                  b"Content-Length: 30\r\n\r\nGET /v1.41/version HTTP/1.1\r\n")
        assert status == 400 and headers["connection"] == "close"
        assert sock.recv(100) == b""
    assert dockerd.seen == [("GET", "/version", b"")]  # the facade's own question only


def test_served_and_proxied_requests_share_a_kept_alive_connection(facade):
    path, dockerd = facade
    with _connect(path) as sock:
        get = b"GET /v1.41/swarm HTTP/1.1\r\nHost: d\r\n\r\n"
        assert json.loads(_exchange(sock, get)[2]) == {"ID": "swarm1"}
        proxied = _exchange(sock, b"GET /v1.41/containers/json?all=1 HTTP/1.1\r\nHost: d"
                                  b"\r\n\r\n")
        assert json.loads(proxied[2]) == {"path": "/v1.41/containers/json", "method": "GET"}
        create = _exchange(sock, b"POST /v1.41/services/create HTTP/1.1\r\nHost: d\r\n"
                                 b'Content-Length: 12\r\n\r\n{"Name":"a"}')
        assert json.loads(create[2]) == {"got": {"Name": "a"}}
        assert json.loads(_exchange(sock, get)[2]) == {"ID": "swarm1"}
    assert ("GET", "/v1.41/containers/json?all=1", b"") in dockerd.seen


def test_a_chunked_request_body_of_any_size_reaches_dockerd(facade):
    """`docker build`'s context: chunked, larger than the swarm routes' 4 MiB cap."""
    path, _ = facade
    chunk = b"x" * 65536
    with _connect(path) as sock:
        sock.sendall(b"POST /v1.41/build HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked"
                     b"\r\n\r\n")
        for _ in range(80):  # 5 MiB
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        status, _, raw = _exchange(sock, b"0\r\n\r\n")
    assert status == 200 and json.loads(raw) == {"received": 80 * 65536, "head": "xxxxxxxxxx"}


def test_a_chunked_answer_is_relayed_with_its_trailer_and_the_connection_kept(facade):
    path, _ = facade
    with _connect(path) as sock:
        sock.sendall(b"GET /v1.41/logs HTTP/1.1\r\nHost: d\r\n\r\n")
        raw = b""
        while not raw.endswith(b"X-Trailer: t\r\n\r\n"):
            raw += sock.recv(4096)
        assert raw.endswith(b"3\r\nabc\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n")
        again = _exchange(sock, b"GET /v1.41/info2 HTTP/1.1\r\nHost: d\r\n\r\n")
        assert json.loads(again[2])["path"] == "/v1.41/info2"


def test_a_request_sent_before_a_chunked_answer_ended_is_served_after_it(facade):
    """A client that pipelines (or is quick): its next request is neither lost nor cut."""
    path, _ = facade
    with _connect(path) as sock:
        sock.sendall(b"GET /v1.41/logs HTTP/1.1\r\nHost: d\r\n\r\n"
                     b"GET /v1.41/info3 HTTP/1.1\r\nHost: d\r\n\r\n")
        f = sock.makefile("rb")
        raw = b""
        while not raw.endswith(b"X-Trailer: t\r\n\r\n"):
            raw += f.read1(4096)
        assert b"hello" in raw
        status = int(f.readline().split()[1])
        rest = b""
        while b"/v1.41/info3" not in rest and (data := f.read1(4096)):
            rest += data
        assert status == 200 and b"/v1.41/info3" in rest


def test_a_hijacked_attach_pipes_both_ways_and_passes_the_half_close(facade):
    path, _ = facade
    with _connect(path) as sock:
        sock.sendall(b"POST /v1.41/containers/c1/attach?stream=1&stdin=1 HTTP/1.1\r\n"
                     b"Host: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101")
        sock.sendall(b"hello ")
        sock.sendall(b"world")
        sock.shutdown(socket.SHUT_WR)  # stdin ends: dockerd must see its end
        out = b""
        while data := sock.recv(4096):
            out += data
    assert out == b"HELLO WORLD|END"


def test_a_detached_exec_start_keeps_the_connection_http(facade):
    path, _ = facade
    with _connect(path) as sock:
        status, _, _ = _exchange(sock, b"POST /v1.41/exec/e1/start HTTP/1.1\r\nHost: d\r\n"
                                       b"Content-Length: 2\r\n\r\n{}")
        assert status == 200
        # The next request is the facade's again, not piped to dockerd.
        status, _, raw = _exchange(sock, b"GET /v1.41/swarm HTTP/1.1\r\nHost: d\r\n\r\n")
        assert json.loads(raw) == {"ID": "swarm1"}


def test_a_streamed_answer_ends_when_its_client_goes(facade):
    """`docker events` ended with Ctrl-C: dockerd's connection is freed at once."""
    path, dockerd = facade
    sock = _connect(path)
    sock.sendall(b"GET /v1.41/events HTTP/1.1\r\nHost: d\r\n\r\n")
    raw = b""
    while b"evt1" not in raw:
        raw += sock.recv(4096)
    time.sleep(0.1)
    sock.close()
    assert dockerd.streams_closed.wait(5)


def test_a_local_events_filter_goes_to_dockerd(facade):
    path, dockerd = facade
    sock = _connect(path)
    target = '/v1.41/events?filters={"type":["container"]}'
    sock.sendall(f"GET {target} HTTP/1.1\r\nHost: d\r\n\r\n".encode())
    raw = b""
    while b"evt1" not in raw:
        raw += sock.recv(4096)
    sock.close()
    assert any(t == target for _, t, _ in dockerd.seen)


def test_a_handlers_stream_ends_when_its_client_goes(facade):
    """`docker service logs -f` ended with Ctrl-C: the stream's iterator is closed within a
    tick, not left waiting for a line that may never come."""
    path, _ = facade
    LOGS_CLOSED.clear()
    sock = _connect(path)
    sock.sendall(b"GET /v1.41/services/web/logs HTTP/1.1\r\nHost: d\r\n\r\n")
    raw = b""
    while b"web: two" not in raw:
        data = sock.recv(4096)
        assert data, raw
        raw += data
    assert b"Transfer-Encoding: chunked" in raw and b"web: one" in raw
    sock.close()
    assert LOGS_CLOSED.wait(3)


def test_on_the_cluster_port_it_takes_versioned_paths_and_ping_only():
    frontend = EngineFrontend(None, UNIX_LIMITS, local=False)  # type: ignore[arg-type]
    assert frontend.claims(_head("GET", "/v1.41/services?filters=x"))
    assert frontend.claims(_head("HEAD", "/_ping"))
    assert not frontend.claims(_head("GET", "/services"))  # swarmlet's own API
    assert not frontend.claims(_head("POST", "/dispatcher/heartbeat"))


def test_a_refused_certificate_is_answered_before_anything_else(tmp_path):
    """A worker's certificate on the cluster port: 403 before dockerd is asked anything."""
    dockerd = FakeDockerd(tmp_path / "dockerd.sock")
    threading.Thread(target=dockerd.serve_forever, args=(0.05,), daemon=True).start()

    def worker(_conn: object) -> None:
        raise HttpError(403, "Permission denied: unauthorized peer role")

    router = Router()

    @router.add("GET", "/_ping", "test", access="public")
    def ping(_: Request) -> Answer:
        return Answer(text="OK")

    state = EngineState(router, tmp_path / "dockerd.sock")
    server = AsyncTlsServer(tmp_path / "e.sock", None, UNIX_LIMITS, _never,
                            raw=EngineFrontend(state, UNIX_LIMITS, False, worker))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        status, _, answer = _get(tmp_path / "e.sock", "/v1.41/containers/json")
        assert (status, answer["message"]) == (403, "Permission denied: unauthorized peer role")
        status, _, _ = _get(tmp_path / "e.sock", "/v1.99/containers/json", "POST", b"{}")
        assert status == 403
        assert dockerd.seen == []
        with _connect(tmp_path / "e.sock") as sock:  # public, as the agent's own /_ping
            status, _, raw = _exchange(sock, b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n")
        assert (status, raw) == (200, b"OK")
    finally:
        server.shutdown()
        server.server_close()
        state.shutdown()
        dockerd.shutdown()
        dockerd.server_close()
