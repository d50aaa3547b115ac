"""The API servers' limits, on real servers (a temporary unix socket, TLS on loopback) fed
raw bytes: bad Content-Length, slow clients, malformed requests, too many connections; and
that long polls and streams outlive the read timeouts."""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from swarmlet.api.cluster_server import ClusterApiServer
from swarmlet.api.results import Parked
from swarmlet.api.router import Request, Route, Router
from swarmlet.api.server import Streaming, UnixApiServer
from swarmlet.ca.authority import RootCA
from swarmlet.ca.node import NodeCertificates, make_csr, new_key
from swarmlet.ca.tls import client_context
from swarmlet.ca.tls_server import peer_identity, server_context
from swarmlet.transport.limits import MAX_BODY, Limits
from swarmlet.transport.threads import serve_in_thread

FAST = Limits(idle=0.4, body=0.4, write=2.0, handshake=0.4, connections=8, per_peer=4)
SLOW_ANSWER = 1.0  # longer than every read timeout of FAST


class Waker:
    """What a dispatcher is to its long polls: callbacks to call when something changed."""

    def __init__(self) -> None:
        self.woken = False
        self.callbacks: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        self.callbacks.append(callback)
        return lambda: self.callbacks.remove(callback)

    def wake(self) -> None:
        self.woken = True
        for callback in list(self.callbacks):
            callback()


WAKER = Waker()


def make_router() -> Router:
    """Routes added as bare Route objects: these tests are about the server, not about the
    router's checks of bodies and queries."""
    router = Router()

    def add(method: str, path: str, access: str, handler: Callable[[Request], Any]) -> None:
        router.routes.append(Route(method, path, handler, path, access))

    def poll(_: Request) -> dict[str, bool]:
        time.sleep(SLOW_ANSWER)
        return {"Done": True}

    def stream(_: Request) -> Streaming:
        def chunks() -> Iterator[bytes]:
            for word in (b"one", b"two"):
                time.sleep(SLOW_ANSWER / 2)
                yield word
        return Streaming(chunks())

    def park(request: Request) -> Parked:
        wait = float(request.query.get("wait", "5"))
        return Parked(lambda: {"Woken": True} if WAKER.woken else None, WAKER.subscribe,
                      time.monotonic() + wait, {"Woken": False})

    add("GET", "/_ping", "public", lambda _: "OK")
    add("POST", "/park", "node", park)
    add("POST", "/echo", "manager", lambda r: r.body)
    add("POST", "/poll", "node", poll)
    add("GET", "/stream", "node", stream)
    return router


class FastUnix(UnixApiServer):
    limits = FAST




@pytest.fixture(scope="module")
def unix_path(tmp_path_factory) -> Iterator[Path]:
    path = Path(tmp_path_factory.mktemp("sock")) / "api.sock"
    server = FastUnix(path, make_router())
    serve_in_thread(server, "test-unix")
    yield path
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    root = RootCA.create()
    path = tmp_path_factory.mktemp("certs")
    key = new_key()
    NodeCertificates(key, root.sign_csr(make_csr(key), "m1", "manager", "c1"),
                     root.cert_pem).save(path)
    return path


@pytest.fixture(scope="module")
def tls_port(certs) -> Iterator[int]:
    root = RootCA.load(certs)
    server = ClusterApiServer(("127.0.0.1", 0), make_router(), server_context(certs),
                              lambda sock: peer_identity(sock, root),
                              lambda node_id: {"ID": node_id, "Spec": {"Role": "manager"}},
                              FAST, workers=1)  # one thread: parked polls must not hold it
    serve_in_thread(server, "test-tls")
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def unix_conn(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.connect(str(path))
    return sock


def tls_conn(port: int, certs: Path) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    return client_context(certs, None).wrap_socket(raw)


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes (or 5 s pass)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            return data
        if not chunk:
            return data
        data += chunk


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def message_of(answer: bytes) -> str:
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])["message"]


def exchange(path: Path, raw: bytes) -> bytes:
    with unix_conn(path) as sock:
        sock.sendall(raw)
        return read_all(sock)


@pytest.mark.parametrize("value,status", [("-1", 400), ("abc", 400), ("1e3", 400),
                                          (str(MAX_BODY + 1), 413), ("9" * 40, 413)])
def test_a_bad_content_length_is_refused_before_reading_the_body(unix_path, value, status):
    start = time.monotonic()
    answer = exchange(unix_path, f"POST /echo HTTP/1.1\r\nContent-Length: {value}\r\n\r\n"
                      .encode())
    assert status_of(answer) == status, answer
    assert "Content-Length" in message_of(answer) or "larger than" in message_of(answer)
    assert time.monotonic() - start < FAST.idle  # at once, not after a timeout


def test_conflicting_content_lengths_and_chunked_bodies_are_refused(unix_path):
    answer = exchange(unix_path, b"POST /echo HTTP/1.1\r\nContent-Length: 2\r\n"
                                 b"Content-Length: 3\r\n\r\n{}")
    assert status_of(answer) == 400
    answer = exchange(unix_path, b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 b"2\r\n{}\r\n0\r\n\r\n")
    assert status_of(answer) == 411
    assert "Content-Length" in message_of(answer)


def test_expect_continue_with_an_oversized_body_is_refused_without_continue(unix_path):
    answer = exchange(unix_path, f"POST /echo HTTP/1.1\r\nContent-Length: {MAX_BODY + 1}\r\n"
                                 "Expect: 100-continue\r\n\r\n".encode())
    assert status_of(answer) == 413
    assert b"100 Continue" not in answer


def test_a_good_request_and_keep_alive(unix_path):
    with unix_conn(unix_path) as sock:
        for n in range(2):
            body = json.dumps({"n": n}).encode()
            sock.sendall(b"POST /echo HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(body), body))
            answer = sock.recv(65536)
            assert status_of(answer) == 200
            assert answer.endswith(body)


def test_an_answer_larger_than_the_socket_buffer_arrives_whole(unix_path):
    """The answer goes in one write when the socket takes it, the rest by sendall."""
    body = json.dumps({"blob": "x" * (3 * 1024 * 1024)}).encode()
    answer = exchange(unix_path, b"POST /echo HTTP/1.1\r\nConnection: close\r\n"
                                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    assert status_of(answer) == 200
    head, sent = answer.split(b"\r\n\r\n", 1)
    assert b"Content-Length: %d" % len(body) in head
    assert sent == body


def test_headers_sent_slowly_are_cut_off(unix_path):
    with unix_conn(unix_path) as sock:
        start = time.monotonic()
        sock.sendall(b"GET /_ping HTTP/1.1\r\n")
        try:  # a byte at a time: each arrives well within the timeout, the whole does not
            for byte in b"X-Slow: 1234567890\r\n":
                sock.sendall(bytes([byte]))
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert read_all(sock) == b""
        assert time.monotonic() - start < FAST.idle + 2.5


def test_an_idle_connection_is_closed(unix_path):
    with unix_conn(unix_path) as sock:
        start = time.monotonic()
        assert read_all(sock) == b""
        assert time.monotonic() - start < FAST.idle + 1


def test_a_body_that_stalls_gets_408(unix_path):
    with unix_conn(unix_path) as sock:
        start = time.monotonic()
        sock.sendall(b"POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\n{\"a\"")
        answer = read_all(sock)
        assert status_of(answer) == 408
        assert time.monotonic() - start < FAST.body + 1


MALFORMED = [
    (b"FOO /_ping HTTP/1.1\r\n\r\n", 405),
    (b"FOO /nothing HTTP/1.1\r\n\r\n", 404),
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /_ping HTTP/9.9\r\n\r\n", 400),
    (b"GET /_ping HTTP/1.1\r\nno colon here\r\n\r\n", 400),  # as dockerd: malformed header line
    (b"GET /_ping\r\n\r\n", 400),  # HTTP/0.9
    (b"GET * HTTP/1.1\r\n\r\n", 400),
    (b"GET http://[::1/x HTTP/1.1\r\n\r\n", 400),
    (b"GET /\xff\x00\x01%zz HTTP/1.1\r\n\r\n", 404),
    (b"GET /_ping HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", 431),
    (b"GET /_ping HTTP/1.1\r\n" + b"X: a\r\n" * 200 + b"\r\n", 431),
    (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414),
]


@pytest.mark.parametrize("raw,status", MALFORMED)
def test_malformed_requests_get_a_4xx_never_a_5xx(unix_path, raw, status):
    answer = exchange(unix_path, raw)
    assert status_of(answer) == status, answer
    if status != 200:
        assert message_of(answer)


def test_a_long_poll_and_a_stream_outlive_the_read_timeouts(unix_path):
    answer = exchange(unix_path, b"POST /poll HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
    assert status_of(answer) == 200 and answer.endswith(b'{"Done": true}')
    answer = exchange(unix_path, b"GET /stream HTTP/1.1\r\n\r\n")
    assert status_of(answer) == 200
    assert b"3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n" in answer


def test_the_unix_socket_caps_its_connections(unix_path):
    held = [unix_conn(unix_path) for _ in range(FAST.connections)]
    try:
        time.sleep(0.1)
        extra = unix_conn(unix_path)
        start = time.monotonic()
        assert read_all(extra) == b""  # closed at once, not served
        assert time.monotonic() - start < 0.5
        extra.close()
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.2)
    assert status_of(exchange(unix_path, b"GET /_ping HTTP/1.1\r\n\r\n")) == 200


# --- the TLS port --------------------------------------------------------------------------

def test_tls_bad_content_length_and_a_good_request(tls_port, certs):
    with tls_conn(tls_port, certs) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n")
        assert status_of(read_all(sock)) == 400
    with tls_conn(tls_port, certs) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nContent-Length: 2\r\nConnection: close"
                     b"\r\n\r\n{}")
        assert read_all(sock).endswith(b"{}")


def test_tls_a_silent_client_is_cut_off_in_the_handshake(tls_port):
    with socket.create_connection(("127.0.0.1", tls_port), timeout=5) as sock:
        start = time.monotonic()
        assert read_all(sock) == b""
        assert time.monotonic() - start < FAST.handshake + 1


def test_tls_a_stalled_body_is_cut_off(tls_port, certs):
    with tls_conn(tls_port, certs) as sock:
        start = time.monotonic()
        sock.sendall(b"POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
        assert status_of(read_all(sock)) == 408
        assert time.monotonic() - start < FAST.body + 1


def test_tls_a_long_poll_outlives_the_read_timeouts(tls_port, certs):
    with tls_conn(tls_port, certs) as sock:
        sock.sendall(b"POST /poll HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        answer = sock.recv(65536)
        assert status_of(answer) == 200 and answer.endswith(b'{"Done": true}')


def test_tls_caps_connections_per_peer(tls_port, certs):
    held = [socket.create_connection(("127.0.0.1", tls_port), timeout=5)
            for _ in range(FAST.per_peer)]
    try:
        time.sleep(0.1)
        with socket.create_connection(("127.0.0.1", tls_port), timeout=5) as extra:
            start = time.monotonic()
            assert read_all(extra) == b""  # closed before any handshake
            assert time.monotonic() - start < 0.5
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.2)
    with tls_conn(tls_port, certs) as sock:
        sock.sendall(b"GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert status_of(read_all(sock)) == 200


def tls_exchange(port: int, certs: Path, raw: bytes) -> bytes:
    with tls_conn(port, certs) as sock:
        sock.sendall(raw)
        return read_all(sock)


@pytest.mark.parametrize("raw,status", MALFORMED)
def test_tls_malformed_requests_get_the_same_4xx(tls_port, certs, raw, status):
    answer = tls_exchange(tls_port, certs, raw)
    assert status_of(answer) == status, answer
    if status != 200:
        assert message_of(answer)


def test_tls_headers_sent_slowly_and_idle_connections_are_cut_off(tls_port, certs):
    with tls_conn(tls_port, certs) as sock:
        start = time.monotonic()
        sock.sendall(b"GET /_ping HTTP/1.1\r\n")
        try:
            for byte in b"X-Slow: 1234567890\r\n":
                sock.sendall(bytes([byte]))
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass
        assert read_all(sock) == b""
        assert time.monotonic() - start < FAST.idle + 2.5
    with tls_conn(tls_port, certs) as sock:
        start = time.monotonic()
        assert read_all(sock) == b""
        assert time.monotonic() - start < FAST.idle + 1


def test_tls_keep_alive_and_a_stream(tls_port, certs):
    with tls_conn(tls_port, certs) as sock:
        for n in range(3):
            body = json.dumps({"n": n}).encode()
            sock.sendall(b"POST /echo HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(body), body))
            answer = sock.recv(65536)
            assert status_of(answer) == 200 and answer.endswith(body)
    answer = tls_exchange(tls_port, certs, b"GET /stream HTTP/1.1\r\n\r\n")
    assert b"3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n" in answer


def test_tls_parked_polls_hold_no_thread_and_answer_when_woken(tls_port, certs):
    WAKER.woken = False
    polls = [tls_conn(tls_port, certs) for _ in range(FAST.per_peer - 1)]
    try:
        for sock in polls:
            sock.sendall(b"POST /park HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        time.sleep(FAST.idle + 0.2)  # parked past the read limits: not cut off
        # The server's only handler thread is free while they wait.
        answer = tls_exchange(tls_port, certs, b"POST /echo HTTP/1.1\r\nContent-Length: 2"
                                               b"\r\nConnection: close\r\n\r\n{}")
        assert status_of(answer) == 200
        WAKER.wake()
        for sock in polls:
            answer = sock.recv(65536)
            assert status_of(answer) == 200 and answer.endswith(b'{"Woken": true}')
    finally:
        for sock in polls:
            sock.close()


def test_tls_a_parked_poll_ends_unchanged_at_its_deadline(tls_port, certs):
    WAKER.woken = False
    with tls_conn(tls_port, certs) as sock:
        start = time.monotonic()
        sock.sendall(b"POST /park?wait=0.3 HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        answer = sock.recv(65536)
        assert answer.endswith(b'{"Woken": false}')
        assert 0.25 < time.monotonic() - start < 2


def test_tls_a_parked_poll_without_wait_gets_what_there_is(tls_port, certs):
    """`Wait: 0` asks for the answer now: the poll is looked at once before its deadline."""
    WAKER.woken = True
    try:
        for _ in range(5):
            with tls_conn(tls_port, certs) as sock:
                sock.sendall(b"POST /park?wait=0 HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
                assert sock.recv(65536).endswith(b'{"Woken": true}')
    finally:
        WAKER.woken = False
