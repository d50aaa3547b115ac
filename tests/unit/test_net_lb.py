"""The load balancer's rendering (net/lb.py) and the "Services" of the assignments
(manager/dispatcher/assignment_services.py)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from swarmlet.manager.dispatcher.assignment_services import node_services
from swarmlet.net import lb

FRONT, BACK, INGRESS = "front0000000", "back00000000", "ingress00000"
NETS = {FRONT: "front", BACK: "back", INGRESS: "ingress"}


def svc(name="web", vips=((FRONT, "10.0.1.2/24"),), ports=(), backends=()):
    return {"ID": f"id-{name}", "Name": name,
            "VirtualIPs": [{"NetworkID": n, "Addr": a} for n, a in vips],
            "Ports": [{"Protocol": pr, "TargetPort": t, "PublishedPort": p,
                       "PublishMode": "ingress"} for p, t, pr in ports],
            "Backends": [{"NetworkID": n, "IP": ip} for n, ip in backends]}


def test_vip_spreads_over_backends_on_its_network():
    balancers, vips = lb.plan([svc(backends=[(FRONT, "10.0.1.6"), (FRONT, "10.0.1.5"),
                                             (INGRESS, "10.0.0.5")])], NETS, None)
    assert vips == {"10.0.1.2"}
    text = lb.render(balancers, vips)
    assert "ip daddr 10.0.1.2 goto svc-web" in text
    assert "dnat ip to numgen inc mod 2 map { 0 : 10.0.1.5, 1 : 10.0.1.6 }" in text
    assert "10.0.0.5" not in text


def test_vip_of_a_network_not_here_is_left_out():
    balancers, vips = lb.plan([svc(backends=[(FRONT, "10.0.1.5")])], {BACK: 'back'}, None)
    assert balancers == [] and vips == set()


def test_ingress_port_dnat_to_target_port():
    service = svc(ports=[(8080, 80, "tcp"), (5353, 53, "udp")],
                  backends=[(INGRESS, "10.0.0.7"), (INGRESS, "10.0.0.5"), (FRONT, "10.0.1.5")])
    text = lb.render(*lb.plan([service], NETS, INGRESS))
    assert ("ip daddr != 127.0.0.0/8 fib daddr type local tcp dport 8080 "
            "goto ingress-web-tcp-8080") in text
    assert ("meta l4proto tcp dnat ip to numgen inc mod 2 map "
            "{ 0 : 10.0.0.5, 1 : 10.0.0.7 } : 80") in text
    assert "udp dport 5353 goto ingress-web-udp-5353" in text
    # VIP rules come before published ports (a VIP is a local address too)
    assert text.index("goto svc-web") < text.index("goto ingress-web-tcp-8080")


def test_no_backends_no_dnat_but_vip_held():
    text = lb.render(*lb.plan([svc(ports=[(8080, 80, "tcp")])], NETS, INGRESS))
    assert "dnat ip to" not in text and "goto" not in text
    assert "elements = { 10.0.1.2 }" in text


def test_masquerade_and_arp_guard():
    text = lb.render(*lb.plan([svc(backends=[(FRONT, "10.0.1.5")])], NETS, None))
    assert 'ct status dnat oifname "swlb-*" masquerade' in text
    assert 'iifname "swlb-*" oifname != "swlb-*" masquerade' in text  # egress
    assert 'oifname "swlx-*" arp operation request arp daddr ip @vips drop' in text
    assert 'iifname "swlx-*" arp operation request arp daddr ip @vips drop' in text
    assert text.startswith("add table ip swarmlet\ndelete table ip swarmlet\n")


def test_render_is_deterministic_and_names_are_safe():
    a = [svc("b.x", backends=[(FRONT, "10.0.1.9")]), svc("a", vips=[(FRONT, "10.0.1.3")])]
    assert lb.render(*lb.plan(a, NETS, None)) == lb.render(*lb.plan(a[::-1], NETS, None))
    assert "svc-b_x" in lb.render(*lb.plan(a, NETS, None))


def test_two_vips_get_two_chains():
    service = svc(vips=[(FRONT, "10.0.1.2/24"), (BACK, "10.0.2.2/24")],
                  backends=[(FRONT, "10.0.1.5"), (BACK, "10.0.2.5")])
    text = lb.render(*lb.plan([service], NETS, None))
    assert "ip daddr 10.0.1.2 goto svc-web-front" in text
    assert "ip daddr 10.0.2.2 goto svc-web-back" in text


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("unshare"),
                    reason="needs root, nft and unshare")
def test_networks_are_isolated_but_published_ports_reachable():
    text = lb.render(*lb.plan([svc(backends=[(FRONT, "10.0.1.5")])], NETS, None),
                     ["swlb-4097", "swlb-4096"])
    assert 'iifname "swlb-*" oifname "swlb-*" jump isolation' in text
    isolation = text.split("chain isolation {")[1].split("}")[0].split("\n")
    assert [r.strip() for r in isolation if r.strip()] == [
        'iifname "swlb-4096" oifname "swlb-4096" return',
        'iifname "swlb-4097" oifname "swlb-4097" return',
        "ct status dnat ct original ip daddr != @vips return", "drop"]


def test_a_published_port_53_leaves_the_resolver_alone():
    service = svc(ports=[(53, 53, "udp")], backends=[(INGRESS, "10.0.0.5")])
    lines = lb.render(*lb.plan([service], NETS, INGRESS)).split("\n")
    start = lines.index("\tchain services {") + 1
    rules = [r.strip() for r in lines[start:lines.index("\t}", start)]]
    assert rules.index('iifname "swlb-*" meta l4proto { tcp, udp } th dport 53 return') \
        < rules.index("ip daddr != 127.0.0.0/8 fib daddr type local udp dport 53 "
                      "goto ingress-web-udp-53")


def test_nft_accepts_the_text():
    service = svc(ports=[(8080, 80, "tcp")], backends=[(FRONT, "10.0.1.5"),
                                                      (INGRESS, "10.0.0.5")])
    for text in (lb.render(*lb.plan([service], NETS, INGRESS), ["swlb-4096", "swlb-4097"]),
                 lb.render([], set()), lb.removal()):
        proc = subprocess.run(["unshare", "-n", "nft", "-c", "-f", "-"], input=text,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr + text


# --- the manager's side -----------------------------------------------------------------

def service_obj(sid, name, vips=(), ports=()):
    return {"ID": sid, "Spec": {"Name": name},
            "Endpoint": {"VirtualIPs": [{"NetworkID": n, "Addr": a} for n, a in vips],
                         "Ports": [dict(p) for p in ports]}}


def task_obj(tid, sid, state, addrs, desired="running"):
    return {"ID": tid, "ServiceID": sid, "DesiredState": desired,
            "Status": {"State": state},
            "NetworksAttachments": [{"Network": {"ID": n}, "Addresses": [a]}
                                    for n, a in addrs]}


def test_services_of_a_node():
    port = {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080,
            "PublishMode": "ingress"}
    services = [service_obj("s1", "web", [(FRONT, "10.0.1.2/24"), (INGRESS, "10.0.0.2/24")],
                            [port]),
                service_obj("s2", "db", [(BACK, "10.0.2.2/24")]),
                service_obj("s3", "dns", [], [])]
    tasks = [task_obj("t1", "s1", "running", [(FRONT, "10.0.1.5/24"),
                                              (INGRESS, "10.0.0.5/24")]),
             task_obj("t2", "s1", "starting", [(FRONT, "10.0.1.6/24")]),
             task_obj("t3", "s1", "running", [(FRONT, "10.0.1.7/24")], desired="shutdown"),
             task_obj("t4", "s2", "running", [(BACK, "10.0.2.5/24")])]
    [web] = node_services({INGRESS}, services, tasks, INGRESS)  # a node with no task
    assert web["Name"] == "web" and web["Ports"] == [port]
    assert web["VirtualIPs"] == [{"NetworkID": INGRESS, "Addr": "10.0.0.2/24"}]
    assert web["Backends"] == [{"NetworkID": INGRESS, "IP": "10.0.0.5"}]
    both = node_services({INGRESS, FRONT, BACK}, services, tasks, INGRESS)
    assert [s["Name"] for s in both] == ["db", "web"]
    assert both[1]["Backends"] == [{"NetworkID": FRONT, "IP": "10.0.1.5"},
                                   {"NetworkID": INGRESS, "IP": "10.0.0.5"}]


# --- the dataplane's hook ----------------------------------------------------------------

def test_dataplane_balances_over_the_networks_programmed_here(monkeypatch):
    from test_net_dataplane import FakeDocker, FakeLinks, FakeOverlays, entry

    from swarmlet.net.dataplane import NodeNetworks

    class FakeLB:
        def __init__(self):
            self.calls, self.removed = [], 0

        def sync(self, services, networks, ingress_id, host_ports):
            self.calls.append((services, networks, ingress_id, host_ports))

        def remove(self):
            self.removed += 1

    plane = NodeNetworks(machine="m1")
    plane.overlays = FakeOverlays()
    plane.docker = FakeDocker()
    plane.links = FakeLinks(plane.overlays)
    plane.lb = fake = FakeLB()
    plane.update([entry("n1", "front", 4097)], "198.18.0.2")  # an older manager: no Services
    assert fake.calls == []
    ingress = entry("ing", "ingress", 4096)
    ingress["Network"]["Spec"]["Ingress"] = True
    services = [svc()]
    host = [{"Protocol": "tcp", "PublishedPort": 9090, "TargetPort": 80, "IP": "10.0.0.9"}]
    plane.update([entry("n1", "front", 4097), ingress], "198.18.0.2", services, host)
    assert fake.calls[-1] == (services, {"n1": "front", "ing": "ingress"}, "ing", host)
    plane.remove_all()
    assert fake.calls[-1] == ([], {}, "ing", []) and fake.removed == 1


def test_host_mode_port_goes_to_the_task_here():
    host = [{"Protocol": "tcp", "PublishedPort": 9090, "TargetPort": 80, "IP": "10.0.0.9",
             "TaskID": "t1"}]
    text = lb.render(*lb.plan([], NETS, INGRESS, host))
    assert ("ip daddr != 127.0.0.0/8 fib daddr type local tcp dport 9090 "
            "goto host-tcp-9090") in text
    assert "meta l4proto tcp dnat ip to numgen inc mod 1 map { 0 : 10.0.0.9 } : 80" in text
    assert "host-" not in lb.render(*lb.plan([], NETS, INGRESS, []))
