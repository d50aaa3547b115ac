"""The node's DNS resolver: UDP and TCP listeners on port 53 of each of the node's own
addresses on its overlay networks (the gateway of its containers there), in the agent's
network namespace. dnslib reads and writes the messages; which names exist is
net/dns_records.py's, forwarding net/dns_forward.py's.

One thread waits on every listener (a selector); queries are answered by a small pool of
threads (a forwarded query may wait seconds for an upstream). The listeners follow the
networks programmed on the node: `sync` opens what is missing and closes the rest.

A UDP answer larger than the client can take (512 bytes, or its EDNS0 size) is cut to the
records that fit, with the TC flag, as Docker does: the client asks again over TCP.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import struct
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from swarmlet.net.dns_forward import Upstream, Upstreams, forward, parse_upstream, read_exact
from swarmlet.net.dns_records import FORWARD, NXDOMAIN, TTL, Answer

log = logging.getLogger("swarmlet.net.dns")

PORT = 53
UDP_DEFAULT_SIZE = 512
WORKERS = 8
MAX_PENDING = 256  # queries waiting for a worker; more UDP queries are dropped (retried)
TCP_IDLE = 5.0  # seconds a TCP connection may stay silent between queries

Lookup = Callable[[str, str, str], Answer]  # (query name, type, asker's address) → answer


class DnsServer:
    def __init__(self, lookup: Lookup, upstreams: Upstreams, port: int = PORT) -> None:
        self.lookup = lookup
        self.upstreams = upstreams
        self.port = port
        self._listeners: dict[str, tuple[socket.socket, socket.socket]] = {}
        self._selector = selectors.DefaultSelector()
        self._waker, self._wakee = socket.socketpair()  # ends the selector's wait at stop
        self._selector.register(self._wakee, selectors.EVENT_READ, "wake")
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="dns")
        self._pending = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # --- listeners ------------------------------------------------------------------------

    def addresses(self) -> set[str]:
        with self._lock:
            return set(self._listeners)

    def sync(self, addresses: set[str]) -> None:
        """Listen on exactly `addresses` (an address that cannot be bound now is tried
        again on the next call)."""
        if self._stopping.is_set():
            return
        with self._lock:
            for address in set(self._listeners) - addresses:
                self._close(address)
            for address in sorted(addresses - set(self._listeners)):
                try:
                    self._listeners[address] = self._open(address)
                except OSError as exc:
                    log.warning("DNS: cannot listen on %s:%s: %s", address, self.port,
                                exc.strerror or exc)
                    continue
                log.info("DNS: listening on %s:%s (udp, tcp)", address, self.port)
            if self._listeners and self._thread is None:
                self._thread = threading.Thread(target=self._run, name="dns", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            for address in list(self._listeners):
                self._close(address)
        self._waker.send(b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._selector.close()
        self._waker.close()
        self._wakee.close()

    def _open(self, address: str) -> tuple[socket.socket, socket.socket]:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            for sock in (udp, tcp):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((address, self.port))
                sock.setblocking(False)
            tcp.listen(64)
            self._selector.register(udp, selectors.EVENT_READ, "udp")
            self._selector.register(tcp, selectors.EVENT_READ, "tcp")
        except OSError:
            for sock in (udp, tcp):
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.unregister(sock)
                sock.close()
            raise
        return udp, tcp

    def _close(self, address: str) -> None:
        for sock in self._listeners.pop(address):
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(sock)
            sock.close()
        log.info("DNS: stopped listening on %s:%s", address, self.port)

    # --- serving ----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                events = self._selector.select()
            except (OSError, ValueError):  # closed under us (stop)
                if self._stopping.is_set():
                    return
                continue
            for key, _mask in events:
                try:
                    if key.data == "wake":
                        return
                    if key.data == "udp":
                        data, client = key.fileobj.recvfrom(65535)  # type: ignore[union-attr]
                        self._submit(self._serve_udp, key.fileobj, data, client, drop=True)
                    else:
                        conn, client = key.fileobj.accept()  # type: ignore[union-attr]
                        conn.setblocking(True)
                        conn.settimeout(TCP_IDLE)
                        if not self._submit(self._serve_tcp, conn, client):
                            conn.close()
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as exc:  # a listener closed by sync meanwhile
                    log.debug("DNS: %s", exc)

    def _submit(self, fn: Callable[..., None], *args: object, drop: bool = False) -> bool:
        with self._lock:
            if drop and self._pending >= MAX_PENDING:
                return False
            self._pending += 1

        def run() -> None:
            try:
                fn(*args)
            except Exception:
                log.exception("DNS: query not answered")
            finally:
                with self._lock:
                    self._pending -= 1
        try:
            self._pool.submit(run)
        except RuntimeError:  # stopping
            with self._lock:
                self._pending -= 1
            return False
        return True

    def _serve_udp(self, sock: socket.socket, data: bytes, client: tuple[str, int]) -> None:
        answer = self.answer(data, client[0], tcp=False)
        if answer is not None:
            try:
                sock.sendto(answer, client)
            except OSError as exc:
                log.debug("DNS: answer to %s not sent: %s", client[0], exc)

    def _serve_tcp(self, conn: socket.socket, client: tuple[str, int]) -> None:
        with conn:
            for _ in range(100):  # queries on one connection
                try:
                    head = read_exact(conn, 2)
                    if not head:
                        return
                    data = read_exact(conn, struct.unpack("!H", head)[0])
                    if not data:
                        return
                    answer = self.answer(data, client[0], tcp=True)
                    if answer is None:
                        return
                    conn.sendall(struct.pack("!H", len(answer)) + answer)
                except OSError:
                    return

    # --- one query --------------------------------------------------------------------------

    def answer(self, data: bytes, asker: str, tcp: bool) -> bytes | None:
        """The answer to one DNS message from `asker`; None: nothing to answer (not DNS)."""
        # dnslib loads with the first query: a node without overlays never needs it
        from dnslib import QTYPE, RCODE, RR, A, DNSError, DNSRecord

        try:
            request = DNSRecord.parse(data)
        except (DNSError, ValueError, IndexError, struct.error):
            return None
        if request.header.qr:
            return None  # an answer, not a query
        reply = request.reply()
        if request.header.opcode != 0 or len(request.questions) != 1:
            reply.header.rcode = RCODE.NOTIMP if request.header.opcode else RCODE.FORMERR
            return reply.pack()
        question = request.q
        found = self.lookup(str(question.qname), str(QTYPE.get(question.qtype)), asker)
        if found.kind == FORWARD:
            upstream = forward(data, own_servers(found.addresses) or self.upstreams.servers(),
                               tcp)  # the task's own DNS servers, or the node's
            if upstream is not None:
                return upstream
            reply.header.aa = 0
            reply.header.rcode = RCODE.SERVFAIL
            return reply.pack()
        if found.kind == NXDOMAIN:
            reply.header.rcode = RCODE.NXDOMAIN
        for address in found.addresses:
            reply.add_answer(RR(question.qname, QTYPE.A, rdata=A(address), ttl=TTL))
        packed = reply.pack()
        if not tcp:
            limit = max([UDP_DEFAULT_SIZE] + [rr.rclass for rr in request.ar
                                              if rr.rtype == QTYPE.OPT])
            while len(packed) > limit and reply.rr:
                reply.rr.pop()
                reply.header.tc = 1
                packed = reply.pack()
        return packed


def own_servers(addresses: tuple[str, ...]) -> list[Upstream]:
    """A task's DNS servers as upstreams (what is no address is skipped)."""
    out = []
    for text in addresses:
        try:
            out.append(parse_upstream(text))
        except ValueError:
            continue
    return out
