"""A connection's socket read and written with as few system calls as will do: the unix
socket's threaded server (api/server.py).

Every socket call releases the GIL and takes it back. A socket in timeout mode (every API
connection: transport/unix_server.py) polls before each recv or send, and `settimeout` is
one more call. With a few busy connections and the Raft thread, each release hands the GIL
to another thread and back: two thread switches. A request read after a settimeout and
answered with settimeout + sendall made 7 such calls; here it is a poll and a read, and
the answer one write: 3 (bench/api_writes.py: ~30% fewer thread switches per write on
the leader). Deadlines and timeouts mean what they meant.
"""

from __future__ import annotations

import math
import os
import select
import socket
import time
from typing import Any

from swarmlet.transport.limits import DeadlineReader


class PolledReader(DeadlineReader):
    """DeadlineReader's reads, each a poll until the deadline and one read, without the
    settimeout and the socket's own poll. The socket must be non-blocking or in timeout
    mode (its descriptor is non-blocking then)."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self._fd = sock.fileno()
        self._poll = select.poll()
        self._poll.register(self._fd, select.POLLIN)

    def readinto(self, buffer: Any) -> int:
        while True:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the client took too long to send its request")
            if self._poll.poll(math.ceil(remaining * 1000)):
                try:
                    return os.readv(self._fd, [buffer])
                except BlockingIOError:
                    continue  # readable for nothing: wait again


def send_all(sock: socket.socket, data: bytes, timeout: float) -> None:
    """sock.sendall(data), each wait for room at most `timeout`: one write when the socket
    takes it all at once (an answer of a few KB always does), sendall for the rest."""
    if sock.gettimeout() is None:  # blocking: a write would wait without a timeout
        sock.settimeout(timeout)
    try:
        sent = os.write(sock.fileno(), data)
    except BlockingIOError:
        sent = 0
    if sent < len(data):
        sock.settimeout(timeout)
        sock.sendall(memoryview(data)[sent:])
