"""Forgetting the UDP flows of backends that left (IPVS's expire_nodest_conn, kube-proxy's
conntrack cleanup). DNAT is decided on a flow's first packet only; a UDP "connection" whose
backend left keeps going to it for as long as packets keep the conntrack entry alive, so the
entries whose reply comes from a removed backend are deleted, and the next packet is balanced
afresh. TCP is left alone: a connection to a gone task fails on its own and new ones avoid it.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable

from swarmlet.net.pyroute import NFCTAttrTuple, NFCTSocket

log = logging.getLogger("swarmlet.net.lb")


def forget_udp_flows_to(addresses: Iterable[str]) -> int:
    """Delete the UDP conntrack entries answered by one of `addresses` (in this network
    namespace); returns how many went."""
    gone = set(addresses)
    if not gone:
        return 0
    deleted = 0
    with NFCTSocket() as ct:
        for address in sorted(gone):
            # Only the UDP entries answered by this address, chosen by the kernel (Linux 5.8+;
            # an older one ignores the filter and sends all, which the test below still
            # sorts): a busy node holds tens of thousands of entries (TIME_WAIT, and a UDP
            # entry per VXLAN source port), seconds of work to parse in Python.
            wanted = NFCTAttrTuple(family=socket.AF_INET, saddr=address,
                                   proto=socket.IPPROTO_UDP)
            for entry in list(ct.dump(tuple_reply=wanted)):
                reply = NFCTAttrTuple.from_netlink(socket.AF_INET,
                                                   entry.get_attr("CTA_TUPLE_REPLY"))
                if reply.proto != socket.IPPROTO_UDP or reply.saddr != address:
                    continue
                orig = NFCTAttrTuple.from_netlink(socket.AF_INET,
                                                  entry.get_attr("CTA_TUPLE_ORIG"))
                try:
                    ct.entry("del", tuple_orig=orig)
                    deleted += 1
                except Exception as exc:  # it expired meanwhile
                    log.debug("conntrack entry %s not deleted: %s", orig, exc)
    return deleted
