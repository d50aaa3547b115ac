"""The node's resolver over real sockets, on loopback addresses only (net/dns_server.py,
net/dns_forward.py): UDP and TCP, records and their TTL, NXDOMAIN, empty answers,
truncation, forwarding to an upstream (a dnslib server of the test's own on 127.0.0.1),
SERVFAIL when no upstream answers, listeners following `sync`; and the upstream settings."""

from __future__ import annotations

import socket
import time

import pytest
from dnslib import EDNS0, QTYPE, RCODE, RR, A, DNSRecord
from dnslib.server import DNSLogger, DNSServer

from swarmlet.errors import SwarmletError
from swarmlet.net.dns_forward import Upstreams, parse_upstream, resolv_conf_servers
from swarmlet.net.dns_records import FORWARD, NXDOMAIN, RECORDS, Answer
from swarmlet.net.dns_server import DnsServer
from swarmlet.node.config import parse_config

HERE, THERE = "127.0.0.2", "127.0.0.3"  # two "node addresses"
UPSTREAM = "127.0.0.1"
MANY = tuple(f"10.0.1.{i}" for i in range(10, 60))


def free_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, \
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as b:
        a.bind((address, 0))
        port = a.getsockname()[1]
        b.bind((address, port))
        return port


def lookup(qname: str, qtype: str, asker: str) -> Answer:
    name = qname.rstrip(".")
    if asker != "127.0.0.1":
        return Answer(FORWARD)
    if name == "web":
        return Answer(RECORDS, ("10.0.1.2",) if qtype == "A" else ())
    if name == "many":
        return Answer(RECORDS, MANY)
    if name == "gone":
        return Answer(NXDOMAIN)
    return Answer(FORWARD)


class Upstream:
    """The test's upstream: example.test → 192.0.2.7, anything else NXDOMAIN."""

    def __init__(self):
        self.asked: list[str] = []

    def resolve(self, request, handler):
        self.asked.append(f"{handler.protocol} {request.q.qname}")
        reply = request.reply()
        if str(request.q.qname) == "example.test." and request.q.qtype == QTYPE.A:
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A("192.0.2.7"), ttl=30))
        else:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


@pytest.fixture(scope="module")
def upstream_server():
    port = free_port(UPSTREAM)
    resolver = Upstream()
    servers = [DNSServer(resolver, address=UPSTREAM, port=port, tcp=tcp,
                         logger=DNSLogger("-request,-reply,-truncated,-error"))
               for tcp in (False, True)]
    for s in servers:
        s.start_thread()
    resolver.address = f"{UPSTREAM}:{port}"
    yield resolver
    for s in servers:
        s.stop()
        s.server.server_close()


@pytest.fixture
def upstream(upstream_server):
    upstream_server.asked.clear()
    return upstream_server


@pytest.fixture
def server(upstream):
    dns = DnsServer(lookup, Upstreams([upstream.address]), port=free_port(HERE))
    dns.sync({HERE})
    yield dns
    dns.stop()


def query(server, name, qtype="A", tcp=False, edns=None, address=HERE):
    q = DNSRecord.question(name, qtype)
    if edns:
        q.add_ar(EDNS0(udp_len=edns))
    return DNSRecord.parse(q.send(address, server.port, tcp=tcp, timeout=5))


@pytest.mark.parametrize("tcp", [False, True])
def test_records_with_docker_ttl(server, tcp):
    answer = query(server, "web", tcp=tcp)
    assert answer.header.rcode == RCODE.NOERROR and answer.header.aa
    assert [(str(r.rdata), r.ttl, r.rtype) for r in answer.rr] == [("10.0.1.2", 600, 1)]
    assert str(answer.q.qname) == "web."


def test_empty_answer_and_nxdomain(server):
    aaaa = query(server, "web", "AAAA")
    assert aaaa.header.rcode == RCODE.NOERROR and aaaa.rr == []
    assert query(server, "gone").header.rcode == RCODE.NXDOMAIN


def test_big_answers_are_truncated_on_udp_and_whole_on_tcp(server):
    udp = query(server, "many")
    assert udp.header.tc and 0 < len(udp.rr) < len(MANY)
    assert len(udp.pack()) <= 512
    bigger = query(server, "many", edns=4096)  # the client can take more: all of it
    assert not bigger.header.tc and len(bigger.rr) == len(MANY)
    tcp = query(server, "many", tcp=True)
    assert not tcp.header.tc and {str(r.rdata) for r in tcp.rr} == set(MANY)


@pytest.mark.parametrize("tcp", [False, True])
def test_other_names_are_forwarded_as_they_came(server, upstream, tcp):
    answer = query(server, "example.test", tcp=tcp)
    assert [str(r.rdata) for r in answer.rr] == ["192.0.2.7"]
    assert answer.rr[0].ttl == 30  # the upstream's answer, untouched
    assert query(server, "nothing.test", tcp=tcp).header.rcode == RCODE.NXDOMAIN
    assert upstream.asked == [f"{'tcp' if tcp else 'udp'} example.test.",
                              f"{'tcp' if tcp else 'udp'} nothing.test."]


def test_a_stranger_gets_no_swarm_names(server, upstream):
    # only 127.0.0.1 is a "task" of the fake lookup; the test asks from 127.0.0.1, so
    # ask through the second listener from another source address
    q = DNSRecord.question("web")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.9", 0))
        sock.settimeout(5)
        sock.sendto(q.pack(), (HERE, server.port))
        answer = DNSRecord.parse(sock.recv(4096))
    assert answer.header.rcode == RCODE.NXDOMAIN  # the upstream's word
    assert upstream.asked == ["udp web."]


def test_servfail_when_no_upstream_answers():
    dead = free_port("127.0.0.1")  # nothing listens there: refused at once
    port = free_port(HERE)
    while port == dead:  # two free ports, on two addresses, may be the same number
        port = free_port(HERE)
    dns = DnsServer(lookup, Upstreams([f"127.0.0.1:{dead}"]), port=port)
    dns.sync({HERE})
    try:
        started = time.monotonic()
        assert query(dns, "example.test", tcp=True).header.rcode == RCODE.SERVFAIL
        assert time.monotonic() - started < 2
    finally:
        dns.stop()


def test_listeners_follow_sync(server):
    server.sync({HERE, THERE})
    assert server.addresses() == {HERE, THERE}
    assert query(server, "web", address=THERE).rr
    server.sync({THERE})
    with pytest.raises(OSError), socket.create_connection((HERE, server.port), timeout=2):
        pass
    assert query(server, "web", address=THERE, tcp=True).rr
    server.sync(set())
    assert server.addresses() == set()


def test_garbage_is_ignored(server):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.5)
        sock.sendto(b"\x00\x01garbage", (HERE, server.port))
        with pytest.raises(TimeoutError):
            sock.recv(512)
    assert query(server, "web").rr  # still serving


# --- upstream settings --------------------------------------------------------------------

def test_upstreams_from_resolv_conf(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("# comment\nsearch example.org\nnameserver 192.0.2.1\n"
                    "nameserver fe80::1%eth0\nnameserver bogus\nnameserver 192.0.2.2\n"
                    "nameserver 192.0.2.3\n")
    assert resolv_conf_servers(conf.read_text()) == [("192.0.2.1", 53), ("fe80::1", 53),
                                                     ("192.0.2.2", 53)]
    upstreams = Upstreams(None, resolv_conf=conf)
    assert upstreams.servers()[0] == ("192.0.2.1", 53)
    time.sleep(0.01)
    conf.write_text("nameserver 192.0.2.9\n")
    assert upstreams.servers() == [("192.0.2.9", 53)]  # re-read when it changed
    assert Upstreams([], resolv_conf=conf).servers() == []  # configured: none


def test_parse_upstream():
    assert parse_upstream("192.0.2.1") == ("192.0.2.1", 53)
    assert parse_upstream("192.0.2.1:5353") == ("192.0.2.1", 5353)
    assert parse_upstream("[2001:db8::1]:53") == ("2001:db8::1", 53)
    assert parse_upstream("2001:db8::1") == ("2001:db8::1", 53)
    for bad in ("x", "192.0.2.1:0", "192.0.2.1:x", ""):
        with pytest.raises(ValueError):
            parse_upstream(bad)


def test_config_key():
    assert parse_config({}).dns_upstreams is None
    config = parse_config({"dns_upstreams": ["198.18.0.2", "198.18.0.3:5353"]})
    assert config.dns_upstreams == ("198.18.0.2", "198.18.0.3:5353")
    assert parse_config({"dns_upstreams": []}).dns_upstreams == ()
    for bad, message in ((["nope"], "'nope' is not an IP address or IP:PORT"),
                         (["1.2.3.4"] * 4, "at most 3 servers, not 4"),
                         ("1.2.3.4", "dns_upstreams must be list or null")):
        with pytest.raises(SwarmletError, match=message):
            parse_config({"dns_upstreams": bad}, source="swarmlet.yml")
