"""The visualizer's server against a stand-in agent on a unix socket: the token guards every
route, a browser gets the page and then each new snapshot over server-sent events, and an
event from the agent brings the change within a second, a burst of them in few re-reads."""

from __future__ import annotations

import http.client
import json
import queue
import socketserver
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from swarmlet.visualizer.access import Guard
from swarmlet.visualizer.feed import Feed, since
from swarmlet.visualizer.hub import Hub
from swarmlet.visualizer.server import VisualizerServer

NODE = {"ID": "m1", "Description": {"Hostname": "sh-1"},
        "Spec": {"Role": "manager", "Availability": "active"}, "Status": {"State": "ready"},
        "ManagerStatus": {"Leader": True, "Reachability": "reachable"}}


class FakeAgent(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """GET /nodes, /services, /tasks from `objects`; /events sends what `events` gets."""
    daemon_threads = True

    def __init__(self, path: str) -> None:
        self.objects = {"/nodes": [NODE], "/services": [], "/tasks": []}
        self.events: queue.Queue[str | None] = queue.Queue()
        self.reads = 0
        self.failing = False  # answer 503 as an agent without a leader would
        super().__init__(path, AgentHandler)


class AgentHandler(BaseHTTPRequestHandler):
    server: FakeAgent

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/events":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()  # HTTP/1.0: the answer lasts until the connection closes
            while (line := self.server.events.get()) is not None:
                self.wfile.write(line.encode() + b"\n")
                self.wfile.flush()
            return
        if path == "/tasks":
            self.server.reads += 1
        code, answer = ((503, {"message": "no leader"}) if self.server.failing
                        else (200, self.server.objects[path]))
        body = json.dumps(answer).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[FakeAgent]:
    server = FakeAgent(str(tmp_path / "agent.sock"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.events.put(None)
    server.shutdown()
    server.server_close()


@pytest.fixture
def page(agent: FakeAgent) -> Iterator[tuple[int, FakeAgent]]:
    hub = Hub()
    server = VisualizerServer(("127.0.0.1", 0), Guard("s3cret"), hub, None)
    feed = Feed(f"unix://{agent.server_address}", hub.publish, interval=0.1)
    feed.start()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], agent
    server.stopping = True
    feed.stop()
    server.shutdown()
    server.server_close()


def get(port: int, path: str, **headers: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path, headers=headers)
    return conn.getresponse()


def test_the_token_guards_every_route(page: tuple[int, FakeAgent]) -> None:
    port, _ = page
    for path in ("/", "/app.js", "/stream", "/snapshot", "/?token=wrong"):
        assert get(port, path).status == 401, path
    assert get(port, "/", Authorization="Bearer wrong").status == 401
    assert get(port, "/", Authorization="Bearer s3cret").status == 200


def test_the_token_once_in_the_url_becomes_a_cookie(page: tuple[int, FakeAgent]) -> None:
    port, _ = page
    answer = get(port, "/?token=s3cret")
    assert answer.status == 303 and answer.getheader("Location") == "/"
    cookie = answer.getheader("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page_answer = get(port, "/", Cookie=cookie.split(";")[0])
    assert page_answer.status == 200
    html = page_answer.read().decode()
    assert 'src="app.js"' in html and "http" not in html.split("<body>")[1]  # nothing remote
    assert get(port, "/style.css", Cookie=cookie.split(";")[0]).status == 200


def snapshots(port: int) -> Iterator[dict]:
    answer = get(port, "/stream", Authorization="Bearer s3cret")
    assert answer.getheader("Content-Type") == "text/event-stream"
    while line := answer.readline():
        if line.startswith(b"data: "):
            yield json.loads(line[6:])


def test_an_event_brings_the_new_snapshot_and_a_burst_few_reads(
        page: tuple[int, FakeAgent]) -> None:
    port, agent = page
    stream = snapshots(port)
    deadline = time.monotonic() + 5
    first = next(stream)
    while not first["nodes"] and time.monotonic() < deadline:
        first = next(stream)
    assert [n["hostname"] for n in first["nodes"]] == ["sh-1"]
    time.sleep(0.3)  # past the read that goes with the stream's opening
    reads = agent.reads
    agent.objects["/services"] = [{"ID": "s1", "Spec": {"Name": "web"}}]
    agent.objects["/tasks"] = [
        {"ID": f"t{i}", "ServiceID": "s1", "Slot": i, "NodeID": "m1", "DesiredState": "running",
         "Status": {"State": "running"}, "Spec": {"ContainerSpec": {"Image": "demo"}}}
        for i in range(1, 6)]
    changed = time.monotonic()
    for i in range(50):
        agent.events.put(json.dumps({"Type": "task", "Action": "update", "Actor": {"ID": f"t{i}"}}))
    snap = next(stream)
    assert time.monotonic() - changed < 1.0
    assert [t["id"] for t in snap["tasks"]] == ["t1", "t2", "t3", "t4", "t5"]
    time.sleep(0.5)
    assert agent.reads - reads <= 3  # 50 events, coalesced


def test_an_agent_in_trouble_leaves_the_last_view_with_the_reason(
        page: tuple[int, FakeAgent]) -> None:
    port, agent = page
    stream = snapshots(port)
    snap = next(stream)
    while not snap["nodes"]:
        snap = next(stream)
    agent.failing = True
    agent.events.put(json.dumps({"Type": "node", "Action": "update", "Actor": {"ID": "m1"}}))
    snap = next(stream)
    assert snap["error"] == "no leader"
    assert [n["hostname"] for n in snap["nodes"]] == ["sh-1"]
    agent.failing = False
    agent.events.put(json.dumps({"Type": "node", "Action": "update", "Actor": {"ID": "m1"}}))
    snap = next(stream)
    assert "error" not in snap and snap["nodes"]


def test_a_reopened_stream_starts_a_second_before_its_read() -> None:
    assert since(5_000_000_123) == "4.000000123"
    assert since(1_000_000_000) == "0.000000000"
