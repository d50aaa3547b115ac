"""The IPVS load balancer (net/ipvs_plan.py, net/ipvs.py) and the backend choice
(net/lb_backend.py).

This kernel has no IPVS (/proc/net/ip_vs missing), so the backend cannot run here: what is
tested instead is every pure part (fwmarks, desired state, the diff, the nftables text), the
netlink messages pyroute2 would send, encoded and decoded and checked against what the kernel
requires of them (net/netfilter/ipvs/ip_vs_ctl.c), the applier against a fake kernel made of
those messages, and, as root, the nftables text loaded in a scratch network namespace, where the
marks are seen on real packets. tests/integration/test_ipvs.py runs it where IPVS exists."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from socket import AF_INET

import pytest
from pyroute2.netlink.generic import ipvs as genl
from test_net_lb import FRONT, INGRESS, NETS, svc

from swarmlet.errors import SwarmletError
from swarmlet.net import ipvs, ipvs_plan, lb, lb_backend, nft
from swarmlet.net.ipvs_plan import FWMARK_MASK, FWMARK_TAG, Op, Real, Virtual
from swarmlet.net.lb import Balancer

WEB = svc(ports=[(8080, 80, "tcp")],
          backends=[(FRONT, "10.0.1.6"), (FRONT, "10.0.1.5"), (INGRESS, "10.0.0.5")])


def marked(services, ingress=INGRESS):
    return ipvs_plan.assign(lb.plan(services, NETS, ingress)[0])


# --- fwmarks ------------------------------------------------------------------------------

def test_fwmarks_are_stable_in_range_and_distinct():
    chains = [f"svc-s{i}" for i in range(2000)]
    marks = ipvs_plan.fwmarks(chains)
    assert marks == ipvs_plan.fwmarks(reversed(chains))  # order does not matter
    assert len(set(marks.values())) == len(chains)
    assert all(m & FWMARK_MASK == FWMARK_TAG for m in marks.values())
    assert ipvs_plan.fwmarks(["svc-s7"])["svc-s7"] == marks["svc-s7"]  # nor the others


def test_fwmark_collision_takes_the_next_value(monkeypatch):
    class Same:
        def __init__(self, _data):
            pass

        def digest(self):
            return b"\x00\x00\x00\x05"

    monkeypatch.setattr(ipvs_plan.hashlib, "sha256", Same)
    assert ipvs_plan.fwmarks(["b", "a"]) == {"a": FWMARK_TAG | 5, "b": FWMARK_TAG | 6}


def test_ours_only_in_range():
    assert ipvs_plan.ours(FWMARK_TAG | 0xABCDEF)
    assert not ipvs_plan.ours(256) and not ipvs_plan.ours(None)  # Docker counts from 256
    assert not ipvs_plan.ours(0x4000) and not ipvs_plan.ours(0x02000001)


# --- desired state --------------------------------------------------------------------------

def test_desired_state_from_plan():
    pairs = marked([WEB, svc("idle", vips=[(FRONT, "10.0.1.9/24")], ports=[(9090, 90, "udp")])])
    marks = {b.chain: m for b, m in pairs}
    assert set(marks) == {"svc-web", "ingress-web-tcp-8080"}  # no backends: no service
    want = ipvs_plan.desired(pairs)
    assert want[marks["svc-web"]] == Virtual(
        marks["svc-web"], (Real("10.0.1.5", 0), Real("10.0.1.6", 0)), "rr")  # port kept
    assert want[marks["ingress-web-tcp-8080"]].reals == (Real("10.0.0.5", 80, 1, 0),)


def test_other_balancers_are_left_to_nftables():
    other = Balancer("host-web-tcp-80", "tcp dport 80", ("10.0.1.5",), port=80, proto="tcp")
    assert not ipvs_plan.handles(other) and ipvs_plan.assign([other]) == []


# --- the diff -----------------------------------------------------------------------------

A, B = FWMARK_TAG | 1, FWMARK_TAG | 2
R1, R2, R3 = Real("10.0.1.5", 0), Real("10.0.1.6", 0), Real("10.0.1.7", 0)


def test_diff_nothing_to_do():
    state = {A: Virtual(A, (R1, R2))}
    assert ipvs_plan.diff(state, dict(state)) == []


def test_diff_adds_and_removes_services():
    ops = ipvs_plan.diff({A: Virtual(A, (R1,))}, {B: Virtual(B, (R2, R3))})
    assert ops == [Op("del-service", A), Op("add-service", B),
                   Op("add-dest", B, real=R2), Op("add-dest", B, real=R3)]


def test_diff_adding_a_backend_touches_no_other():
    ops = ipvs_plan.diff({A: Virtual(A, (R1, R2))}, {A: Virtual(A, (R1, R2, R3))})
    assert ops == [Op("add-dest", A, real=R3)]


def test_diff_removes_a_backend_and_changes_a_port():
    ops = ipvs_plan.diff({A: Virtual(A, (R1, Real("10.0.0.5", 80)))},
                         {A: Virtual(A, (R1, Real("10.0.0.5", 81)))})
    assert ops == [Op("del-dest", A, real=Real("10.0.0.5", 80)),
                   Op("add-dest", A, real=Real("10.0.0.5", 81))]


def test_diff_repairs_weight_forwarding_and_scheduler():
    have = {A: Virtual(A, (Real("10.0.1.5", 0, weight=0), Real("10.0.1.6", 0, forward=3),
                           R3), "wlc")}
    ops = ipvs_plan.diff(have, {A: Virtual(A, (R1, R2, R3))})
    assert ops == [Op("set-service", A), Op("set-dest", A, real=R1), Op("set-dest", A, real=R2)]


# --- the marking text -------------------------------------------------------------------------

def test_marking_text():
    pairs = marked([WEB])
    marks = {b.chain: m for b, m in pairs}
    text = ipvs_plan.render(pairs)
    assert text.startswith("add table ip swarmlet_ipvs\ndelete table ip swarmlet_ipvs\n")
    assert "type filter hook prerouting priority -150" in text
    assert "type route hook output priority -150" in text
    assert f"ip daddr 10.0.1.2 meta mark set {marks['svc-web']:#010x} return" in text
    assert ("ip daddr != 127.0.0.0/8 fib daddr type local tcp dport 8080 meta mark set "
            f"{marks['ingress-web-tcp-8080']:#010x} return") in text
    assert text.index("ip daddr 10.0.1.2") < text.index("dport 8080")  # VIPs first
    assert 'meta mark & 0xff000000 == 0x01000000 oifname "swlb-*" masquerade' in text
    assert "dnat ip to" not in text


HOST_PORT = {"Protocol": "tcp", "PublishedPort": 80, "TargetPort": 80, "IP": "10.0.0.9"}


def test_tables_leave_dnat_to_other_balancers_only():
    text = ipvs_plan.tables(*lb.plan([WEB], NETS, INGRESS, [HOST_PORT]))
    assert "table ip swarmlet {" in text and "table bridge swarmlet {" in text
    assert "svc-web" not in text and "ingress-web" not in text  # no DNAT chain of IPVS's
    # the VIP returns before the host-mode port's rule, which would take VIP:80 too
    nat = text.split("table ip swarmlet {")[1]
    assert nat.index("ip daddr 10.0.1.2 return") < nat.index("tcp dport 80 goto host-tcp-80")
    assert "dnat ip to" in nat.split("chain host-tcp-80")[1]
    assert text.count("meta mark set") == 2


def test_no_backends_no_mark():
    text = ipvs_plan.render(marked([svc(ports=[(8080, 80, "tcp")])]))
    assert "mark set" not in text


# --- netlink messages, as pyroute2 would send them -------------------------------------------

def roundtrip(cmd: int, attrs: list) -> genl.ipvsmsg:
    msg = genl.ipvsmsg()
    msg["cmd"], msg["version"], msg["attrs"] = cmd, genl.GENL_VERSION, attrs
    msg.encode()
    back = genl.ipvsmsg(msg.data)
    back.decode()
    return back


SVC_KEY = ("IPVS_SVC_ATTR_AF", "IPVS_SVC_ATTR_FWMARK")
SVC_FULL = ("IPVS_SVC_ATTR_SCHED_NAME", "IPVS_SVC_ATTR_FLAGS", "IPVS_SVC_ATTR_TIMEOUT",
            "IPVS_SVC_ATTR_NETMASK")
DEST_KEY = ("IPVS_DEST_ATTR_ADDR", "IPVS_DEST_ATTR_PORT")
DEST_FULL = ("IPVS_DEST_ATTR_FWD_METHOD", "IPVS_DEST_ATTR_WEIGHT", "IPVS_DEST_ATTR_U_THRESH",
             "IPVS_DEST_ATTR_L_THRESH")


class FakeKernelIPVS:
    """The pyroute2 IPVS socket's two calls, over a kernel's table: requests are encoded as
    pyroute2.IPVS does (a service command carries service.dump_nla(), a destination command
    service.dump_key() and dest.dump_nla()), decoded, checked for the attributes the kernel
    requires, and applied; dumps answer with messages shaped as the kernel's."""

    def __init__(self) -> None:
        self.services: dict[int, dict] = {}  # fwmark: {"sched", "dests": {(addr, port): attrs}}
        self.calls: list[tuple[str, str, int, tuple | None]] = []
        self.closed = 0

    def close(self) -> None:
        self.closed += 1

    def service(self, command, service=None):
        if command == "dump":
            return [self._service_msg(m, s) for m, s in sorted(self.services.items())]
        msg = roundtrip(genl.IPVS_CMD_NEW_SERVICE, [("IPVS_CMD_ATTR_SERVICE",
                                                     service.dump_nla())])
        attrs = dict(msg.get("IPVS_CMD_ATTR_SERVICE")["attrs"])
        mark = self._key(attrs)
        if command in ("add", "set"):
            assert all(k in attrs for k in SVC_FULL), attrs  # else EINVAL
            assert attrs["IPVS_SVC_ATTR_NETMASK"] == "255.255.255.255"
        self.calls.append(("service", command, mark, None))
        if command == "add":
            assert mark not in self.services  # EEXIST
            self.services[mark] = {"sched": attrs["IPVS_SVC_ATTR_SCHED_NAME"], "dests": {}}
        elif command == "set":
            self.services[mark]["sched"] = attrs["IPVS_SVC_ATTR_SCHED_NAME"]
        else:
            del self.services[mark]  # ESRCH if missing
        return []

    def dest(self, command, service, dest=None):
        attrs = [("IPVS_CMD_ATTR_SERVICE", service.dump_key())]
        if dest is not None:
            attrs.append(("IPVS_CMD_ATTR_DEST", dest.dump_nla()))
        msg = roundtrip(genl.IPVS_CMD_NEW_DEST, attrs)
        mark = self._key(dict(msg.get("IPVS_CMD_ATTR_SERVICE")["attrs"]))
        dests = self.services[mark]["dests"]
        if command == "dump":
            return [self._dest_msg(d) for _, d in sorted(dests.items())]
        d = dict(msg.get("IPVS_CMD_ATTR_DEST")["attrs"])
        assert all(k in d for k in DEST_KEY), d
        if command in ("add", "set"):
            assert all(k in d for k in DEST_FULL), d
        key = (d["IPVS_DEST_ATTR_ADDR"], d["IPVS_DEST_ATTR_PORT"])
        self.calls.append(("dest", command, mark, key))
        if command == "add":
            assert key not in dests
            dests[key] = d
        elif command == "set":
            assert key in dests
            dests[key] = d
        else:
            del dests[key]
        return []

    @staticmethod
    def _key(attrs: dict) -> int:
        assert set(SVC_KEY) <= set(attrs) and attrs["IPVS_SVC_ATTR_AF"] == AF_INET, attrs
        return attrs["IPVS_SVC_ATTR_FWMARK"]

    @staticmethod
    def _service_msg(mark: int, s: dict) -> genl.ipvsmsg:
        return roundtrip(genl.IPVS_CMD_NEW_SERVICE, [("IPVS_CMD_ATTR_SERVICE", {"attrs": [
            ("IPVS_SVC_ATTR_AF", AF_INET), ("IPVS_SVC_ATTR_PROTOCOL", 6),
            ("IPVS_SVC_ATTR_FWMARK", mark), ("IPVS_SVC_ATTR_SCHED_NAME", s["sched"]),
            ("IPVS_SVC_ATTR_FLAGS", {"flags": 2, "mask": 0xFFFFFFFF}),
            ("IPVS_SVC_ATTR_TIMEOUT", 0), ("IPVS_SVC_ATTR_NETMASK", "255.255.255.255"),
            ("IPVS_SVC_ATTR_STATS", {"attrs": [("IPVS_STATS_ATTR_CONNS", 7)]})]})])

    @staticmethod
    def _dest_msg(d: dict) -> genl.ipvsmsg:
        return roundtrip(genl.IPVS_CMD_NEW_DEST, [("IPVS_CMD_ATTR_DEST", {"attrs": [
            ("IPVS_DEST_ATTR_ADDR", d["IPVS_DEST_ATTR_ADDR"]),
            ("IPVS_DEST_ATTR_PORT", d["IPVS_DEST_ATTR_PORT"]),
            ("IPVS_DEST_ATTR_FWD_METHOD", d["IPVS_DEST_ATTR_FWD_METHOD"]),
            ("IPVS_DEST_ATTR_WEIGHT", d["IPVS_DEST_ATTR_WEIGHT"]),
            ("IPVS_DEST_ATTR_U_THRESH", 0), ("IPVS_DEST_ATTR_L_THRESH", 0),
            ("IPVS_DEST_ATTR_ACTIVE_CONNS", 3), ("IPVS_DEST_ATTR_INACT_CONNS", 1),
            ("IPVS_DEST_ATTR_PERSIST_CONNS", 0),
            ("IPVS_DEST_ATTR_ADDR_FAMILY", AF_INET)]})])


def test_service_and_dest_messages():
    s = dict(ipvs.service(A, "rr").dump_nla()["attrs"])
    assert s["IPVS_SVC_ATTR_FWMARK"] == A and s["IPVS_SVC_ATTR_SCHED_NAME"] == "rr"
    assert "IPVS_SVC_ATTR_ADDR" not in s and "IPVS_SVC_ATTR_PORT" not in s
    d = dict(ipvs.dest(Real("10.0.0.5", 80)).dump_nla()["attrs"])
    assert d["IPVS_DEST_ATTR_FWD_METHOD"] == 0  # masquerading, not pyroute2's default 3
    assert (d["IPVS_DEST_ATTR_ADDR"], d["IPVS_DEST_ATTR_PORT"]) == ("10.0.0.5", 80)
    assert d["IPVS_DEST_ATTR_WEIGHT"] == 1


def test_read_parses_kernel_dumps_and_skips_foreign_services():
    kernel = FakeKernelIPVS()
    kernel.services = {
        A: {"sched": "rr", "dests": {("10.0.1.6", 0): {"IPVS_DEST_ATTR_ADDR": "10.0.1.6",
                                                       "IPVS_DEST_ATTR_PORT": 0,
                                                       "IPVS_DEST_ATTR_FWD_METHOD": 0,
                                                       "IPVS_DEST_ATTR_WEIGHT": 1}}},
        256: {"sched": "rr", "dests": {}},  # Docker's, say: never ours to touch
    }
    assert ipvs.read(kernel) == {A: Virtual(A, (Real("10.0.1.6", 0),), "rr")}


# --- the applier, against the fake kernel ------------------------------------------------------

class FakeNetlink:
    def call(self, work, timeout=30.0):
        return work(None)


@pytest.fixture
def applier(monkeypatch, tmp_path):
    kernel = FakeKernelIPVS()
    held: list[set[str]] = []
    monkeypatch.setattr(nft, "ensure_vips", lambda _ipr, vips: held.append(set(vips)))
    monkeypatch.setattr(nft, "remove_vips", lambda _ipr: held.append(set()))
    monkeypatch.setattr(nft, "hairpin_ports", lambda _ipr: None)
    monkeypatch.setattr(nft, "bridge_names", lambda _ipr: [])
    monkeypatch.setattr(nft, "forwarding_on", lambda: None)
    for name in ipvs.IPVS_SYSCTLS:
        (tmp_path / name).write_text("0\n")
    balancer = ipvs.IPVSLoadBalancer(FakeNetlink(), ipvs=lambda: kernel, sysctls=tmp_path)
    balancer.texts = []
    balancer._run = balancer.texts.append
    balancer._tables_gone = lambda: False  # net/nft.py's drift check would list the host's
    return balancer, kernel, held, tmp_path


def test_applier_syncs_by_differences(applier, monkeypatch):
    balancer, kernel, held, sysctls = applier
    kernel.services[256] = {"sched": "wlc", "dests": {}}
    assert balancer.sync([WEB], NETS, INGRESS) is True
    assert held[-1] == {"10.0.1.2"} and balancer.last_apply_ms is not None
    assert {n: (sysctls / n).read_text() for n in ipvs.IPVS_SYSCTLS} == {
        "conntrack": "1\n", "conn_reuse_mode": "0\n", "expire_nodest_conn": "1\n",
        "expire_quiescent_template": "1\n"}
    [text] = balancer.texts
    assert "table ip swarmlet {" in text and "table ip swarmlet_ipvs {" in text
    assert "dnat ip to" not in text  # IPVS does the balancing, nftables only marks
    assert kernel.closed == 1
    ours = {m: s for m, s in kernel.services.items() if m != 256}
    assert sorted(len(s["dests"]) for s in ours.values()) == [1, 2]

    assert balancer.sync([WEB], NETS, INGRESS) is False  # nothing changed: nothing read
    assert kernel.closed == 1 and len(balancer.texts) == 1

    kernel.calls.clear()
    more = svc(ports=[(8080, 80, "tcp")], backends=[
        (FRONT, "10.0.1.6"), (FRONT, "10.0.1.5"), (FRONT, "10.0.1.7"), (INGRESS, "10.0.0.5")])
    assert balancer.sync([more], NETS, INGRESS) is True
    [(kind, verb, _, key)] = kernel.calls  # one backend added, no other touched
    assert (kind, verb, key) == ("dest", "add", ("10.0.1.7", 0))
    assert len(balancer.texts) == 1  # same marks: the tables are not rewritten

    kernel.calls.clear()
    forgotten = []
    monkeypatch.setattr(nft, "forget_udp_flows_to", forgotten.append)
    assert balancer.sync([], NETS, INGRESS) is True
    assert forgotten == [{"10.0.1.5", "10.0.1.6", "10.0.1.7", "10.0.0.5"}]
    assert sorted(c[:2] for c in kernel.calls) == [("service", "del")] * 2
    assert set(kernel.services) == {256}  # a foreign service stays


def test_applier_repairs_drift_after_the_recheck_period(applier, monkeypatch):
    balancer, kernel, _, _ = applier
    balancer.sync([WEB], NETS, INGRESS)
    mark = next(m for m, s in kernel.services.items() if len(s["dests"]) == 2)
    kernel.services[mark]["dests"].pop(("10.0.1.5", 0))  # `ipvsadm -d` by someone
    assert balancer.sync([WEB], NETS, INGRESS) is False
    monkeypatch.setattr(ipvs, "RECHECK_PERIOD", 0.0)
    assert balancer.sync([WEB], NETS, INGRESS) is True
    assert balancer.last_ops == [Op("add-dest", mark, real=Real("10.0.1.5", 0))]


def test_applier_failure_reads_again(applier):
    balancer, kernel, _, _ = applier
    broken = {"on": True}

    def flaky():
        if broken["on"]:
            raise OSError("netlink")
        return kernel

    balancer._ipvs = flaky
    with pytest.raises(OSError):
        balancer.sync([WEB], NETS, INGRESS)
    broken["on"] = False
    assert balancer.sync([WEB], NETS, INGRESS) is True and len(kernel.services) == 2


def test_applier_remove(applier):
    balancer, kernel, held, _ = applier
    kernel.services[256] = {"sched": "wlc", "dests": {}}
    balancer.sync([WEB], NETS, INGRESS)
    balancer.remove()
    assert set(kernel.services) == {256} and held[-1] == set()
    assert balancer.texts[-1] == lb.removal() + ipvs_plan.removal()


# --- the backend choice ---------------------------------------------------------------------

@pytest.fixture
def proc(tmp_path):
    return tmp_path / "ip_vs"


def test_choice_follows_the_kernel(proc, monkeypatch):
    monkeypatch.delenv(lb_backend.ENV, raising=False)
    assert lb_backend.choose(proc=proc) == "nftables"
    proc.write_text("IP Virtual Server version 1.2.1 (size=4096)\n")
    assert lb_backend.choose(proc=proc) == "ipvs"
    assert isinstance(lb_backend.load_balancer(FakeNetlink(), proc=proc), ipvs.IPVSLoadBalancer)


def test_choice_override(proc, monkeypatch):
    monkeypatch.setenv(lb_backend.ENV, "nftables")
    proc.write_text("")
    assert lb_backend.choose(proc=proc) == "nftables"
    balancer = lb_backend.load_balancer(FakeNetlink(), proc=proc)
    assert type(balancer) is nft.LoadBalancer
    assert lb_backend.choose("IPVS", proc=proc) == "ipvs"  # a parameter beats the env
    monkeypatch.setenv(lb_backend.ENV, "auto")
    assert lb_backend.choose(proc=proc) == "ipvs"


def test_choice_errors(proc, monkeypatch):
    monkeypatch.setenv(lb_backend.ENV, "ipvs")
    with pytest.raises(SwarmletError, match="this kernel has no IPVS"):
        lb_backend.choose(proc=proc)
    with pytest.raises(SwarmletError, match="one of auto, nftables, ipvs"):
        lb_backend.choose("iptables", proc=proc)


# --- the nftables text on a real kernel (root) -------------------------------------------------

# In a scratch network namespace: both tables load, and a connection from the node to the VIP
# and to a published port on a local address leaves the output hook with the balancer's mark
# (counted in input; nothing balances it here, so the kernel refuses it).
MARK_PROBE = textwrap.dedent("""
    import socket, subprocess, sys
    def sh(*cmd, text=None):
        subprocess.run(cmd, input=text, text=True, check=True)
    sh("ip", "link", "set", "lo", "up")
    for a in ("10.0.1.2/32", "192.0.2.1/32"):
        sh("ip", "addr", "add", a, "dev", "lo")
    sh("nft", "-f", "-", text=sys.stdin.read())
    sh("nft", "-f", "-", text=sys.argv[1])
    for addr, port in (("10.0.1.2", 5000), ("192.0.2.1", 8080)):
        try:
            socket.create_connection((addr, port), timeout=2).close()
        except OSError:
            pass
    print(subprocess.run(["nft", "list", "table", "ip", "probe"], capture_output=True,
                         text=True, check=True).stdout)
""")


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("unshare"),
                    reason="needs root, nft and unshare")
def test_marks_on_real_packets():
    pairs = marked([WEB])
    text = ipvs_plan.tables(*lb.plan([WEB], NETS, INGRESS, [HOST_PORT]))
    marks = {b.chain: m for b, m in pairs}
    # per mark, a chain of its own that counts its packets
    vmap = ", ".join(f"{m:#010x} : jump m{m:x}" for m in marks.values())
    probe = ("table ip probe {\nchain input {\ntype filter hook input priority 0;\n"
             f"meta mark vmap {{ {vmap} }}\n}}\n"
             + "".join(f"chain m{m:x} {{\ncounter\n}}\n" for m in marks.values()) + "}\n")
    proc = subprocess.run(["unshare", "-n", sys.executable, "-c", MARK_PROBE, probe],
                          input=text, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for chain, mark in marks.items():
        counted = proc.stdout.split(f"chain m{mark:x} {{")[1].split("}")[0]
        assert "counter packets 0 " not in counted and "counter packets" in counted, (
            chain, proc.stdout)
