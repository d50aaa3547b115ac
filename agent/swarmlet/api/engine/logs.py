"""Docker's /services/{id}/logs and /tasks/{id}/logs: the lines of every node, in Docker's
multiplexed stream (an 8-byte header per frame: stream 1 stdout or 2 stderr, three zero
bytes, the big-endian size). With `details`, each line starts with the swarm's context
(com.docker.swarm.node.id=...,com.docker.swarm.service.id=...,com.docker.swarm.task.id=...)
that `docker service logs` parses to print `<service>.<slot>.<task>@<node>    | <line>`."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from swarmlet.api.engine.answers import RAW_STREAM, Answer
from swarmlet.api.engine.tasks import find_task
from swarmlet.api.node_control import NodeControl
from swarmlet.api.router import Request, Router
from swarmlet.spec.engine.services import LogsQuery, is_set
from swarmlet.transport.errors import HttpError

STREAMS = {"stdout": 1, "stderr": 2}


def frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxI", stream, len(data)) + data


def details(node_id: str, service_id: str, task_id: str) -> str:
    """dockerd's attrs: key=value, sorted by key, values query-escaped."""
    attrs = {"com.docker.swarm.node.id": node_id, "com.docker.swarm.service.id": service_id,
             "com.docker.swarm.task.id": task_id}
    return ",".join(f"{k}={quote(v, safe='')}" for k, v in sorted(attrs.items()))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def log_frame(item: dict[str, Any], service_id: str, timestamps: bool,
              with_details: bool) -> bytes:
    """One log line as dockerd writes it: [timestamp ][details ]line\\n, framed."""
    line = item["Line"]
    if with_details:
        line = f"{details(item.get('NodeID') or '', service_id, item['Task'])} {line}"
    if timestamps:
        line = f"{item.get('Time') or _now()} {line}"
    return frame(STREAMS.get(item.get("Stream") or "stdout", 1), f"{line}\n".encode())


def tail_of(raw: str | None) -> int:
    """Docker's tail: a count, or all (also "" and negative counts)."""
    if not raw or raw == "all" or raw.startswith("-"):
        return -1
    return int(raw)


def add_log_routes(router: Router, access: NodeControl) -> None:
    def answer(request: Request, service_id: str, task_id: str | None) -> Answer:
        query = request.query
        wanted = {name for name in STREAMS if is_set(query.get(name))}
        if not wanted:
            raise HttpError(400, "Bad parameters: you must choose at least one stream")
        timestamps, with_details = is_set(query.get("timestamps")), is_set(query.get("details"))
        items = access.services().log_items(service_id, tail_of(query.get("tail")),
                                            is_set(query.get("follow")),
                                            query.get("since") or None, task_id)

        def frames() -> Iterator[bytes]:
            try:
                for item in items:
                    if (item.get("Stream") or "stdout") in wanted:
                        yield log_frame(item, service_id, timestamps, with_details)
            finally:
                items.close()  # type: ignore[attr-defined]

        return Answer(stream=frames(), content_type=RAW_STREAM)

    @router.add("GET", "/services/{id}/logs", "A service's logs from every node, in Docker's "
                "multiplexed stream", query=LogsQuery)
    def service_logs(request: Request) -> Answer:
        service = access.services().resolve(request.params["id"])
        return answer(request, service["ID"], None)

    @router.add("GET", "/tasks/{id}/logs", "A task's logs, in Docker's multiplexed stream",
                query=LogsQuery)
    def task_logs(request: Request) -> Answer:
        task = find_task(access, request.params["id"])
        return answer(request, task["ServiceID"], task["ID"])
