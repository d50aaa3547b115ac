"""What an Engine API handler answers: a JSON value (200), or an Answer with Docker's status
(201 for a create, 204 for some removals), headers, or a stream."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

RAW_STREAM = "application/vnd.docker.raw-stream"


@dataclass
class Answer:
    status: int = 200
    body: Any = None  # JSON-able; None: an empty body
    headers: list[tuple[str, str]] = field(default_factory=list)
    # Sent chunked as produced (logs), each step in a thread. A step that may wait long
    # should yield b"" now and then (a second or so): nothing is sent, but the frontend
    # sees a client that went away and closes the iterator (its `finally` runs).
    stream: Iterator[bytes] | None = None
    content_type: str = "application/json"
    text: str | None = None  # a text/plain body (/_ping)


def created(body: Any) -> Answer:
    return Answer(201, body)


def no_content() -> Answer:
    return Answer(204)
