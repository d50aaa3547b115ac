"""A stand-in upstream resolver for tests/integration/test_dns.py, run inside a local
machine (`machine ssh`, so it dies with the machine): UDP and TCP on ADDRESS:PORT; answers
`NAME A` with ANSWER and every other query NXDOMAIN; one line per query on stdout.

    python dns_upstream.py ADDRESS PORT NAME ANSWER
"""

from __future__ import annotations

import sys
import threading

from dnslib import QTYPE, RCODE, RR, A
from dnslib.server import DNSLogger, DNSServer


class Fixed:
    def __init__(self, name: str, answer: str) -> None:
        self.name, self.answer = name.rstrip(".").lower(), answer

    def resolve(self, request, handler):
        q = request.q
        print(f"{handler.protocol} {handler.client_address[0]} {q.qname} {QTYPE[q.qtype]}",
              flush=True)
        reply = request.reply()
        if str(q.qname).rstrip(".").lower() != self.name:
            reply.header.rcode = RCODE.NXDOMAIN
        elif q.qtype == QTYPE.A:
            reply.add_answer(RR(q.qname, QTYPE.A, rdata=A(self.answer), ttl=60))
        return reply


def main() -> None:
    address, port, name, answer = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    resolver = Fixed(name, answer)
    quiet = DNSLogger("-request,-reply,-truncated,-error,-recv,-send,-data")
    for tcp in (False, True):
        DNSServer(resolver, address=address, port=port, tcp=tcp, logger=quiet).start_thread()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
