"""net/overlay.py's FDB entries on the real kernel, in a network namespace made here (no
packet is sent): a MAC the bridge learned on the VXLAN port is forgotten once its address is
no longer remote (a task address handed out again, now to a container on this node), so
frames for it stop going out over VXLAN; a MAC still remote keeps its entry."""

from __future__ import annotations

from conftest import run_in_new_netns

NETNS = "swl-fdb-test"

SCRIPT = """
import subprocess
from swarmlet.net.names import mac_of
from swarmlet.net.netlink import Netlink
from swarmlet.net.overlay import Overlays
from swarmlet.net.spec import OverlaySpec, Peer

def spec(*peers):
    return OverlaySpec("n1", "fdbnet", 4321, "10.123.9.2/24",
                       tuple(Peer(ip, "198.18.0.99") for ip in peers))

def learned():
    out = subprocess.run(["bridge", "fdb", "show", "dev", "swlx-4321"], capture_output=True,
                         text=True, check=True).stdout
    return sorted(line.split()[0] for line in out.splitlines()
                  if "master" in line and "permanent" not in line)

netlink = Netlink()
overlays = Overlays(netlink)
overlays.ensure(spec("10.123.9.10", "10.123.9.11"), "198.18.0.98")
for ip in ("10.123.9.10", "10.123.9.11"):  # as the bridge learns them from VXLAN frames
    subprocess.run(["bridge", "fdb", "add", mac_of(ip), "dev", "swlx-4321", "master",
                    "dynamic"], check=True)
print(learned())
overlays.ensure(spec("10.123.9.11"), "198.18.0.98")  # .10 is no longer remote
print(learned())
print(mac_of("10.123.9.10"), mac_of("10.123.9.11"))
netlink.close()
"""


def test_a_mac_no_longer_remote_leaves_the_bridge():
    before, after, macs = run_in_new_netns(NETNS, SCRIPT).splitlines()
    gone, kept = macs.split()
    assert before == str(sorted([gone, kept]))
    assert after == str([kept])
