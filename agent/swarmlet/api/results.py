"""What a handler may answer besides a JSON-able value, for both servers (api/server.py on
the unix socket, api/cluster_server.py on the cluster port)."""

from __future__ import annotations

from collections.abc import Iterator

from swarmlet.metrics import CONTENT_TYPE
from swarmlet.transport.parked import Parked, wait_parked

__all__ = ["MetricsText", "Parked", "PlainText", "Streaming", "wait_parked"]


class PlainText(str):
    """A handler result sent as text/plain (for /_ping, as Docker's)."""

    content_type = "text/plain; charset=utf-8"


class MetricsText(PlainText):
    """The Prometheus text format (/metrics), with its version in the content type."""

    content_type = CONTENT_TYPE


class Streaming:
    """A handler result sent as it is produced (chunked text/plain), such as `logs -f`.
    If the client goes away, the iterator is closed, so its cleanup runs."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
