"""pysyncobj replaces socket.inet_ntop with a Windows-only function on every platform; the
agent imports it, so the network code restores the real one (for pyroute2 too)."""

from __future__ import annotations

import socket


def test_inet_ntop_works_after_pysyncobj():
    import pyroute2.netlink as netlink
    import pysyncobj.tcp_connection  # noqa: F401 - breaks socket.inet_ntop

    from swarmlet.net.inet import restore_inet_ntop

    restore_inet_ntop()
    assert socket.inet_ntop(socket.AF_INET, bytes([10, 0, 1, 5])) == "10.0.1.5"
    assert netlink.inet_ntop(socket.AF_INET, bytes([10, 0, 1, 5])) == "10.0.1.5"
