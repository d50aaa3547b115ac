"""The IPVS load balancer (net/ipvs.py) on a kernel that has IPVS: the applier runs in a
network namespace of its own, `swl-ipvs-test` (a veth pair in it stands for an overlay bridge),
and the kernel's IPVS state is read back through pyroute2 and /proc/net/ip_vs.

This kernel has no IPVS (/proc/net/ip_vs missing), so here the module is skipped: the pure
parts, the netlink messages and the marking rules are tested in tests/unit/test_net_ipvs.py.
Never run on this kernel so far."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

NETNS = "swl-ipvs-test"
BRIDGE, PEER = "swlb-ipvst", "swl-ipvs-peer"  # swlb-*: the masquerade's interfaces
pytestmark = [
    pytest.mark.skipif(not Path("/proc/net/ip_vs").exists(),
                       reason="this kernel has no IPVS (/proc/net/ip_vs missing)"),
    pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("nft"),
                       reason="needs root, ip and nft"),
]

FRONT, INGRESS = "front0000000", "ingress00000"
NETS = {FRONT: "front", INGRESS: "ingress"}
FOREIGN = 256  # a fwmark service not ours (Docker counts from 256): it must stay


def service(backends: list[tuple[str, str]]) -> dict:
    return {"ID": "id-web", "Name": "web",
            "VirtualIPs": [{"NetworkID": FRONT, "Addr": "10.231.1.2/24"}],
            "Ports": [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080,
                       "PublishMode": "ingress"}],
            "Backends": [{"NetworkID": n, "IP": ip} for n, ip in backends]}


# Runs inside the namespace: each step a sync, then the state as the kernel tells it.
APPLIER = """
import dataclasses, json, subprocess, sys
from pathlib import Path
from pyroute2 import IPVS
from swarmlet.net import ipvs
from swarmlet.net.netlink import Netlink

steps = json.load(sys.stdin)
netlink = Netlink()
balancer = ipvs.IPVSLoadBalancer(netlink)

def state():
    def work(_ipr):
        sock = IPVS()
        try:
            marks = [m.get("IPVS_CMD_ATTR_SERVICE").get("IPVS_SVC_ATTR_FWMARK")
                     for m in sock.service("dump")]
            ours = {str(m): [list(dataclasses.astuple(r)) for r in v.reals] + [v.scheduler]
                    for m, v in ipvs.read(sock).items()}
            return marks, ours
        finally:
            sock.close()
    marks, ours = netlink.call(work)
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    return {"marks": marks, "ours": ours, "proc": Path("/proc/net/ip_vs").read_text(),
            "tables": tables, "ops": [[o.verb, o.fwmark, o.real and o.real.addr]
                                      for o in balancer.last_ops]}

def foreign():
    sock = IPVS()
    try:
        sock.service("add", service=ipvs.service(int(sys.argv[1]), "wlc"))
    finally:
        sock.close()

netlink.call(lambda _ipr: foreign())
out = []
for services, networks, ingress in steps:
    changed = balancer.sync(services, networks, ingress)
    out.append({"changed": changed, **state()})
balancer.remove()
out.append({"changed": None, **state()})
netlink.close()
print(json.dumps(out))
"""


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=check)


@pytest.fixture
def netns():
    sh("ip", "netns", "del", NETNS, check=False)  # a leftover of an interrupted run
    sh("ip", "netns", "add", NETNS)
    try:
        ns = ("ip", "-n", NETNS)
        sh(*ns, "link", "set", "lo", "up")
        sh(*ns, "link", "add", BRIDGE, "type", "veth", "peer", "name", PEER)
        sh(*ns, "addr", "add", "10.231.1.1/24", "dev", BRIDGE)
        sh(*ns, "addr", "add", "10.231.0.1/24", "dev", PEER)
        sh(*ns, "link", "set", BRIDGE, "up")
        sh(*ns, "link", "set", PEER, "up")
        yield NETNS
    finally:
        sh("ip", "netns", "del", NETNS, check=False)  # its links and IPVS table go with it


def run_applier(steps: list) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "agent")}
    proc = subprocess.run(["ip", "netns", "exec", NETNS, sys.executable, "-c", APPLIER,
                           str(FOREIGN)],
                          input=json.dumps(steps), capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_ipvs_applier_in_a_namespace(netns):
    two = service([(FRONT, "10.231.1.5"), (FRONT, "10.231.1.6"), (INGRESS, "10.231.0.5")])
    three = service([(FRONT, "10.231.1.5"), (FRONT, "10.231.1.6"), (FRONT, "10.231.1.7"),
                     (INGRESS, "10.231.0.5")])
    first, same, more, none, removed = run_applier([
        [[two], NETS, INGRESS], [[two], NETS, INGRESS], [[three], NETS, INGRESS],
        [[], NETS, INGRESS]])

    # one fwmark service per balancer, rr, masquerading to port 0 (VIP) or the target port
    assert first["changed"] is True and len(first["ours"]) == 2
    reals = sorted(first["ours"].values())
    assert reals[0] == [["10.231.0.5", 80, 1, 0], "rr"]
    assert reals[1] == [["10.231.1.5", 0, 1, 0], ["10.231.1.6", 0, 1, 0], "rr"]
    for mark in first["ours"]:
        assert f"FWM  {int(mark):08X} rr" in first["proc"]
    assert "Masq" in first["proc"]
    assert {"table ip swarmlet", "table ip swarmlet_ipvs", "table bridge swarmlet"} <= set(
        first["tables"].splitlines())
    assert FOREIGN in first["marks"]

    assert same["changed"] is False and same["ops"] == []
    # a backend more: one destination added, no other touched
    assert more["changed"] is True
    assert [(verb, addr) for verb, _, addr in more["ops"]] == [("add-dest", "10.231.1.7")]

    assert none["changed"] is True and none["ours"] == {}
    assert removed["ours"] == {} and FOREIGN in removed["marks"]
    assert "swarmlet" not in removed["tables"]
