"""net/conntrack.py on the real kernel, in a network namespace made here (no packet is sent:
the entries are written directly): UDP flows answered by a removed backend are forgotten,
others (other backends, TCP) stay."""

from __future__ import annotations

import json

from conftest import run_in_new_netns

NETNS = "swl-ct-test"

SCRIPT = """
import json, socket
from pyroute2 import NFCTSocket
from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple as T
from swarmlet.net.conntrack import forget_udp_flows_to
with NFCTSocket() as ct:
    for backend, proto, sport in (("10.9.0.3", 17, 1001), ("10.9.0.4", 17, 1002),
                                  ("10.9.0.3", 6, 1003)):
        ct.entry("add", timeout=60,
                 tuple_orig=T(saddr="10.9.0.1", daddr="10.9.0.2", proto=proto, sport=sport,
                              dport=53),
                 tuple_reply=T(saddr=backend, daddr="10.9.0.1", proto=proto, sport=53,
                               dport=sport))
deleted = forget_udp_flows_to(["10.9.0.3"])
with NFCTSocket() as ct:
    left = sorted((T.from_netlink(socket.AF_INET, e.get_attr("CTA_TUPLE_REPLY")).saddr,
                   T.from_netlink(socket.AF_INET, e.get_attr("CTA_TUPLE_REPLY")).proto)
                  for e in ct.dump())
print(json.dumps({"deleted": deleted, "left": left}))
"""


def test_udp_flows_of_a_removed_backend_are_forgotten():
    result = json.loads(run_in_new_netns(NETNS, SCRIPT))
    assert result == {"deleted": 1, "left": [["10.9.0.3", 6], ["10.9.0.4", 17]]}
